/**
 * Federated training across sites whose data never leaves its sandbox: the federation spec, the rounds the host
 * mediates (global weights written read-only to each site's {@code /in}, updates read from its {@code /out}), the
 * strict {@code .npz} reader and writer, update validation, the aggregation rules, and the signed round records.
 * Sites run through the same admission, plan and sandbox as jobs; the final model is sealed like a job's.
 */
package dev.cloister.federation;
