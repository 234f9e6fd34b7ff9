package dev.cloister.keys;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

class PublicKeyPemTest {

    /** The reference vectors' key: gnutls prints a description before the PEM block. */
    private static Path referenceKey() {
        Path vectors = Path.of("..", "shared", "test-vectors").toAbsolutePath().normalize();
        if (!Files.isDirectory(vectors)) {
            fail("test vectors not found at " + vectors + ": the shared/ checkout must sit beside the project");
        }
        return vectors.resolve("model-signing-v1.1.0/signing-key-pub.pem");
    }

    @Test
    void canonicalTextAndIdMatchTheReferenceToolsKeyHint() throws Exception {
        String file = Files.readString(referenceKey());
        String block = file.substring(file.indexOf("-----BEGIN PUBLIC KEY-----"));
        PublicKeyPem pem = PublicKeyPem.parse(file);
        assertEquals(block, pem.text(), "the PEM writer reproduces the reference block byte for byte");
        // The hint in the reference tool's model.sig for this key.
        assertEquals("e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e", pem.keyId().hex());
        assertEquals(384, pem.fieldSize());
    }

    @Test
    void otherLayoutsAreRewrittenIntoTheCanonicalOne() throws Exception {
        String file = Files.readString(referenceKey());
        String block = file.substring(file.indexOf("-----BEGIN PUBLIC KEY-----"));
        String crlfOneLine = "-----BEGIN PUBLIC KEY-----\r\n"
                + block.lines().filter(l -> !l.startsWith("-----")).reduce("", String::concat)
                + "\r\n-----END PUBLIC KEY-----";
        PublicKeyPem pem = PublicKeyPem.parse(crlfOneLine);
        assertEquals(block, pem.text());
        HostKeysTest.assertCanonicalPem(pem.text());
    }

    @Test
    void rejectsTextWithoutExactlyOneEcPublicKey() {
        assertEquals("no '-----BEGIN PUBLIC KEY-----' block in the public key text",
                assertThrows(IllegalArgumentException.class, () -> PublicKeyPem.parse("hello")).getMessage());
        String two = "-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n".repeat(2);
        assertEquals("more than one public key block in the public key text",
                assertThrows(IllegalArgumentException.class, () -> PublicKeyPem.parse(two)).getMessage());
        assertEquals("the public key is not an EC SubjectPublicKeyInfo",
                assertThrows(IllegalArgumentException.class,
                        () -> PublicKeyPem.parse("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"))
                        .getMessage());
    }

    @Test
    void keyIdValidatesItsText() {
        assertThrows(IllegalArgumentException.class, () -> KeyId.parse("ABC"));
        assertEquals("0".repeat(64), KeyId.parse("0".repeat(64)).toString());
    }
}
