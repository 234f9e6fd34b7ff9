package dev.cloister.api;

import dev.cloister.keys.HostKeys;
import dev.cloister.keys.KeyException;
import dev.cloister.keys.KeyInfo;
import dev.cloister.audit.AuditLog;
import dev.cloister.auth.Caller;
import dev.cloister.auth.Roles;
import jakarta.annotation.security.RolesAllowed;
import org.eclipse.microprofile.jwt.JsonWebToken;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The host's public signing keys (never private material): the active one and retired ones still trusted. */
@Path("/api/v1/keys")
@Produces(MediaType.APPLICATION_JSON)
public class KeyResource {

    /** One public key; {@code id} is the OMS hint (hex SHA-256 of {@code pem}). */
    public record KeyView(String id, String pem, Instant created, boolean active) {
    }

    private final HostKeys keys;
    private final AuditLog audit;
    private final JsonWebToken token;

    public KeyResource(HostKeys keys, AuditLog audit, JsonWebToken token) {
        this.keys = keys;
        this.audit = audit;
        this.token = token;
    }

    /** Makes a new key active; earlier public keys stay listed so that older seals keep verifying. */
    @POST
    @Path("rotate")
    @RolesAllowed(Roles.ADMIN)
    public KeyView rotate() throws KeyException {
        String previous = keys.activeKeyId().hex();
        KeyInfo k = keys.rotate();
        audit.record(Caller.of(token).actor(), "key.rotate", k.id().hex(), "rotated", Map.of("previous", previous));
        return new KeyView(k.id().hex(), keys.publicKey(k.id()).text(), k.created(), k.active());
    }

    /** Public keys: deployers pin them, reviewers check audit checkpoints with them, administrators rotate them. */
    @GET
    @RolesAllowed({Roles.DEPLOYER, Roles.REVIEWER, Roles.ADMIN})
    public List<KeyView> list() throws KeyException {
        List<KeyView> out = new ArrayList<>();
        for (KeyInfo k : keys.keys()) {
            out.add(new KeyView(k.id().hex(), keys.publicKey(k.id()).text(), k.created(), k.active()));
        }
        return out;
    }
}
