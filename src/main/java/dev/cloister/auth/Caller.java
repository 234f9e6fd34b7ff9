package dev.cloister.auth;

import org.eclipse.microprofile.jwt.JsonWebToken;

import java.util.Set;

/**
 * Who is calling, from a verified token: the subject (the audit's actor), the team it acts for, its roles, and the
 * token id that rate limits count against.
 */
public record Caller(String actor, String team, Set<String> roles, String tokenId) {

    /** The claim naming the team a token acts for. */
    public static final String TEAM_CLAIM = "team";

    public Caller {
        roles = Set.copyOf(roles);
    }

    /** The caller of a request whose token SmallRye JWT has verified. */
    public static Caller of(JsonWebToken jwt) {
        if (jwt == null || jwt.getName() == null) {
            throw new IllegalStateException("no verified token on this request");
        }
        // SmallRye JWT hands non-standard claims over as JSON values.
        Object claim = jwt.getClaim(TEAM_CLAIM);
        String team = claim instanceof jakarta.json.JsonString s ? s.getString() : claim instanceof String s ? s : "";
        String id = jwt.getTokenID() != null ? jwt.getTokenID() : jwt.getName();
        return new Caller(jwt.getName(), team, jwt.getGroups() == null ? Set.of() : jwt.getGroups(), id);
    }

    public boolean has(String role) {
        return roles.contains(role);
    }

    /** Whether this caller acts for {@code team}. */
    public boolean actsFor(String team) {
        return this.team.equals(team);
    }
}
