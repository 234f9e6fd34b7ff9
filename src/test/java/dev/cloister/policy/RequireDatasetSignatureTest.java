package dev.cloister.policy;

import dev.cloister.dataset.Dataset;
import dev.cloister.dataset.DatasetRegistry;
import dev.cloister.dataset.SignatureRequirement;
import dev.cloister.dataset.SigstoreVectors;
import dev.cloister.job.JobId;
import dev.cloister.job.JobSpec;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code requireDatasetSignature}: read and validated with the policy, enforced by admission. */
class RequireDatasetSignatureTest {

    private static final String DIGEST = "sha256:" + "c".repeat(64);
    private static final JobId ID = new JobId("job-" + "0".repeat(32));
    private static final String ROOT_FILE = "trusted-roots/public-good.json";

    @TempDir
    Path policiesDir;
    @TempDir
    Path datasets;

    private PolicyReader reader;
    private final Admission admission = new Admission(Path.of("/var/lib/cloister/work"));

    @BeforeEach
    void trustedRootBesideThePolicies() throws Exception {
        Files.createDirectories(policiesDir.resolve("trusted-roots"));
        Files.copy(SigstoreVectors.trustedRootFile(), policiesDir.resolve(ROOT_FILE));
        reader = new PolicyReader(Path.of("seccomp-profiles"), policiesDir);
    }

    private Policy read(String yaml) {
        return reader.read("test.yaml", "test", yaml.getBytes(StandardCharsets.UTF_8));
    }

    private List<String> problems(String yaml) {
        return assertThrows(PolicyException.class, () -> read(yaml)).violations().stream().map(Violation::toString).toList();
    }

    private static String policy(String signature) {
        return """
                name: test
                teams: [oncology]
                images:
                  allowedRepositories: [cloister/trainer-base]
                datasets:
                  allowed: [data]
                """ + signature;
    }

    private static String requiring(String identity, String issuer) {
        return policy("""
                requireDatasetSignature:
                  identities: ["%s"]
                  issuers: ["%s"]
                  trustedRoot: %s
                """.formatted(identity, issuer, ROOT_FILE));
    }

    private static JobSpec spec() {
        return new JobSpec("bc", "oncology", "test", "cloister/trainer-base@" + DIGEST, List.of("python3", "train.py"),
                Map.of(), Map.of(), "data", JobSpec.Resources.POLICY_CAPS, null);
    }

    private Dataset signedDataset() throws Exception {
        SigstoreVectors.datasetWithArtifact(datasets, "data");
        return new DatasetRegistry(datasets, Clock.systemUTC()).register("data", "test",
                SigstoreVectors.bundle(SigstoreVectors.BUNDLE_V3),
                Map.of("p", SigstoreVectors.requirementFor(SigstoreVectors.BUNDLE_V3)));
    }

    private Dataset unsignedDataset() throws Exception {
        SigstoreVectors.datasetWithArtifact(datasets, "data");
        return new DatasetRegistry(datasets, Clock.systemUTC()).register("data", "test");
    }

    @Test
    void absentMeansNoSignatureCheck() throws Exception {
        Policy p = read(policy(""));
        assertTrue(p.requiredDatasetSignature().isEmpty());
        ContainerPlan plan = admission.admit(ID, spec(), p, unsignedDataset());
        assertFalse(plan.labels().containsKey(Admission.LABEL_DATASET_SIGNER));
    }

    @Test
    void shippedPoliciesRequireNoSignature() {
        Policies.load(Path.of("policies"), Path.of("seccomp-profiles"), "restricted").all()
                .forEach(p -> assertTrue(p.requiredDatasetSignature().isEmpty(),
                        p.name() + ": the example dataset is unsigned"));
    }

    @Test
    void requirementIsReadWithItsTrustedRoot() {
        SigstoreVectors.Signer s = SigstoreVectors.signer(SigstoreVectors.BUNDLE_V3);
        SignatureRequirement r = read(requiring(s.identity(), s.issuer())).requiredDatasetSignature().orElseThrow();
        assertEquals(List.of("appu@google.com"), r.identities());
        assertEquals(List.of("https://accounts.google.com"), r.issuers());
        assertEquals(ROOT_FILE, r.trustedRoot().name());
    }

    @Test
    void policyFileResolvesTheTrustedRootBesideItself() throws Exception {
        Files.writeString(policiesDir.resolve("test.yaml"), requiring("ci@example.com", "https://accounts.google.com"));
        Policy p = new PolicyReader(Path.of("seccomp-profiles")).read(policiesDir.resolve("test.yaml"));
        assertEquals(ROOT_FILE, p.requiredDatasetSignature().orElseThrow().trustedRoot().name());
    }

    @Test
    void everyProblemNamesItsField() throws Exception {
        Files.writeString(policiesDir.resolve("not-a-root.json"), "{\"mediaType\": 3}");
        List<String> p = problems(policy("""
                requireDatasetSignature:
                  identities: []
                  issuers: ["http://accounts.google.com", "https://ok.example"]
                  trustedRoot: not-a-root.json
                  allowUnsigned: true
                """));
        assertTrue(p.stream().anyMatch(v -> v.startsWith("requireDatasetSignature.identities: must list")), p.toString());
        assertTrue(p.contains("requireDatasetSignature.issuers[0]: must be an https:// OIDC issuer URL, matched exactly"),
                p.toString());
        assertTrue(p.stream().anyMatch(v -> v.startsWith("requireDatasetSignature.trustedRoot: trusted root "
                + "'not-a-root.json' is not a Sigstore trusted root")), p.toString());
        assertTrue(p.contains("requireDatasetSignature.allowUnsigned: unknown field"), p.toString());
        assertEquals(4, p.size(), p.toString());
    }

