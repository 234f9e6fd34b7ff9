package dev.cloister.sandbox;

import dev.cloister.policy.ContainerPlan;
import dev.cloister.policy.ContainerPlan.Mount;
import dev.cloister.policy.ContainerPlan.MountKind;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A job's host side: its work directory, the hyperparameters file, a size-capped tmpfs for {@code /out}, and one
 * staged bind per input mount that carries the plan's flags. Closing it unmounts everything it mounted.
 *
 * <p>Why staging: Docker's bind API has no nosuid/nodev/noexec, and for a read-only bind runc 1.1 remounts with
 * only {@code MS_RDONLY}, which clears those flags. A bind mount clones the flags of the mount it is taken from,
 * so each source is first bound on the host onto a private mount point and remounted there with exactly the plan's
 * flags (ro included); the engine then binds that mount point without asking for a remount, and the container's
 * mount inherits every flag.
 */
final class JobWorkspace implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(JobWorkspace.class);
    static final String HYPERPARAMETERS = "hyperparameters.json";

    private final HostMounts host;
    private final Path planWorkDir;
    private final Deque<Path> mounted = new ArrayDeque<>();
    private final Map<Mount, Path> hostSources = new IdentityHashMap<>();
    private Path workDir;
    private Path outputDir;

    private JobWorkspace(HostMounts host, Path planWorkDir) {
        this.host = host;
        this.planWorkDir = planWorkDir;
        this.workDir = planWorkDir;
    }

    /** Creates the work directory and every host mount of the plan; on failure undoes what it did. */
    static JobWorkspace prepare(ContainerPlan plan, HostMounts host) throws SandboxException {
        long outputs = plan.mounts().stream().filter(m -> m.kind() == MountKind.OUTPUT).count();
        if (outputs != 1) {
            throw new SandboxException(SandboxException.Kind.UNSUPPORTED,
                    "a plan needs exactly one OUTPUT mount, this one has " + outputs);
        }
        if (plan.outputSize().bytes() <= 0) {
            // tmpfs reads size=0 as "no limit".
            throw new SandboxException(SandboxException.Kind.UNSUPPORTED, "the output size must be positive");
        }
        Path workDir = plan.workDir().toAbsolutePath().normalize();
        JobWorkspace ws = new JobWorkspace(host, workDir);
        try {
            ws.createWorkDir();
            int index = 0;
            for (Mount m : plan.mounts()) {
                index++;
                switch (m.kind()) {
                    case OUTPUT -> ws.mountOutput(m, plan);
                    case CONFIG -> {
                        ws.writeHyperparameters(ws.inside(m), plan.hyperparameters());
                        ws.stage(m, index);
                    }
                    case DATASET -> ws.stage(m, index);
                    case INPUT -> {
                        // Written by the host before the run (a federated site's global weights); only bound here.
                        ws.inside(m);
                        ws.stage(m, index);
                    }
                }
            }
            ws.verifyHostFlags(plan);
            return ws;
        } catch (IOException e) {
            ws.close();
            // The detail names host paths: it goes to Cloister's log, not to the job's owner.
            LOG.warnf("job %s: preparing %s failed: %s", plan.jobId(), workDir, Messages.brief(e));
            throw new SandboxException(SandboxException.Kind.ENGINE,
                    "the host could not prepare the job's work directory or mounts (see the server log)", e);
        } catch (SandboxException | RuntimeException e) {
            ws.close();
            throw e;
        }
    }

    /** The host path the engine binds for {@code mount}: a staged mount point or the output tmpfs. */
    Path hostSource(Mount mount) {
        return hostSources.get(mount);
    }

    /** The host directory behind {@code /out}: a tmpfs capped at the plan's output size. */
    Path outputDir() {
        return outputDir;
    }

    private void createWorkDir() throws IOException {
        Files.createDirectories(planWorkDir);
        // The kernel's mount table lists real paths; work with those from here on.
        workDir = planWorkDir.toRealPath();
        ownAndMode(workDir, 0, 0, "rwx------");
    }

    private void mountOutput(Mount m, ContainerPlan plan) throws IOException, SandboxException {
        Path out = inside(m);
        if (isMountPoint(out)) {
            throw new SandboxException(SandboxException.Kind.ENGINE,
                    "the job's output directory is still mounted from an earlier run");
        }
        Files.createDirectories(out);
        long uid = plan.user().uid();
        long gid = plan.user().gid();
        ownAndMode(out, uid, gid, "rwx------");
        String options = (m.readOnly() ? "ro" : "rw") + ",size=" + plan.outputSize().bytes() + ",mode=0700,uid=" + uid
                + ",gid=" + gid + flags(m);
        host.tmpfs(out, options);
        mounted.push(out);
        outputDir = out;
        hostSources.put(m, out);
    }

    private void writeHyperparameters(Path configDir, String json) throws IOException {
        Files.createDirectories(configDir);
        ownAndMode(configDir, 0, 0, "rwxr-xr-x");
        Path tmp = Files.createTempFile(configDir, ".hyperparameters", ".tmp");
        try {
            Files.writeString(tmp, json, StandardCharsets.UTF_8);
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
            Files.move(tmp, configDir.resolve(HYPERPARAMETERS), StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private void stage(Mount m, int index) throws IOException {
        Path source = m.source().toRealPath();
        if (!Files.isDirectory(source, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException("the " + m.kind().name().toLowerCase(Locale.ROOT) + " source is not a directory");
        }
        Path stages = workDir.resolve("mounts");
        Files.createDirectories(stages);
        ownAndMode(stages, 0, 0, "rwx------");
        Path stage = stages.resolve(index + "-" + m.kind().name().toLowerCase(Locale.ROOT));
        Files.createDirectories(stage);
        host.bind(source, stage, (m.readOnly() ? "ro" : "rw") + flags(m));
        mounted.push(stage);
        hostSources.put(m, stage);
    }

    // Checks that the kernel applied what was asked: a mount command that silently ignored a flag fails the run.
    private void verifyHostFlags(ContainerPlan plan) throws IOException, SandboxException {
        Map<String, Set<String>> want = new LinkedHashMap<>();
        for (Mount m : plan.mounts()) {
            want.put(hostSources.get(m).toString(), requiredOptions(m));
        }
        List<String> lacking = MountTable.read(Path.of("/proc/self/mountinfo")).lacking(want);
        if (!lacking.isEmpty()) {
            throw new SandboxException(SandboxException.Kind.UNSUPPORTED,
                    "the host did not apply the plan's mount flags: " + String.join("; ", lacking));
        }
    }

    /** The per-mount options that the plan requires at each mount's target in the container. */
    static Map<String, Set<String>> requiredAtTargets(ContainerPlan plan) {
        Map<String, Set<String>> want = new LinkedHashMap<>();
        for (Mount m : plan.mounts()) {
            want.put(m.target(), requiredOptions(m));
        }
        return want;
    }

    /** The per-mount options a container must see on {@code m}'s target. */
    static Set<String> requiredOptions(Mount m) {
        Set<String> want = new LinkedHashSet<>();
        want.add(m.readOnly() ? "ro" : "rw");
        if (m.nosuid()) want.add("nosuid");
        if (m.nodev()) want.add("nodev");
        if (m.noexec()) want.add("noexec");
        return want;
    }

    private static String flags(Mount m) {
        return (m.nosuid() ? ",nosuid" : "") + (m.nodev() ? ",nodev" : "") + (m.noexec() ? ",noexec" : "");
    }

    // Config, input and output live in the work directory: Cloister mounts over them as root, so never anywhere else.
    private Path inside(Mount m) throws SandboxException {
        Path p = m.source().toAbsolutePath().normalize();
        if (!p.startsWith(planWorkDir) || p.equals(planWorkDir)) {
            throw new SandboxException(SandboxException.Kind.UNSUPPORTED, "the "
                    + m.kind().name().toLowerCase(Locale.ROOT) + " directory must lie inside the job's work directory");
        }
        return workDir.resolve(planWorkDir.relativize(p));
    }

    private static boolean isMountPoint(Path dir) throws IOException {
        return MountTable.read(Path.of("/proc/self/mountinfo")).options(dir.toString()) != null;
    }

    private static void ownAndMode(Path p, long uid, long gid, String mode) throws IOException {
        Files.setAttribute(p, "unix:uid", (int) uid, LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(p, "unix:gid", (int) gid, LinkOption.NOFOLLOW_LINKS);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(mode));
    }

    /**
     * Unmounts whatever an earlier process left mounted in the plan's work directory (its output tmpfs and staged
     * binds), e.g. after the service was killed mid-run; returns the output tmpfs's path if it was still mounted,
     * before unmounting anything, through {@code beforeUnmount}.
     */
    static void reclaim(ContainerPlan plan, HostMounts host, OutputHandler beforeUnmount) throws SandboxException {
        Path workDir = plan.workDir().toAbsolutePath().normalize();
        if (!Files.isDirectory(workDir, LinkOption.NOFOLLOW_LINKS)) {
            beforeUnmount.accept(null);
            return;
        }
        try {
            Path real = workDir.toRealPath();
            MountTable table = MountTable.read(Path.of("/proc/self/mountinfo"));
            Path out = null;
            for (Mount m : plan.mounts()) {
                if (m.kind() == MountKind.OUTPUT) {
                    Path candidate = real.resolve(workDir.relativize(m.source().toAbsolutePath().normalize()));
                    if (table.options(candidate.toString()) != null) {
                        out = candidate;
                    }
                }
            }
            beforeUnmount.accept(out);
            unmountBelow(real, table, host);
        } catch (IOException e) {
            LOG.warnf("job %s: reclaiming %s failed: %s", plan.jobId(), workDir, Messages.brief(e));
            throw new SandboxException(SandboxException.Kind.ENGINE,
                    "the host could not release the job's mounts (see the server log)", e);
        }
    }

    /** Unmounts everything an earlier process left mounted in {@code workDir}, without a plan (an orphan's). */
    static void release(Path workDir, HostMounts host) throws SandboxException {
        Path dir = workDir.toAbsolutePath().normalize();
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try {
            unmountBelow(dir.toRealPath(), MountTable.read(Path.of("/proc/self/mountinfo")), host);
        } catch (IOException e) {
            LOG.warnf("releasing %s failed: %s", dir, Messages.brief(e));
            throw new SandboxException(SandboxException.Kind.ENGINE,
                    "the host could not release the work directory's mounts (see the server log)", e);
        }
    }

    private static void unmountBelow(Path real, MountTable table, HostMounts host) throws IOException,
            SandboxException {
        for (String point : table.below(real.toString())) {
            host.unmount(Path.of(point));
        }
        Path stages = real.resolve("mounts");
        if (Files.isDirectory(stages, LinkOption.NOFOLLOW_LINKS)) {
            try (var s = Files.list(stages)) {
                for (Path p : s.toList()) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(stages);
        }
    }

    /** Told the output tmpfs left by an earlier process (null when none survived) before it is unmounted. */
    @FunctionalInterface
    interface OutputHandler {
        void accept(Path outputDir) throws SandboxException;
    }

    /** Leaves the mounts in place for a later process (a detached run): {@link #close} then releases nothing. */
    void keep() {
        mounted.clear();
    }

    /** Unmounts in reverse order; a failure is logged and the rest still unmounted. */
    @Override
    public void close() {
        while (!mounted.isEmpty()) {
            Path p = mounted.pop();
            try {
                host.unmount(p);
            } catch (IOException e) {
                LOG.warnf("could not unmount %s: %s", p, Messages.brief(e));
                continue;
            }
            if (p.getParent().getFileName().toString().equals("mounts")) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    LOG.debugf("kept mount point %s: %s", p, Messages.brief(e));
                }
            }
        }
        try {
            Files.deleteIfExists(workDir.resolve("mounts"));
        } catch (IOException e) {
            LOG.debugf("kept %s: %s", workDir.resolve("mounts"), Messages.brief(e));
        }
    }
}
