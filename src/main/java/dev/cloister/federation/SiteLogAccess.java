package dev.cloister.federation;

/**
 * The one place that decides who may read a site's log: a site's log is its team's, and no other site's team may
 * read it. Until callers are authenticated (teams and auth are a separate piece of work), every caller is the
 * anonymous local user of the loopback API, who is allowed; the rule to wire then is {@code caller.team ==
 * site.team}.
 */
public interface SiteLogAccess {

    /** @param caller the authenticated caller's team, or null for the anonymous local caller */
    boolean mayRead(String caller, Federation.Site site);

    /** Today's rule: the anonymous local caller reads every log; an authenticated caller only their team's. */
    SiteLogAccess TEAM_ONLY = (caller, site) -> caller == null || caller.equals(site.team());
}
