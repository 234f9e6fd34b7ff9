package dev.cloister.api;

import dev.cloister.audit.AuditLog;
import dev.cloister.audit.AuditQuery;
import dev.cloister.auth.Roles;
import jakarta.annotation.security.RolesAllowed;
import dev.cloister.job.JobId;
import jakarta.ws.rs.BadRequestException;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.StreamingOutput;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;

/**
 * The audit log: entries filtered by time range, actor, job and action, as a JSON array of the stored entries, or as
 * JSON lines exactly as stored ({@code Accept: application/x-ndjson} or {@code format=jsonl}) for
 * {@code cloister audit verify}.
 */
@Path("/api/v1/audit")
public class AuditResource {

    static final String JSON_LINES = "application/x-ndjson";

    /** A JSON array holds at most this many entries unless {@code limit} says otherwise. */
    static final int DEFAULT_LIMIT = 1000;

    private final AuditLog audit;

    public AuditResource(AuditLog audit) {
        this.audit = audit;
    }

    /**
     * @param from   ISO-8601 instant, inclusive
     * @param to     ISO-8601 instant, exclusive
     * @param actor  exact actor
     * @param job    a job id: entries about that job
     * @param action exact action ({@code job.admit}, {@code audit.checkpoint}, ...)
     * @param limit  the newest this many matching entries (1 to 10000); a JSON array defaults to 1000, JSON lines
     *               to all
     * @param format {@code json} or {@code jsonl}; otherwise the {@code Accept} header decides
     */
    @GET
    @RolesAllowed(Roles.REVIEWER)
    @Produces({MediaType.APPLICATION_JSON, JSON_LINES})
    public Response list(@QueryParam("from") String from, @QueryParam("to") String to,
                         @QueryParam("actor") String actor, @QueryParam("job") String job,
                         @QueryParam("action") String action, @QueryParam("limit") String limit,
                         @QueryParam("format") String format, @Context HttpHeaders headers) {
        boolean lines = jsonLines(format, headers);
        String badJob = job == null || isJobId(job) ? null : "job: not a job id (job-<32 hex digits>)";
        AuditQuery query;
        try {
            query = AuditQuery.parse(from, to, actor, job, action, limit);
        } catch (IllegalArgumentException e) {
            throw new BadRequestException(badJob == null ? e.getMessage() : badJob + "; " + e.getMessage());
        }
        if (badJob != null) {
            throw new BadRequestException(badJob);
        }
        if (lines) {
            StreamingOutput body = out -> {
                Writer writer = new BufferedWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8));
                audit.export(query, line -> writer.write(line + "\n"));
                writer.flush();
            };
            return Response.ok(body, JSON_LINES).build();
        }
        StringBuilder array = new StringBuilder("[");
        try {
            audit.export(query.withDefaultLimit(DEFAULT_LIMIT), line -> {
                if (array.length() > 1) {
                    array.append(',');
                }
                array.append(line);
            });
        } catch (IOException e) {
            throw new IllegalStateException("the audit log cannot be read", e);
        }
        // The stored entries as they are, not re-serialised: what a client sees is what verify checks.
        return Response.ok(array.append(']').toString(), MediaType.APPLICATION_JSON).build();
    }

    private static boolean isJobId(String text) {
        try {
            new JobId(text);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static boolean jsonLines(String format, HttpHeaders headers) {
        if (format != null) {
            return switch (format) {
                case "jsonl" -> true;
                case "json" -> false;
                default -> throw new BadRequestException("format: must be json or jsonl");
            };
        }
        for (MediaType type : headers.getAcceptableMediaTypes()) {
            if (type.isCompatible(MediaType.APPLICATION_JSON_TYPE)) {
                return false;
            }
            if (type.isCompatible(MediaType.valueOf(JSON_LINES)) && !type.isWildcardType()) {
                return true;
            }
        }
        return false;
    }
}
