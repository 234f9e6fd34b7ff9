package dev.cloister.federation;

/**
 * One accepted site update, as aggregation sees it: the update's delta from the round's global weights (already
 * clipped when the federation clips) and the example count the site reported.
 */
record Contribution(String site, double[] delta, long examples) {
}
