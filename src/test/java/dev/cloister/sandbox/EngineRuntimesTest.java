package dev.cloister.sandbox;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** runsc counts as honouring a plan's seccomp profile only when registered with --oci-seccomp. */
class EngineRuntimesTest {

    static boolean ociSeccomp(String argsJson) throws Exception {
        return EngineRuntimes.hasOciSeccomp(new ObjectMapper().readTree(argsJson));
    }

    @Test
    void runscWithOciSeccompEnforcesTheProfile() throws Exception {
        assertTrue(ociSeccomp("[\"--platform=ptrace\", \"--network=none\", \"--oci-seccomp\"]"));
        assertTrue(ociSeccomp("[\"--oci-seccomp=true\"]"));
        assertTrue(ociSeccomp("[\"-oci-seccomp\"]"));
    }

    @Test
    void runscWithoutItIgnoresTheProfile() throws Exception {
        assertFalse(ociSeccomp("[\"--platform=ptrace\", \"--network=none\"]"));
        assertFalse(ociSeccomp("[\"--oci-seccomp=false\"]"));
        assertFalse(ociSeccomp("[]"));
        assertFalse(EngineRuntimes.hasOciSeccomp(new ObjectMapper().missingNode()));
    }
}
