package dev.cloister.policy;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The seccomp summary reviewers read, over the shipped profiles and Docker's default. No Docker needed. */
class SeccompSummaryTest {

    private static SeccompSummary profile(String name) throws IOException {
        return SeccompSummary.of(Files.readString(Path.of("seccomp-profiles", name)));
    }

    @Test
    void trainingProfileAllowsOnlyUnixSockets() throws IOException {
        SeccompSummary s = profile("training.json");
        assertEquals("SCMP_ACT_ERRNO", s.defaultAction());
        assertEquals(List.of("AF_UNIX"), s.socketFamilies().allowed());
        assertTrue(s.socketFamilies().blocked().containsAll(List.of("AF_INET", "AF_INET6", "AF_NETLINK", "AF_PACKET",
                "AF_VSOCK", "AF_ALG", "AF_KEY")), s.socketFamilies().toString());
        assertTrue(s.allowed().containsAll(List.of("read", "write", "mmap", "futex")));
        for (String never : List.of("mount", "ptrace", "bpf", "keyctl", "unshare", "setns", "io_uring_setup",
                "perf_event_open", "userfaultfd", "kexec_load", "init_module", "socket")) {
            assertFalse(s.allowed().contains(never), never + " must not be allowed outright");
        }
        assertTrue(s.conditional().get("clone").get(0).startsWith("arg0 & 0x7e020000 == 0x0"), s.conditional().toString());
        assertTrue(s.conditional().get("socket").get(0).contains("arg0 == AF_UNIX"), s.conditional().toString());
    }

    @Test
    void dockerDefaultIsReadForX8664WithoutCapabilities() throws IOException {
        SeccompSummary d = profile("docker-default.json");
        assertEquals(List.of("all"), d.socketFamilies().allowed());
        assertTrue(d.allowed().contains("ptrace"), "Docker allows ptrace on kernels >= 4.8");
        assertFalse(d.allowed().contains("mount"), "mount needs CAP_SYS_ADMIN in Docker's profile");
        assertFalse(d.allowed().contains("s390_pci_mmio_read"), "s390-only rules do not apply to x86_64");
        assertFalse(d.allowed().contains("chown32"), "32-bit names do not exist on x86_64");
        assertFalse(d.allowed().contains("process_vm_readv"), "process_vm_readv needs CAP_SYS_PTRACE in Docker's profile");
        assertTrue(d.allowed().contains("arch_prctl"), "x86_64-only rules apply");
    }

    @Test
    void trainingIsNarrowerThanDockerDefault() throws IOException {
        SeccompSummary.Difference diff = profile("docker-default.json").differenceTo(profile("training.json"));
        assertTrue(diff.removed().containsAll(List.of("ptrace", "socket", "io_uring_setup", "modify_ldt")),
                diff.toString());
        assertFalse(diff.removed().contains("mmap2"), "32-bit names do not exist on x86_64: " + diff);
        assertTrue(diff.familiesNowBlocked().containsAll(List.of("AF_INET", "AF_NETLINK")), diff.toString());
        assertEquals(List.of(), diff.familiesNowAllowed());
    }

    @Test
    void notAProfileIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> SeccompSummary.of("{\"defaultAction\":\"SCMP_ACT_ERRNO\"}"));
        assertThrows(IllegalArgumentException.class, () -> SeccompSummary.of("not json"));
    }
}
