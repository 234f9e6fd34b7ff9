package dev.cloister.dataset;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.response.ValidatableResponse;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.nullValue;

/**
 * Signed datasets through the API: a policy directory with a {@code signed} policy that requires a signature, and a
 * datasets root of our own, both under {@code target/}.
 */
@QuarkusTest
@TestProfile(SignedDatasetApiTest.Profile.class)
class SignedDatasetApiTest {

    static final Path BASE = Path.of("target", "signed-dataset-api").toAbsolutePath();

    /** Builds the policies (shipped ones plus {@code signed}) and datasets before the service starts. */
    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            try {
                prepare();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return Map.of("cloister.data-dir", BASE.resolve("state").toString(),
                    "cloister.datasets.root", BASE.resolve("datasets").toString(),
                    "cloister.policies.dir", BASE.resolve("policies").toString());
        }
    }

    static void prepare() throws IOException {
        if (Files.exists(BASE)) {
            try (Stream<Path> walk = Files.walk(BASE)) {
                walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        Path policies = Files.createDirectories(BASE.resolve("policies"));
        for (String shipped : new String[]{"restricted.yaml", "strict.yaml"}) {
            Files.copy(Path.of("policies", shipped), policies.resolve(shipped));
        }
        Files.createDirectories(policies.resolve("trusted-roots"));
        Files.copy(SigstoreVectors.trustedRootFile(), policies.resolve("trusted-roots/public-good.json"));
        SigstoreVectors.Signer s = SigstoreVectors.signer(SigstoreVectors.BUNDLE_V3);
        Files.writeString(policies.resolve("signed.yaml"), """
                name: signed
                teams: [test]
                images:
                  allowedRepositories: [cloister/trainer-base]
                datasets:
                  allowed: [signed-data, beside-data, plain-data]
                requireDatasetSignature:
                  identities: ["%s"]
                  issuers: ["%s"]
                  trustedRoot: trusted-roots/public-good.json
                """.formatted(s.identity(), s.issuer()));
        Path datasets = Files.createDirectories(BASE.resolve("datasets"));
        for (String name : new String[]{"signed-data", "beside-data", "plain-data", "other-data"}) {
            SigstoreVectors.datasetWithArtifact(datasets, name);
        }
        Files.writeString(datasets.resolve("beside-data" + DatasetRegistry.BUNDLE_SUFFIX),
                SigstoreVectors.bundle(SigstoreVectors.BUNDLE_V2));
    }

    private static ValidatableResponse register(String body) {
        return given().contentType(ContentType.JSON).body(body).post("/api/v1/datasets").then();
    }

    private static ValidatableResponse refusedSignature(String body) {
        return register(body).statusCode(422).contentType("application/problem+json")
                .body("type", equalTo("urn:cloister:problem:invalid-dataset"))
                .body("violations[0].field", equalTo("signature"));
    }

    @Test
    void bundleInTheRequestRegistersWithItsSigner() {
        register("{\"name\":\"signed-data\",\"signature\":" + SigstoreVectors.bundle(SigstoreVectors.BUNDLE_V3) + "}")
                .statusCode(201)
                .body("signature.identity", equalTo("appu@google.com"))
                .body("signature.issuer", equalTo("https://accounts.google.com"))
                .body("signature.signedFile", equalTo("artifact.txt"))
                .body("signature.source", equalTo("REQUEST"));
    }

    @Test
    void bundleBesideTheDataRegistersWithJustTheName() {
        register("{\"name\":\"beside-data\"}").statusCode(201)
                .body("signature.identity", equalTo("appu@google.com"))
                .body("signature.source", equalTo("BESIDE_DATA"));
    }

    @Test
    void unsignedDatasetRegistersWithoutSignature() {
        register("{\"name\":\"plain-data\"}").statusCode(201).body("signature", nullValue());
    }

    @Test
    void badSignaturesAre422OnTheSignatureField() {
        refusedSignature("{\"name\":\"other-data\",\"signature\":"
                + SigstoreVectors.bundle(SigstoreVectors.MISMATCHED_SET) + "}")
                .body("detail", containsString("does not verify"));
        refusedSignature("{\"name\":\"other-data\",\"signature\":"
                + SigstoreVectors.bundle(SigstoreVectors.DSSE_BAD_SIGNATURE) + "}")
                .body("detail", containsString("DSSE signature was not valid"));
        refusedSignature("{\"name\":\"other-data\",\"signature\":\"a string\"}")
                .body("detail", equalTo("signature must be a Sigstore bundle JSON object"));
    }

    @Test
    void jobOnAnUnsignedDatasetIsRefusedUnderASigningPolicy() {
        register("{\"name\":\"plain-data\"}").statusCode(201);
        given().contentType(ContentType.JSON)
                .body("{\"name\":\"t\",\"team\":\"test\",\"policy\":\"signed\",\"image\":\"cloister/trainer-base@sha256:"
                        + "d".repeat(64) + "\",\"command\":[\"true\"],\"dataset\":\"plain-data\"}")
                .post("/api/v1/jobs").then().statusCode(422)
                .body("violations.field", hasItem("dataset"))
                .body("violations.reason", hasItem(containsString("registered without a signature")));
    }
}
