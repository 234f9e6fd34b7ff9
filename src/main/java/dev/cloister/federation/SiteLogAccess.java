package dev.cloister.federation;

/**
 * The one place that decides who may read a site's log: a site's log is its team's, and nobody else may read it
 * (not another site's team, not the administrator who started the federation, not a reviewer).
 */
public interface SiteLogAccess {

    /** @param caller the authenticated caller's team */
    boolean mayRead(String caller, Federation.Site site);

    /** A caller reads only the logs of their own team's sites. */
    SiteLogAccess TEAM_ONLY = (caller, site) -> caller != null && caller.equals(site.team());
}
