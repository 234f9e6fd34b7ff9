package dev.cloister.api;

import dev.cloister.audit.AuditLog;
import dev.cloister.auth.Caller;
import dev.cloister.auth.Roles;
import jakarta.annotation.security.RolesAllowed;
import org.eclipse.microprofile.jwt.JsonWebToken;
import dev.cloister.image.ImageReference;
import dev.cloister.image.ImageVerifier;
import dev.cloister.image.ReleasePolicy;
import dev.cloister.image.VerifiedImage;
import dev.cloister.keys.HostKeys;
import dev.cloister.keys.KeyException;
import dev.cloister.keys.PublicKeyPem;
import dev.cloister.policy.PolicyException;
import dev.cloister.verify.VerificationException;
import jakarta.ws.rs.BadRequestException;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Verification of serving images for deployers: the same checks as {@code cloister verify image}. */
@Path("/api/v1/verify")
@Consumes(MediaType.APPLICATION_JSON)
@Produces(MediaType.APPLICATION_JSON)
public class VerifyResource {

    /**
     * @param image         reference by tag or digest
     * @param publicKey     PEM of the key to pin; the host's active key when absent
     * @param releasePolicy release policy YAML text, optional
     */
    public record ImageRequest(String image, String publicKey, String releasePolicy) {
    }

    /** The verdict; {@code reasons} lists every failed check when not verified. */
    public record ImageVerdict(boolean verified, String image, VerifiedImage report, List<String> reasons) {
    }

    private final ImageVerifier verifier;
    private final HostKeys keys;
    private final AuditLog audit;
    private final JsonWebToken token;

    public VerifyResource(ImageVerifier verifier, HostKeys keys, AuditLog audit, JsonWebToken token) {
        this.verifier = verifier;
        this.keys = keys;
        this.audit = audit;
        this.token = token;
    }

    @POST
    @Path("image")
    @RolesAllowed(Roles.DEPLOYER)
    public ImageVerdict image(ImageRequest request) throws KeyException {
        String actor = Caller.of(token).actor();
        if (request == null || request.image() == null) {
            throw new BadRequestException("image is required");
        }
        ImageReference ref;
        Optional<ReleasePolicy> policy;
        try {
            ref = ImageReference.parse(request.image());
            policy = Optional.ofNullable(request.releasePolicy()).map(y -> ReleasePolicy.parse("releasePolicy", y));
        } catch (IllegalArgumentException | PolicyException e) {
            throw new BadRequestException(e.getMessage());
        }
        String pem = request.publicKey() != null ? request.publicKey() : keys.publicKey(keys.activeKeyId()).text();
        // The audit names the key by id and says whether a release policy applied; public keys are not secret, but
        // an id is what a reader compares.
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("key", keyId(pem));
        details.put("releasePolicy", policy.isPresent());
        try {
            VerifiedImage report = verifier.verify(ref, pem, policy);
            details.put("digest", report.digest().toString());
            audit.record(actor, "image.verify", ref.toString(), "verified", details);
            return new ImageVerdict(true, ref.toString(), report, List.of());
        } catch (VerificationException e) {
            details.put("reasons", e.reasons());
            audit.record(actor, "image.verify", ref.toString(), "not-verified", details);
            return new ImageVerdict(false, ref.toString(), null, e.reasons());
        }
    }

    private static String keyId(String pem) {
        try {
            return PublicKeyPem.parse(pem).keyId().hex();
        } catch (IllegalArgumentException e) {
            return "unreadable";
        }
    }
}
