package dev.cloister.federation;

import dev.cloister.audit.AuditLog;
import dev.cloister.digest.Digest;
import dev.cloister.job.ModelPublisher;
import dev.cloister.verify.VerificationException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * How a sealed federation is handed to the model publisher and what each outcome does to its state and audit log,
 * with the publisher faked (the registry path is {@code FederationTest}'s): a federation the service left SEALED or
 * PACKAGED is verified again at start and published; a failed push, a failed check or sites under different
 * policies end FAILED with the reason, and the publisher never sees a model that did not verify.
 */
class FederationPublishTest {

    private static final String ID = "fed-" + "a".repeat(32);
    private static final Digest MODEL = Digest.of("model");
    private static final Instant SEALED_AT = Instant.parse("2026-11-27T10:00:00Z");

    @TempDir
    Path tmp;

    private final List<ModelPublisher.SealedModel> packaged = new ArrayList<>();
    private FederationService service;

    /** Records what it is given; fails when told to. */
    private final class FakePublisher implements ModelPublisher {
        private final String failure;

        FakePublisher(String failure) {
            this.failure = failure;
        }

        @Override
        public Packaged packageModel(SealedModel model) throws PublishException {
            packaged.add(model);
            if (failure != null) {
                throw new PublishException(failure, null);
            }
            return new Packaged("127.0.0.1:5000/test/" + model.name() + ":" + model.origin().id() + "@"
                    + Digest.of("image"), Digest.of("image"), null);
        }

        @Override
        public Published sign(Packaged p) {
            return new Published("sha256-x.sig", "sha256-x.att", "k");
        }
    }

    @AfterEach
    void close() {
        if (service != null) {
            service.close();
        }
    }

    private Federation stored(Federation.State state, String... policies) throws Exception {
        List<Federation.Site> sites = new ArrayList<>();
        for (int i = 0; i < policies.length; i++) {
            sites.add(new Federation.Site("site-" + i, "team-" + i, "data-" + i, Digest.of("d" + i).toString(),
                    policies[i], Digest.of(policies[i]).toString(), "training.json", Digest.of("s").toString(), "runc"));
        }
        Federation f = new Federation(ID, "bc-fed", state, "sealed: 1 round(s)", SEALED_AT.minusSeconds(60),
                SEALED_AT.minusSeconds(50), null, "cloister/example-federated@" + Digest.of("i"),
                Digest.of("i").toString(), "image-id", "fedavg", null, 1, 1, "1m", sites, List.of(),
                Digest.of("zeros").toString(), MODEL.toString(), "k".repeat(64), Map.of(), "{}", SEALED_AT, null);
        FederationStore store = new FederationStore(tmp.resolve("federations"));
        store.add(f);
        Files.createDirectories(store.dir(ID).resolve("model"));
        return f;
    }

    private Federation recover(ModelPublisher publisher, FederationService.ChainCheck check) throws Exception {
        service = new FederationService(null, null, null, null, new dev.cloister.job.JobSpecReader(65536), null,
                check, publisher, null,
                new AuditLog(tmp.resolve("audit.jsonl"), Clock.systemUTC()), SiteLogAccess.TEAM_ONLY,
                new FederationService.Settings(tmp.resolve("federations"), "urn:test", 1, 1), Clock.systemUTC());
        service.recover();
        Instant until = Instant.now().plus(Duration.ofSeconds(20));
        while (Instant.now().isBefore(until)) {
            Federation f = service.find(ID);
            if (f.state().isFinal()) {
                return f;
            }
            Thread.sleep(20);
        }
        return fail("the federation did not reach a final state");
    }

    private String audit() throws Exception {
        return Files.readString(tmp.resolve("audit.jsonl"));
    }

    @Test
    void aSealedFederationIsPublishedWithItsOwnFacts() throws Exception {
        stored(Federation.State.SEALED, "federated", "federated");
        Federation f = recover(new FakePublisher(null), (dir, key) -> { });
        assertEquals(Federation.State.PUBLISHED, f.state(), f.reason());
        assertEquals("127.0.0.1:5000/test/bc-fed:" + ID + "@" + Digest.of("image"), f.servingImage());
        assertEquals(1, packaged.size());
        ModelPublisher.SealedModel m = packaged.get(0);
        assertEquals(ID, m.origin().id());
        assertEquals("bc-fed", m.name());
        assertEquals(MODEL, m.modelDigest());
        assertEquals("federated", m.policy());
        assertEquals(SEALED_AT, m.sealedAt(), "the image's creation time is the sealing time");
        assertEquals(tmp.resolve("federations").resolve(ID).resolve("model").toAbsolutePath(), m.dir());
        String log = audit();
        assertTrue(log.contains("\"action\":\"federation.package\"") && log.contains("\"outcome\":\"pushed\""), log);
        assertTrue(log.contains("\"action\":\"federation.publish\"") && log.contains("\"outcome\":\"signed\""), log);
    }

    @Test
    void aFailedPushIsFailedWithTheReasonAndAudited() throws Exception {
        stored(Federation.State.PACKAGED, "federated");
        Federation f = recover(new FakePublisher("registry refused the push"), (dir, key) -> { });
        assertEquals(Federation.State.FAILED, f.state());
        assertEquals("publishing failed (the sealed model stays verifiable): registry refused the push", f.reason());
        assertEquals(null, f.servingImage());
        assertTrue(audit().contains("\"action\":\"federation.publish\"") && audit().contains("\"outcome\":\"failed\""),
                audit());
    }

    @Test
    void sitesUnderDifferentPoliciesAreNotPackaged() throws Exception {
        stored(Federation.State.SEALED, "federated", "strict");
        Federation f = recover(new FakePublisher(null), (dir, key) -> { });
        assertEquals(Federation.State.FAILED, f.state());
        assertEquals("publishing failed (the sealed model stays verifiable): the sites trained under different "
                + "policies [federated, strict]: a serving image names one training policy, so this model is not "
                + "packaged", f.reason());
        assertEquals(List.of(), packaged, "nothing was built");
    }

    @Test
    void aSealedDirectoryThatNoLongerVerifiesIsNotPublished() throws Exception {
        stored(Federation.State.SEALED, "federated");
        Federation f = recover(new FakePublisher(null), (dir, key) -> {
            throw new VerificationException("model/: global.npz does not match model.sig");
        });
        assertEquals(Federation.State.FAILED, f.state());
        assertEquals("the sealed federation no longer verifies: model/: global.npz does not match model.sig",
                f.reason());
        assertEquals(List.of(), packaged, "nothing was built");
    }

    @Test
    void aFederationStoppedMidRoundsThatCannotBeAdmittedAgainIsFailedWithTheReasons() throws Exception {
        stored(Federation.State.RUNNING, "federated"); // its stored spec, "{}", is no federation spec
        Federation f = recover(new FakePublisher(null), (dir, key) -> { });
        assertEquals(Federation.State.FAILED, f.state());
        assertTrue(f.reason().startsWith("the service stopped while the federation ran (round 0) and it cannot be "
                + "resumed: spec: "), f.reason());
        assertTrue(f.reason().contains("name"), f.reason());
        assertEquals(List.of(), packaged);
        assertTrue(audit().contains("\"action\":\"recovery.federation\"") && audit().contains("\"outcome\":\"failed\""),
                audit());
    }
}
