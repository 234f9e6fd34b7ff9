package dev.cloister.cis;

import java.util.List;
import java.util.Locale;

import static dev.cloister.cis.CisItem.APPARMOR;
import static dev.cloister.cis.CisItem.CAPABILITIES;
import static dev.cloister.cis.CisItem.EXEC_PRIVILEGED;
import static dev.cloister.cis.CisItem.EXEC_USER_ROOT;
import static dev.cloister.cis.CisItem.NO_NEW_PRIVILEGES;
import static dev.cloister.cis.CisItem.PRIVILEGED;
import static dev.cloister.cis.CisItem.SECCOMP;
import static dev.cloister.cis.CisItem.SELINUX;

/**
 * What confines the container's processes: security modules, capabilities, privilege, seccomp, exec (5.2–5.5,
 * 5.22–5.24, 5.26).
 */
final class ConfinementChecks {

    private ConfinementChecks() {
    }

    static CisResult appArmor(ContainerFacts f) {
        String profile = "AppArmorProfile="
                + (f.appArmorProfile() == null ? "(not reported)" : Quote.text(f.appArmorProfile()));
        String engine = "engine SecurityOptions=" + Quote.list(f.engine().securityOptions());
        if (!f.engine().hasSecurityOption("apparmor")) {
            return APPARMOR.cannotPassOnHost(engine + " lists no apparmor: this kernel ("
                    + Quote.text(f.engine().kernelVersion()) + ") has no AppArmor, so no container on this host can run"
                    + " under a profile; " + profile
                    + ". AppArmor is Debian's mandatory access control, so the item applies: it is not met here, and"
                    + " cannot be until the host runs a kernel with AppArmor enabled");
        }
        if (f.privileged()) {
            return APPARMOR.fail("Privileged=true: the engine runs privileged containers unconfined; " + profile);
        }
        String p = f.appArmorProfile();
        if (p == null || p.isEmpty() || p.equals("unconfined")) {
            return APPARMOR.fail(profile + " although " + engine + " supports AppArmor");
        }
        return APPARMOR.pass(profile);
    }

    static CisResult selinux(ContainerFacts f) {
        String engine = "engine SecurityOptions=" + Quote.list(f.engine().securityOptions());
        String label = "ProcessLabel=" + Quote.text(f.processLabel());
        if (!f.engine().hasSecurityOption("selinux")) {
            return SELINUX.notApplicable(engine + " lists no selinux: the engine runs without SELinux support (Debian's"
                    + " mandatory access control is AppArmor, see 5.2), so there are no SELinux options to set; "
                    + label);
        }
        List<String> labels = f.securityOpt().stream()
                .filter(o -> o.startsWith("label=") || o.startsWith("label:")).toList();
        if (f.privileged()) {
            return SELINUX.fail("Privileged=true: the engine disables SELinux labelling for privileged containers");
        }
        if (labels.stream().anyMatch(o -> o.substring("label=".length()).equals("disable"))) {
            return SELINUX.fail("SecurityOpt " + Quote.list(labels) + " disables SELinux labelling");
        }
        if (f.processLabel().isEmpty()) {
            return SELINUX.fail(label + " although " + engine + " has SELinux enabled");
        }
        return SELINUX.pass(label + (labels.isEmpty() ? "" : ", SecurityOpt " + Quote.list(labels)));
    }

    static CisResult capabilities(ContainerFacts f) {
        String caps = "CapDrop=" + Quote.list(f.capDrop()) + ", CapAdd=" + Quote.list(f.capAdd());
        if (f.privileged()) {
            return CAPABILITIES.fail("Privileged=true grants every capability, whatever " + caps + " say");
        }
        if (!f.capAdd().isEmpty()) {
            return CAPABILITIES.fail(caps + ": capabilities are added back");
        }
        if (f.capDrop().stream().noneMatch(c -> c.equalsIgnoreCase("ALL"))) {
            return CAPABILITIES.fail(caps + ": ALL is not dropped, so the engine's default capability set remains"
                    + (f.capDrop().isEmpty() ? "" : " apart from those listed"));
        }
        return CAPABILITIES.pass(caps + ": the container holds no capability");
    }

