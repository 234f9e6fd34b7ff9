package dev.cloister.auth;

import java.util.List;

/**
 * The roles a token may carry (its JWT {@code groups}); a token may carry several. What each may do is decided by
 * the {@code @RolesAllowed} of each endpoint and, for a team's jobs and datasets, by the token's team.
 */
public final class Roles {

    /** Submits jobs and reads its own team's jobs, logs, artifacts and datasets. */
    public static final String SUBMITTER = "submitter";
    /** Reads every policy, report, the audit log and job metadata of every team; never logs, datasets or artifacts. */
    public static final String REVIEWER = "reviewer";
    /** Reads public keys, its own team's signatures, provenance and sealed models; verifies and deploys. */
    public static final String DEPLOYER = "deployer";
    /** Registers datasets, reloads policies, rotates keys, runs the probe suite. */
    public static final String ADMIN = "admin";

    public static final List<String> ALL = List.of(SUBMITTER, REVIEWER, DEPLOYER, ADMIN);

    private Roles() {
    }
}