    @Test
    void trustedRootMustExistInsideThePoliciesDirectory() {
        String base = "requireDatasetSignature:\n  identities: [a@example.com]\n  issuers: [https://accounts.google.com]\n";
        assertTrue(problems(policy(base + "  trustedRoot: trusted-roots/missing.json\n")).get(0)
                .startsWith("requireDatasetSignature.trustedRoot: trusted root 'trusted-roots/missing.json' is not a regular file"));
        for (String path : List.of("../outside.json", "/etc/root.json", "trusted-roots/../x.json", "root.yaml")) {
            assertTrue(problems(policy(base + "  trustedRoot: \"" + path + "\"\n")).get(0)
                    .contains("must be a .json file path relative to the policies directory"), path);
        }
        assertEquals(List.of("requireDatasetSignature.trustedRoot: is required: a Sigstore trusted root JSON file beside "
                + "the policies (e.g. trusted-roots/public-good.json)"), problems(policy(base)));
    }

    @Test
    void identitiesAreExactAndEmptyIsNotSilentlyOff() {
        assertTrue(problems(requiring("https://github.com/acme/*", "https://token.actions.githubusercontent.com"))
                .contains("requireDatasetSignature.identities[0]: identities are matched exactly; '*' is not a wildcard"));
        assertTrue(problems(policy("requireDatasetSignature:\n")).get(0).startsWith("requireDatasetSignature: is empty"));
        assertTrue(problems(policy("requireDatasetSignature: true\n")).contains("requireDatasetSignature: must be an object"));
        List<String> wrongTypes = problems(policy("requireDatasetSignature:\n  identities: a@example.com\n"
                + "  issuers: [https://accounts.google.com]\n  trustedRoot: " + ROOT_FILE + "\n"));
        assertEquals(List.of("requireDatasetSignature.identities: must be a list of strings"), wrongTypes);
    }

    @Test
    void unsignedDatasetIsRefusedOnTheDatasetField() throws Exception {
        Policy p = read(requiring("appu@google.com", "https://accounts.google.com"));
        List<Violation> v = assertThrows(AdmissionException.class,
                () -> admission.admit(ID, spec(), p, unsignedDataset())).violations();
        assertEquals(1, v.size(), v.toString());
        assertEquals("dataset", v.get(0).field());
        assertTrue(v.get(0).reason().contains("policy 'test' requires a dataset signed by identities [appu@google.com]"),
                v.get(0).reason());
        assertTrue(v.get(0).reason().contains("registered without a signature"), v.get(0).reason());
    }

    @Test
    void signedDatasetIsAdmittedAndThePlanNamesItsSigner() throws Exception {
        SigstoreVectors.Signer s = SigstoreVectors.signer(SigstoreVectors.BUNDLE_V3);
        ContainerPlan plan = admission.admit(ID, spec(), read(requiring(s.identity(), s.issuer())), signedDataset());
        assertEquals(s.identity(), plan.labels().get(Admission.LABEL_DATASET_SIGNER));
        assertEquals(s.issuer(), plan.labels().get(Admission.LABEL_DATASET_SIGNER_ISSUER));
    }

    @Test
    void signerOutsideThePolicysIdentitiesIsRefused() throws Exception {
        Policy p = read(requiring("https://github.com/acme/data/.github/workflows/sign.yml@refs/heads/main",
                "https://token.actions.githubusercontent.com"));
        List<Violation> v = assertThrows(AdmissionException.class,
                () -> admission.admit(ID, spec(), p, signedDataset())).violations();
        assertEquals("dataset", v.get(0).field());
        assertTrue(v.get(0).reason().contains("signed by 'appu@google.com'"), v.get(0).reason());
    }

    @Test
    void datasetChangedAfterRegistrationIsRefused() throws Exception {
        Dataset d = signedDataset();
        Files.writeString(d.directory().resolve(SigstoreVectors.ARTIFACT), "swapped\n");
        Policy p = read(requiring("appu@google.com", "https://accounts.google.com"));
        List<Violation> v = assertThrows(AdmissionException.class, () -> admission.admit(ID, spec(), p, d)).violations();
        assertEquals("dataset", v.get(0).field());
        assertTrue(v.get(0).reason().contains("changed since it was registered"), v.get(0).reason());
    }

    @Test
    void noDatasetNoCheck() throws Exception {
        Policy p = read(requiring("appu@google.com", "https://accounts.google.com"));
        JobSpec noData = new JobSpec("bc", "oncology", "test", "cloister/trainer-base@" + DIGEST, List.of("true"),
                Map.of(), Map.of(), null, JobSpec.Resources.POLICY_CAPS, null);
        assertNull(admission.admit(ID, noData, p, null).labels().get(Admission.LABEL_DATASET_SIGNER));
    }
}