    static CisResult privileged(ContainerFacts f) {
        return f.privileged() ? PRIVILEGED.fail("HostConfig.Privileged=true")
                : PRIVILEGED.pass("HostConfig.Privileged=false");
    }

    static CisResult seccomp(ContainerFacts f) {
        List<String> options = f.securityOpt().stream().filter(o -> Quote.seccompValue(o) != null).toList();
        String opts = "SecurityOpt " + (options.isEmpty() ? "has no seccomp option" : Quote.securityOpts(options));
        if (f.privileged()) {
            return SECCOMP.fail("Privileged=true: the engine runs privileged containers without seccomp; " + opts);
        }
        if (options.stream().anyMatch(o -> Quote.seccompValue(o).trim().equals("unconfined"))) {
            return SECCOMP.fail(opts + ": seccomp is disabled");
        }
        String engine = "engine SecurityOptions=" + Quote.list(f.engine().securityOptions());
        if (!f.engine().hasSecurityOption("seccomp")) {
            return SECCOMP.cannotPassOnHost(engine + " lists no seccomp: the engine or kernel has no seccomp support; "
                    + opts);
        }
        if (!options.isEmpty()) {
            return SECCOMP.pass(opts + " (Runtime=" + Quote.text(f.runtime()) + "): a profile of its own replaces the"
                    + " default, not disabled");
        }
        String daemonProfile = f.engine().securityOptionValue("seccomp", "profile");
        if (daemonProfile.equals("unconfined")) {
            return SECCOMP.fail(opts + " and " + engine + ": the engine's default is unconfined");
        }
        return SECCOMP.pass(opts + ": the engine's profile applies (" + engine + ")");
    }

    static CisResult execPrivileged(ContainerFacts f) {
        return EXEC_PRIVILEGED.notApplicable(execReason(f, "--privileged"));
    }

    static CisResult execUserRoot(ContainerFacts f) {
        return EXEC_USER_ROOT.notApplicable(execReason(f, "--user=root"));
    }

    // docker exec is an action against a running container, not part of its configuration: inspect shows which exec
    // sessions exist (ExecIDs), not how they were started. The item is about operators' commands (the engine's audit
    // log), and Cloister itself never execs into a job.
    private static String execReason(ContainerFacts f, String flag) {
        return "'docker exec " + flag + "' is a command run against a running container, not a setting of it: inspect"
                + " cannot show it (the audit is of the engine's event log). Cloister never execs into a job container;"
                + " ExecIDs=" + Quote.list(f.execIds()) + " at inspect"
                + (f.execIds().isEmpty() ? ""
                : " (someone else started exec sessions: look at them with docker inspect <exec id>)");
    }

    static CisResult noNewPrivileges(ContainerFacts f) {
        List<String> nnp = f.securityOpt().stream()
                .filter(o -> o.toLowerCase(Locale.ROOT).startsWith("no-new-privileges")).toList();
        if (nnp.isEmpty()) {
            return NO_NEW_PRIVILEGES.fail("SecurityOpt=" + Quote.securityOpts(f.securityOpt())
                    + " has no no-new-privileges (an engine-wide default is not visible in inspect, so it is not"
                    + " counted)");
        }
        for (String o : nnp) {
            String v = o.substring("no-new-privileges".length()).toLowerCase(Locale.ROOT);
            if (!(v.isEmpty() || v.equals(":true") || v.equals("=true"))) {
                return NO_NEW_PRIVILEGES.fail("SecurityOpt " + Quote.list(nnp) + " turns no-new-privileges off");
            }
        }
        return NO_NEW_PRIVILEGES.pass("SecurityOpt " + Quote.list(nnp) + ": setuid/setgid binaries and file"
                + " capabilities cannot raise privileges");
    }
}
