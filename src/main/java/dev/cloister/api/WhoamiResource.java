package dev.cloister.api;

import dev.cloister.auth.Caller;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import org.eclipse.microprofile.jwt.JsonWebToken;

import java.time.Instant;
import java.util.List;

/** Who the caller's token says it is ({@code cloister login} checks a token with it); never the token itself. */
@Path("/api/v1/whoami")
@Produces(MediaType.APPLICATION_JSON)
public class WhoamiResource {

    /** The verified token's subject, team, roles, id and expiry. */
    public record Identity(String subject, String team, List<String> roles, String tokenId, Instant expires) {
    }

    private final JsonWebToken token;

    public WhoamiResource(JsonWebToken token) {
        this.token = token;
    }

    // Any verified token, whatever its roles; without one, 401 like every other endpoint.
    @GET
    @jakarta.annotation.security.RolesAllowed("**")
    public Identity whoami() {
        Caller caller = Caller.of(token);
        return new Identity(caller.actor(), caller.team(), caller.roles().stream().sorted().toList(), caller.tokenId(),
                Instant.ofEpochSecond(token.getExpirationTime()));
    }
}
