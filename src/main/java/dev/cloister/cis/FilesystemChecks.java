package dev.cloister.cis;

import java.util.List;

import static dev.cloister.cis.CisItem.DOCKER_SOCKET;
import static dev.cloister.cis.CisItem.HOST_DEVICES;
import static dev.cloister.cis.CisItem.MOUNT_PROPAGATION;
import static dev.cloister.cis.CisItem.READ_ONLY_ROOT;
import static dev.cloister.cis.CisItem.SENSITIVE_HOST_DIRECTORIES;

/**
 * What of the host the container sees: mounts, devices, the Docker socket, its own root (5.6, 5.13, 5.18, 5.20,
 * 5.32).
 */
final class FilesystemChecks {

    /** The benchmark's list of sensitive host directories (5.6); a mount of one of them or of anything below fails. */
    static final List<String> SENSITIVE = List.of("/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr");

    /** Where the engine's socket lives, and so what mounting any of its parent directories exposes. */
    private static final List<String> SOCKETS = List.of("/var/run/docker.sock", "/run/docker.sock");

    private FilesystemChecks() {
    }

    static CisResult sensitiveHostDirectories(ContainerFacts f) {
        List<ContainerFacts.Mount> sensitive = f.mounts().stream().filter(m -> sensitive(m.source())).toList();
        if (!sensitive.isEmpty()) {
            return SENSITIVE_HOST_DIRECTORIES.fail("Mounts " + Quote.mounts(sensitive) + " expose host directories of "
                    + Quote.list(SENSITIVE));
        }
        return SENSITIVE_HOST_DIRECTORIES.pass("Mounts=" + Quote.mounts(f.mounts()) + ": no source is one of "
                + Quote.list(SENSITIVE) + " or below");
    }

    static CisResult readOnlyRoot(ContainerFacts f) {
        return f.readOnlyRootfs() ? READ_ONLY_ROOT.pass("HostConfig.ReadonlyRootfs=true")
                : READ_ONLY_ROOT.fail("HostConfig.ReadonlyRootfs=false");
    }

    static CisResult hostDevices(ContainerFacts f) {
        if (f.privileged()) {
            return HOST_DEVICES.fail("Privileged=true exposes every host device; Devices=" + Quote.list(f.devices()));
        }
        if (!f.devices().isEmpty()) {
            return HOST_DEVICES.fail("HostConfig.Devices/DeviceCgroupRules/DeviceRequests=" + Quote.list(f.devices()));
        }
        return HOST_DEVICES.pass("HostConfig.Devices=[], DeviceCgroupRules=[], DeviceRequests=[], Privileged=false");
    }

    static CisResult mountPropagation(ContainerFacts f) {
        List<ContainerFacts.Mount> shared = f.mounts().stream()
                .filter(m -> m.propagation().equals("shared") || m.propagation().equals("rshared")).toList();
        if (!shared.isEmpty()) {
            return MOUNT_PROPAGATION.fail("Mounts " + Quote.mounts(shared) + " propagate mounts to and from the host");
        }
        return MOUNT_PROPAGATION.pass(f.mounts().isEmpty() ? "Mounts=[]" : "Mounts=" + Quote.mounts(f.mounts())
                + ": none shared or rshared");
    }

    static CisResult dockerSocket(ContainerFacts f) {
        List<ContainerFacts.Mount> sockets = f.mounts().stream().filter(FilesystemChecks::exposesSocket).toList();
        if (!sockets.isEmpty()) {
            return DOCKER_SOCKET.fail("Mounts " + Quote.mounts(sockets) + " give the container the engine's socket,"
                    + " that is root on the host");
        }
        return DOCKER_SOCKET.pass("Mounts=" + Quote.mounts(f.mounts())
                + ": no docker.sock, nor a directory holding it");
    }

    private static boolean sensitive(String source) {
        String s = normalise(source);
        if (s.isEmpty()) {
            return false; // tmpfs and other mounts without a host source
        }
        for (String dir : SENSITIVE) {
            if (s.equals(dir) || (!dir.equals("/") && s.startsWith(dir + "/"))) {
                return true;
            }
        }
        return false;
    }

    private static boolean exposesSocket(ContainerFacts.Mount m) {
        if (m.source().endsWith("docker.sock") || m.destination().endsWith("docker.sock")) {
            return true;
        }
        String s = normalise(m.source());
        return !s.isEmpty() && SOCKETS.stream().anyMatch(socket -> s.equals("/") || socket.startsWith(s + "/"));
    }

    private static String normalise(String path) {
        String p = path.trim();
        while (p.length() > 1 && p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        return p;
    }
}
