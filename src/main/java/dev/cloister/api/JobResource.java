package dev.cloister.api;

import dev.cloister.audit.AuditLog;
import dev.cloister.auth.Caller;
import dev.cloister.auth.RateLimiter;
import dev.cloister.auth.Roles;
import dev.cloister.job.Job;
import jakarta.annotation.security.RolesAllowed;
import jakarta.inject.Named;
import org.eclipse.microprofile.jwt.JsonWebToken;
import dev.cloister.job.JobId;
import dev.cloister.job.JobService;
import dev.cloister.job.JobSpecReader;
import dev.cloister.job.MalformedSpecException;
import dev.cloister.policy.AdmissionException;
import dev.cloister.reproduce.ReproductionRefusedException;
import dev.cloister.reproduce.Reproductions;
import dev.cloister.sandbox.SandboxException;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DefaultValue;
import io.smallrye.common.annotation.NonBlocking;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.StreamingOutput;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Training jobs: submit (JSON or YAML), list, inspect, follow logs, cancel. A job belongs to its team: submitters
 * and deployers see only their own team's jobs, reviewers see every team's job metadata (never logs or artifacts).
 * Another team's job answers 404, exactly like an unknown id, so that an id never confirms a job exists; the attempt
 * is audited.
 */
@Path("/api/v1/jobs")
@Produces(MediaType.APPLICATION_JSON)
public class JobResource {

    static final String YAML = "application/yaml";

    private final JobService jobs;
    private final JobSpecReader reader;
    private final LogStream logs;
    private final Reproductions reproductions;
    private final JsonWebToken token;
    private final AuditLog audit;
    private final RateLimiter submissions;
    private final RateLimiter logRequests;

    public JobResource(JobService jobs, JobSpecReader reader, LogStream logs, Reproductions reproductions,
                       JsonWebToken token, AuditLog audit, @Named("submissions") RateLimiter submissions,
                       @Named("log-streams") RateLimiter logRequests) {
        this.jobs = jobs;
        this.reader = reader;
        this.logs = logs;
        this.reproductions = reproductions;
        this.token = token;
        this.audit = audit;
        this.submissions = submissions;
        this.logRequests = logRequests;
    }

    /** Submits a job for the caller's own team (the spec's {@code team} must be it). */
    @POST
    @RolesAllowed(Roles.SUBMITTER)
    @Consumes({MediaType.APPLICATION_JSON, YAML, "application/x-yaml", "text/yaml"})
    public Response submit(InputStream body, @HeaderParam("Content-Type") String contentType)
            throws MalformedSpecException, AdmissionException, SandboxException {
        Caller caller = Caller.of(token);
        submissions.take(caller.tokenId());
        JobSpecReader.Format format = contentType != null && contentType.toLowerCase(Locale.ROOT).contains("yaml")
                ? JobSpecReader.Format.YAML : JobSpecReader.Format.JSON;
        Job job = jobs.submit(reader.readCapped(body), format, caller.actor(), caller.team());
        return Response.created(URI.create("/api/v1/jobs/" + job.id())).entity(JobView.of(job)).build();
    }

    /** The caller's team's jobs; every team's for a reviewer. */
    @GET
    @RolesAllowed({Roles.SUBMITTER, Roles.DEPLOYER, Roles.REVIEWER})
    public List<JobView> list() {
        Caller caller = Caller.of(token);
        return jobs.list().stream().filter(j -> caller.has(Roles.REVIEWER) || caller.actsFor(j.spec().team()))
                .map(JobView::of).toList();
    }

    @GET
    @Path("{id}")
    @RolesAllowed({Roles.SUBMITTER, Roles.DEPLOYER, Roles.REVIEWER})
    @NonBlocking // an in-memory read: answered on the event loop, without a hop to a worker thread (+20-30% reads/s)
    public JobView get(@PathParam("id") String id) {
        return JobView.of(visible(id, "read", Roles.SUBMITTER, Roles.DEPLOYER, Roles.REVIEWER));
    }

    @POST
    @Path("{id}/cancel")
    @RolesAllowed(Roles.SUBMITTER)
    public JobView cancel(@PathParam("id") String id) {
        Job job = visible(id, "cancel", Roles.SUBMITTER);
        return JobView.of(jobs.cancel(job.id(), Caller.of(token).actor()).orElseThrow(() -> notFound(id)));
    }

