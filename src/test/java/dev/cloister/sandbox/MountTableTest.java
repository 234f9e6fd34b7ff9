package dev.cloister.sandbox;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Reading per-mount flags from mountinfo (proc(5)), and spotting a weakened mount. */
class MountTableTest {

    // A job's mount table under runc 1.1.5 when Docker is asked for a read-only bind of a flagged host mount: the
    // remount for "ro" cleared nosuid, nodev and noexec on /data (measured on the target machine).
    static final List<String> RUNC_RO_BIND = List.of(
            "114 89 0:50 / / ro,relatime - overlay overlay rw,lowerdir=/x",
            "131 114 0:51 / /out rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw,size=1024k,mode=700,uid=1000,gid=1000",
            "132 114 254:0 /tmp/mfexp/src /data ro,relatime - ext4 /dev/vda rw,discard",
            "133 114 254:0 /w/config /opt/ml/input/config ro,nosuid,nodev,noexec,relatime - ext4 /dev/vda rw",
            "134 114 0:52 / /dir\\040with\\040space rw,nosuid - tmpfs tmpfs rw");

    @Test
    void readsThePerMountOptionsNotTheSuperBlockOnes() {
        MountTable t = MountTable.parse(RUNC_RO_BIND);

        assertEquals(Set.of("rw", "nosuid", "nodev", "noexec", "relatime"), t.options("/out"));
        assertEquals(Set.of("ro", "relatime"), t.options("/data"));
        assertEquals(Set.of("rw", "nosuid"), t.options("/dir with space"), "octal escapes are decoded");
        assertNull(t.options("/not-mounted"));
    }

    @Test
    void theLastMountOnAPointIsTheOneSeen() {
        MountTable t = MountTable.parse(List.of(
                "1 0 0:1 / /out rw,relatime - ext4 /dev/vda rw",
                "2 1 0:2 / /out rw,nosuid,nodev,noexec - tmpfs tmpfs rw"));

        assertEquals(Set.of("rw", "nosuid", "nodev", "noexec"), t.options("/out"));
    }

    @Test
    void reportsEveryMountThatLacksAFlag() {
        MountTable t = MountTable.parse(RUNC_RO_BIND);
        Set<String> roFlags = Set.of("ro", "nosuid", "nodev", "noexec");

        List<String> lacking = t.lacking(Map.of(
                "/data", roFlags,
                "/opt/ml/input/config", roFlags,
                "/out", Set.of("rw", "nosuid", "nodev", "noexec"),
                "/missing", Set.of("ro")));

        assertEquals(2, lacking.size(), lacking.toString());
        assertEquals(Set.of("/data has [relatime, ro], needs " + roFlags, "/missing has no mount, needs [ro]"),
                Set.copyOf(lacking));
    }
}
