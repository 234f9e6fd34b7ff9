package dev.cloister.federation;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Who may read a site's log: its own team; the anonymous local caller until callers are authenticated. */
class SiteLogAccessTest {

    private static final Federation.Site SITE = new Federation.Site("site-a", "oncology-a", "fed-site-a",
            "sha256:" + "a".repeat(64), "federated", "sha256:" + "b".repeat(64), "training.json",
            "sha256:" + "c".repeat(64), "runc");

    @Test
    void aSitesLogIsItsTeamsOnly() {
        assertTrue(SiteLogAccess.TEAM_ONLY.mayRead("oncology-a", SITE));
        assertFalse(SiteLogAccess.TEAM_ONLY.mayRead("oncology-b", SITE), "another site's team");
        assertFalse(SiteLogAccess.TEAM_ONLY.mayRead("", SITE));
        assertFalse(SiteLogAccess.TEAM_ONLY.mayRead(null, SITE), "no caller, no log");
    }
}
