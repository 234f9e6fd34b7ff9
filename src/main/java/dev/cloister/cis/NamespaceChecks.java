package dev.cloister.cis;

import java.util.ArrayList;
import java.util.List;

import static dev.cloister.cis.CisItem.DEFAULT_BRIDGE;
import static dev.cloister.cis.CisItem.HOST_INTERFACE;
import static dev.cloister.cis.CisItem.HOST_IPC_NAMESPACE;
import static dev.cloister.cis.CisItem.HOST_NETWORK_NAMESPACE;
import static dev.cloister.cis.CisItem.HOST_PID_NAMESPACE;
import static dev.cloister.cis.CisItem.HOST_USER_NAMESPACE;
import static dev.cloister.cis.CisItem.HOST_UTS_NAMESPACE;
import static dev.cloister.cis.CisItem.ONLY_NEEDED_PORTS;
import static dev.cloister.cis.CisItem.PRIVILEGED_PORTS;

/** Namespaces shared with the host, networks and published ports (5.8–5.10, 5.14, 5.16, 5.17, 5.21, 5.30, 5.31). */
final class NamespaceChecks {

    private static final int FIRST_UNPRIVILEGED_PORT = 1024;

    private NamespaceChecks() {
    }

    static CisResult privilegedPorts(ContainerFacts f) {
        String bindings = "HostConfig.PortBindings=" + Quote.ports(f.portBindings());
        List<String> privileged = new ArrayList<>();
        for (ContainerFacts.PortBinding b : f.portBindings()) {
            // "" or "0" lets the engine pick from the ephemeral range; "a-b" is a range, judged by its start.
            String start = b.hostPort().split("-", 2)[0].trim();
            if (!start.isEmpty() && start.chars().allMatch(Character::isDigit) && Integer.parseInt(start) > 0
                    && Integer.parseInt(start) < FIRST_UNPRIVILEGED_PORT) {
                privileged.add(b.containerPort() + "→" + b.hostPort());
            }
        }
        if (!privileged.isEmpty()) {
            return PRIVILEGED_PORTS.fail(bindings + ": host ports below 1024 mapped: " + Quote.list(privileged));
        }
        return PRIVILEGED_PORTS.pass(bindings
                + (f.portBindings().isEmpty() ? ": no host port is mapped" : ": none below 1024"));
    }

    static CisResult onlyNeededPorts(ContainerFacts f) {
        String ports = ports(f);
        if (!f.portBindings().isEmpty() || f.publishAllPorts()) {
            return ONLY_NEEDED_PORTS.fail(ports + ": a training job serves nothing and needs no port");
        }
        return ONLY_NEEDED_PORTS.pass(ports + ", NetworkMode=" + Quote.text(f.namespaces().network())
                + ": no port is open");
    }

    static CisResult hostNetwork(ContainerFacts f) {
        String mode = "HostConfig.NetworkMode=" + Quote.text(f.namespaces().network());
        return isHost(f.namespaces().network()) ? HOST_NETWORK_NAMESPACE.fail(mode) : HOST_NETWORK_NAMESPACE.pass(mode);
    }

    static CisResult hostInterface(ContainerFacts f) {
        List<String> wildcard = new ArrayList<>();
        for (ContainerFacts.PortBinding b : f.portBindings()) {
            if (b.hostIp().isEmpty() || b.hostIp().equals("0.0.0.0") || b.hostIp().equals("::")) {
                wildcard.add(b.containerPort() + "→" + (b.hostIp().isEmpty() ? "*" : b.hostIp()));
            }
        }
        String ports = ports(f);
        if (f.publishAllPorts()) {
            return HOST_INTERFACE.fail(ports + ": PublishAllPorts binds every exposed port on every host interface");
        }
        if (!wildcard.isEmpty()) {
            return HOST_INTERFACE.fail(ports + ": bound to every host interface: " + Quote.list(wildcard));
        }
        return HOST_INTERFACE.pass(ports + (f.portBindings().isEmpty() ? ": no incoming traffic is bound at all"
                : ": every binding names a host address"));
    }

    static CisResult hostPid(ContainerFacts f) {
        return namespace(HOST_PID_NAMESPACE, "PidMode", f.namespaces().pid());
    }

    static CisResult hostIpc(ContainerFacts f) {
        return namespace(HOST_IPC_NAMESPACE, "IpcMode", f.namespaces().ipc());
    }

    static CisResult hostUts(ContainerFacts f) {
        return namespace(HOST_UTS_NAMESPACE, "UTSMode", f.namespaces().uts());
    }

    static CisResult hostUser(ContainerFacts f) {
        String mode = "HostConfig.UsernsMode=" + Quote.text(f.namespaces().userns());
        if (isHost(f.namespaces().userns())) {
            return HOST_USER_NAMESPACE.fail(mode);
        }
        // The benchmark's audit is UsernsMode alone; whether the engine remaps users at all is CIS 2.8 (daemon).
        String remap = f.engine().hasSecurityOption("userns")
                ? "the engine remaps users (userns-remap), so uid 0 inside is an unprivileged uid outside"
                : "note: the engine does not remap users (no userns in SecurityOptions, CIS 2.8), so uids inside"
                + " are the same numbers on the host";
        return HOST_USER_NAMESPACE.pass(mode + ": not set to host; " + remap);
    }

    static CisResult defaultBridge(ContainerFacts f) {
        String network = f.namespaces().network();
        String evidence = "HostConfig.NetworkMode=" + Quote.text(network) + ", NetworkSettings.Networks="
                + Quote.list(f.networks());
        // "default" is the bridge on Linux; an empty mode is what old engines report for it.
        if (network.isEmpty() || network.equals("default") || network.equals("bridge")
                || f.networks().contains("bridge")) {
            return DEFAULT_BRIDGE.fail(evidence + ": attached to the default bridge docker0");
        }
        return DEFAULT_BRIDGE.pass(evidence + ": not attached to docker0");
    }

    private static CisResult namespace(CisItem item, String field, String mode) {
        String evidence = "HostConfig." + field + "=" + Quote.text(mode);
        return isHost(mode) ? item.fail(evidence + ": the host's namespace is shared")
                : item.pass(evidence + ": not the host's");
    }

    private static String ports(ContainerFacts f) {
        return "HostConfig.PortBindings=" + Quote.ports(f.portBindings()) + ", PublishAllPorts=" + f.publishAllPorts();
    }

    private static boolean isHost(String mode) {
        return mode.equals("host");
    }
}