    @GET
    @Path("{id}/logs")
    @RolesAllowed(Roles.SUBMITTER)
    @Produces(MediaType.TEXT_PLAIN)
    public StreamingOutput logs(@PathParam("id") String id, @QueryParam("follow") @DefaultValue("false") boolean follow) {
        JobId jobId = visible(id, "read logs of", Roles.SUBMITTER).id();
        logRequests.take(Caller.of(token).tokenId());
        return out -> logs.copy(jobId, out, follow);
    }

    /** The sealed model and its signatures: for the owning team's submitters, and its deployers to verify. */
    @GET
    @Path("{id}/artifacts")
    @RolesAllowed({Roles.SUBMITTER, Roles.DEPLOYER})
    @Produces("application/x-tar")
    public Response artifacts(@PathParam("id") String id) {
        Job job = visible(id, "download artifacts of", Roles.SUBMITTER, Roles.DEPLOYER);
        SealedArtifacts.sealedDir(job);
        StreamingOutput body = out -> SealedArtifacts.tar(job, out);
        return Response.ok(body).header("Content-Disposition", "attachment; filename=\"" + job.id() + ".tar\"").build();
    }

    @GET
    @Path("{id}/provenance")
    @RolesAllowed({Roles.SUBMITTER, Roles.DEPLOYER})
    public JsonNode provenance(@PathParam("id") String id) throws IOException {
        return SealedArtifacts.provenance(visible(id, "read provenance of", Roles.SUBMITTER, Roles.DEPLOYER));
    }

    /**
     * Re-runs a sealed job with exactly what its provenance records (a new job, marked as its reproduction); the
     * verdict is attached to the original when the re-run ends. 409 with every changed input when it cannot be.
     */
    @POST
    @Path("{id}/reproduce")
    @RolesAllowed(Roles.SUBMITTER)
    public Response reproduce(@PathParam("id") String id) throws ReproductionRefusedException, SandboxException {
        Job original = visible(id, "reproduce", Roles.SUBMITTER);
        Caller caller = Caller.of(token);
        submissions.take(caller.tokenId()); // a re-run is a submission
        Job rerun = reproductions.start(original.id(), caller.actor()).orElseThrow(() -> notFound(id));
        return Response.created(URI.create("/api/v1/jobs/" + rerun.id())).entity(JobView.of(rerun)).build();
    }

    /** The job's latest signed reproducibility attestation (a Sigstore bundle, DSSE over an in-toto statement). */
    @GET
    @Path("{id}/reproduction")
    @RolesAllowed({Roles.SUBMITTER, Roles.DEPLOYER})
    public Response reproduction(@PathParam("id") String id) {
        Job job = visible(id, "read the reproduction of", Roles.SUBMITTER, Roles.DEPLOYER);
        byte[] bundle = reproductions.attestation(job).orElseThrow(() ->
                new NotFoundException("job " + id + " has not been re-run to a verdict"));
        return Response.ok(bundle, MediaType.APPLICATION_JSON).build();
    }

    /** CIS Docker Benchmark section 5 results of the job's container (from docker inspect, before it started). */
    @GET
    @Path("{id}/cis")
    @RolesAllowed({Roles.SUBMITTER, Roles.DEPLOYER, Roles.REVIEWER})
    public List<dev.cloister.cis.CisResult> cis(@PathParam("id") String id) {
        JobId jobId = visible(id, "read CIS results of", Roles.SUBMITTER, Roles.DEPLOYER, Roles.REVIEWER).id();
        return jobs.cis(jobId).orElseThrow(() -> new jakarta.ws.rs.ClientErrorException(
                "the job's container has not been created", jakarta.ws.rs.core.Response.Status.CONFLICT));
    }

    /**
     * The job {@code id} if the caller may see it for this purpose: a reviewer (when {@code roles} includes it) sees
     * every team's, anyone else only their own team's. Otherwise 404, audited when the job exists.
     */
    private Job visible(String id, String purpose, String... roles) {
        Caller caller = Caller.of(token);
        Job job = jobs.find(parse(id)).orElseThrow(() -> notFound(id));
        boolean crossTeam = caller.has(Roles.REVIEWER) && List.of(roles).contains(Roles.REVIEWER);
        if (crossTeam || caller.actsFor(job.spec().team())) {
            return job;
        }
        audit.record(caller.actor(), "request.refused", job.id().value(), "refused", Map.of(
                "status", 404, "reason", "team '" + caller.team() + "' may not " + purpose + " a job of another team",
                "type", ProblemMapper.BASE + "not-found"));
        throw notFound(id);
    }

    static JobId parse(String id) {
        try {
            return new JobId(id);
        } catch (IllegalArgumentException e) {
            throw notFound(id);
        }
    }

    static NotFoundException notFound(String id) {
        return new NotFoundException("no job with that id");
    }
}
