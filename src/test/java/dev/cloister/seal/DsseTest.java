package dev.cloister.seal;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;

class DsseTest {

    @Test
    void paeMatchesTheDsseSpecificationExample() {
        // https://github.com/secure-systems-lab/dsse/blob/master/protocol.md#test-vectors
        byte[] pae = Dsse.pae("http://example.com/HelloWorld", "hello world".getBytes(StandardCharsets.UTF_8));
        assertEquals("DSSEv1 29 http://example.com/HelloWorld 11 hello world",
                new String(pae, StandardCharsets.UTF_8));
    }

    @Test
    void lengthsCountBytesNotCharacters() {
        byte[] pae = Dsse.pae("tÿpe", "é".getBytes(StandardCharsets.UTF_8));
        assertEquals("DSSEv1 5 tÿpe 2 é", new String(pae, StandardCharsets.UTF_8));
    }

    @Test
    void emptyPayload() {
        assertEquals("DSSEv1 28 application/vnd.in-toto+json 0 ",
                new String(Dsse.pae(Dsse.IN_TOTO_PAYLOAD_TYPE, new byte[0]), StandardCharsets.UTF_8));
    }
}
