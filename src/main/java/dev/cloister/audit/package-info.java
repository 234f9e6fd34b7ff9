/**
 * The tamper-evident audit log: append-only hash-chained entries with signed checkpoints, their export, and their
 * offline verification. The service keeps the entries in its database ({@link dev.cloister.audit.DatabaseAuditStore},
 * table {@code audit_entries}, one row per entry holding its line exactly as written); tools and tests may keep them
 * in a file ({@link dev.cloister.audit.AuditStore#file}). Either way an export is the same lines.
 *
 * <h2>Entries</h2>
 * Each entry is one JSON object on one line (UTF-8; an export separates them with LF):
 * {@code {"seq":N,"time":T,"actor":A,"action":X,"subject":S,"outcome":O,"details":{...},"prevHash":P,"hash":H}}.
 * {@code seq} counts from 1 without gaps; {@code time} is an ISO-8601 instant in UTC; {@code details} holds names,
 * digests, integers and reasons, never secrets. {@code prevHash} is the {@code hash} of the entry before, and 64
 * zeros ({@code "000...0"}) for entry 1.
 *
 * <h2>The entry hash</h2>
 * {@code hash} is the lowercase hex SHA-256 of the UTF-8 bytes of the entry's <em>canonical text</em> without
 * {@code hash}:
 * <ol>
 *   <li>the eight other fields in this order: {@code seq, time, actor, action, subject, outcome, details,
 *       prevHash}, as one JSON object with no whitespace anywhere;</li>
 *   <li>inside {@code details}, every object's members sorted by key, comparing UTF-16 code units (Java's
 *       {@code String.compareTo}; for ASCII keys, byte order); array order kept;</li>
 *   <li>numbers are integers, written in plain decimal (fractions are recorded as strings, so there are none);
 *       {@code true}, {@code false}, {@code null} as such;</li>
 *   <li>strings escape {@code "} and {@code \} with a backslash, U+0008, U+0009, U+000A, U+000C, U+000D as
 *       {@code \b \t \n \f \r}, other characters below U+0020 as {@code \}{@code u00XX} with <em>upper-case</em>
 *       hex; every other character is written as itself (no {@code \}{@code u} escapes, {@code /} not escaped).</li>
 * </ol>
 * A stored line is exactly that canonical text with {@code ,"hash":"H"} inserted before the final brace, so
 * {@code sha256(line without ,"hash":"H")} is the hash; a verifier should still parse the line (rejecting duplicate
 * keys and unknown fields) and recompute the text, as {@link dev.cloister.audit.AuditVerifier} does, since a
 * re-formatted export (other key order, CRLF) carries the same entries. This is the form Cloister's first audit log
 * already wrote (Jackson's default escaping), so older logs verify too, as long as their nested {@code details}
 * objects were written in sorted order.
 *
 * <h2>Checkpoints</h2>
 * After every {@code cloister.audit.checkpoint-every} entries (default 100), every
 * {@code cloister.audit.checkpoint-interval} (default 10m) when there are entries not yet covered, and at a clean
 * shutdown, the host appends a checkpoint <em>as an entry of the log</em>: actor {@code cloister}, action
 * {@code audit.checkpoint}, subject {@code audit}, outcome {@code signed}, and
 * {@code details = {"seq": N, "headHash": H, "keyId": K, "signature": B64}} where N is the entry right before the
 * checkpoint, H its hash, K the id of the active host key (hex SHA-256 of its PEM) and B64 the base64 of the DER
 * ECDSA P-256/SHA-256 signature over the DSSE pre-authentication encoding
 * {@code PAE("application/vnd.cloister.audit-checkpoint.v1+json", P)}, with P the canonical text of
 * {@code {"headHash":H,"keyId":K,"seq":N,"time":T}} and T the checkpoint entry's own {@code time}. A checkpoint holds
 * hashes, a key id, a time and a signature: nothing secret.
 *
 * <p>Why in the log rather than a sidecar file: a checkpoint is chained like any entry, so deleting or moving one is
 * caught like any deleted or moved entry; an export is one file that carries its own proof; and there is no second
 * file that could disagree with the first after a crash. The price: a checkpoint's own line is signed only by the
 * next checkpoint.
 *
 * <h2>What verification proves</h2>
 * {@link dev.cloister.audit.AuditVerifier} (the {@code cloister audit verify} command) recomputes each hash, checks
 * that sequence numbers run on without gaps and each {@code prevHash} links, and checks each checkpoint's signature
 * with the given public keys and that it signs the entry right before it. Someone who can write the file can still
 * recompute hashes: what stops them is the signatures, so entries after the last checkpoint (the report counts them)
 * are only as trustworthy as the file, and cutting the log back to a checkpoint is visible only against a sequence
 * number (and hash) pinned from an earlier export ({@code --expect}). An export filtered by actor, job or action has
 * gaps and does not verify; one filtered by time only is a contiguous segment and verifies with {@code --segment},
 * which takes its first entry's link on trust.
 */
package dev.cloister.audit;
