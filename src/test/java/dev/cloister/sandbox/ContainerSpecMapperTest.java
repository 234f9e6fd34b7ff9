package dev.cloister.sandbox;

import com.github.dockerjava.api.model.BindPropagation;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.MountType;
import com.github.dockerjava.core.command.CreateContainerCmdImpl;
import dev.cloister.digest.Digest;
import dev.cloister.policy.ByteSize;
import dev.cloister.policy.ContainerPlan;
import dev.cloister.policy.ContainerPlan.Mount;
import dev.cloister.policy.ContainerPlan.MountKind;
import dev.cloister.policy.ContainerRuntime;
import dev.cloister.policy.ImageRef;
import dev.cloister.policy.Limits;
import dev.cloister.policy.SeccompProfile;
import dev.cloister.policy.UserId;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The plan → create-container mapping, field by field, without an engine. */
class ContainerSpecMapperTest {

    static final String PROFILE = "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[]}";
    static final Path WORK = Path.of("/var/lib/cloister/work/job-1");
    static final Function<Mount, Path> STAGED = m -> Path.of("/staged" + m.target());

    static ContainerPlan plan(ContainerRuntime runtime, List<ContainerPlan.Tmpfs> tmpfs) {
        return new ContainerPlan("job-1", new ImageRef("cloister/trainer-base", Digest.of("image")),
                List.of("python3", "train.py", "--epochs", "3"), Map.of("SM_HPS", "{\"secret\":1}", "HOME", "/tmp"),
                new UserId(1000, 1001), runtime, new SeccompProfile("training.json", PROFILE, Digest.of(PROFILE)),
                List.of(new Mount(MountKind.DATASET, Path.of("/datasets/iris"), "/data", true, true, true, true),
                        new Mount(MountKind.CONFIG, WORK.resolve("config"), "/opt/ml/input/config", true, true, true, true),
                        new Mount(MountKind.OUTPUT, WORK.resolve("out"), "/out", false, true, true, true)),
                tmpfs, ByteSize.mebibytes(64), new Limits(ByteSize.parse("2g"), 1.5, 128, Duration.ofMinutes(30)),
                Duration.ofSeconds(10), ByteSize.parse("10m"), ByteSize.parse("1g"), "{}", WORK,
                Map.of("dev.cloister.job-id", "job-1"));
    }

    static ContainerPlan plan() {
        return plan(ContainerRuntime.RUNC, List.of(new ContainerPlan.Tmpfs("/tmp", ByteSize.mebibytes(256),
                "rw,nosuid,nodev,noexec")));
    }

    @Test
    void everyLockOfThePlanIsInTheHostConfig() {
        HostConfig hc = ContainerSpecMapper.hostConfig(plan(), STAGED);

        assertEquals("runc", hc.getRuntime());
        assertEquals("none", hc.getNetworkMode());
        assertArrayEquals(new Capability[] {Capability.ALL}, hc.getCapDrop(), "only ALL: 20.10 rejects CAP_BPF");
        assertNull(hc.getCapAdd());
        assertEquals(List.of("no-new-privileges", "seccomp=" + PROFILE), hc.getSecurityOpts(),
                "the profile's JSON text, not a path");
        assertTrue(hc.getReadonlyRootfs());
        assertTrue(hc.getInit());
        assertFalse(hc.getPrivileged());
        assertEquals(128L, hc.getPidsLimit());
        assertEquals(2L << 30, hc.getMemory());
        assertEquals(2L << 30, hc.getMemorySwap(), "no swap");
        assertEquals(1_500_000_000L, hc.getNanoCPUs());
        assertEquals(256, hc.getCpuShares(), "jobs yield to the service when the CPU is contended");
        assertEquals(64L << 20, hc.getShmSize());
        assertEquals(Map.of("/tmp", "rw,nosuid,nodev,noexec,size=268435456"), hc.getTmpFs());
        assertEquals("json-file", hc.getLogConfig().getType().getType());
        assertEquals(Map.of("max-size", "10485760", "max-file", "1"), hc.getLogConfig().getConfig());
        assertTrue(hc.getPortBindings() == null || hc.getPortBindings().getBindings().isEmpty(), "no ports");
        assertTrue(hc.getBinds() == null || hc.getBinds().length == 0, "no legacy binds");
    }

    @Test
    void mountsBindTheStagedSourcesWithoutDockersReadOnlyRemount() {
        List<com.github.dockerjava.api.model.Mount> mounts = ContainerSpecMapper.hostConfig(plan(), STAGED).getMounts();

        assertEquals(List.of("/data", "/opt/ml/input/config", "/out"), mounts.stream().map(m -> m.getTarget()).toList());
        for (var m : mounts) {
            assertEquals(MountType.BIND, m.getType());
            assertEquals("/staged" + m.getTarget(), m.getSource());
            // Docker's "ro" would make runc remount with MS_RDONLY alone and clear nosuid/nodev/noexec; the staged
            // host mount already carries ro and the flags, which the bind inherits.
            assertEquals(false, m.getReadOnly());
            assertEquals(BindPropagation.R_PRIVATE, m.getBindOptions().getPropagation());
        }
    }

    @Test
    void theCreateCommandRunsExactlyTheArgvAsTheUser() {
        CreateContainerCmdImpl cmd = new CreateContainerCmdImpl(c -> null, null, "sha256:" + Digest.of("image").hex());

        ContainerSpecMapper.apply(cmd, plan(), STAGED);

        assertEquals("cloister-job-1", cmd.getName());
        assertArrayEquals(new String[0], cmd.getEntrypoint(), "the image's entrypoint is reset");
        assertArrayEquals(new String[] {"python3", "train.py", "--epochs", "3"}, cmd.getCmd());
        assertEquals("1000:1001", cmd.getUser());
        assertEquals(List.of("HOME=/tmp", "SM_HPS={\"secret\":1}"), List.of(cmd.getEnv()).stream().sorted().toList());
        assertEquals(Map.of("dev.cloister.job-id", "job-1"), cmd.getLabels());
        assertEquals(10, cmd.getStopTimeout());
        assertFalse(cmd.isTty());
        assertFalse(cmd.isStdinOpen());
        assertTrue(cmd.getExposedPorts() == null || cmd.getExposedPorts().length == 0, "no ports");
    }

    @Test
    void gvisorIsTheRunscRuntime() {
        assertEquals("runsc", ContainerSpecMapper.hostConfig(plan(ContainerRuntime.RUNSC, List.of()), STAGED).getRuntime());
    }

    @Test
    void aTmpfsWithoutASizeIsRefusedBecauseTmpfsReadsZeroAsUnlimited() {
        ContainerPlan unbounded = plan(ContainerRuntime.RUNC, List.of(new ContainerPlan.Tmpfs("/tmp", new ByteSize(0), "rw")));

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ContainerSpecMapper.hostConfig(unbounded, STAGED));
        assertEquals("tmpfs /tmp needs a positive size", e.getMessage());
    }

    @Test
    void aTmpfsThatSetsItsOwnSizeIsRefused() {
        ContainerPlan twice = plan(ContainerRuntime.RUNC,
                List.of(new ContainerPlan.Tmpfs("/tmp", ByteSize.mebibytes(1), "rw,size=1g")));

        assertThrows(IllegalArgumentException.class, () -> ContainerSpecMapper.hostConfig(twice, STAGED));
    }

    @Test
    void aMountWithoutAStagedSourceIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> ContainerSpecMapper.hostConfig(plan(), m -> null));
    }
}
