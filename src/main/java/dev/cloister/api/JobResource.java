package dev.cloister.api;

import dev.cloister.job.Job;
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

/** Training jobs: submit (JSON or YAML), list, inspect, follow logs, cancel. */
@Path("/api/v1/jobs")
@Produces(MediaType.APPLICATION_JSON)
public class JobResource {

    static final String YAML = "application/yaml";

    private final JobService jobs;
    private final JobSpecReader reader;
    private final LogStream logs;
    private final Reproductions reproductions;

    public JobResource(JobService jobs, JobSpecReader reader, LogStream logs, Reproductions reproductions) {
        this.jobs = jobs;
        this.reader = reader;
        this.logs = logs;
        this.reproductions = reproductions;
    }

    @POST
    @Consumes({MediaType.APPLICATION_JSON, YAML, "application/x-yaml", "text/yaml"})
    public Response submit(InputStream body, @HeaderParam("Content-Type") String contentType)
            throws MalformedSpecException, AdmissionException, SandboxException {
        JobSpecReader.Format format = contentType != null && contentType.toLowerCase(Locale.ROOT).contains("yaml")
                ? JobSpecReader.Format.YAML : JobSpecReader.Format.JSON;
        Job job = jobs.submit(reader.readCapped(body), format, "anonymous");
        return Response.created(URI.create("/api/v1/jobs/" + job.id())).entity(JobView.of(job)).build();
    }

    @GET
    public List<JobView> list() {
        return jobs.list().stream().map(JobView::of).toList();
    }

    @GET
    @Path("{id}")
    public JobView get(@PathParam("id") String id) {
        return JobView.of(jobs.find(parse(id)).orElseThrow(() -> notFound(id)));
    }

    @POST
    @Path("{id}/cancel")
    public JobView cancel(@PathParam("id") String id) {
        return JobView.of(jobs.cancel(parse(id), "anonymous").orElseThrow(() -> notFound(id)));
    }

    @GET
    @Path("{id}/logs")
    @Produces(MediaType.TEXT_PLAIN)
    public StreamingOutput logs(@PathParam("id") String id, @QueryParam("follow") @DefaultValue("false") boolean follow) {
        JobId jobId = parse(id);
        jobs.find(jobId).orElseThrow(() -> notFound(id));
        return out -> logs.copy(jobId, out, follow);
    }

    @GET
    @Path("{id}/artifacts")
    @Produces("application/x-tar")
    public Response artifacts(@PathParam("id") String id) {
        Job job = jobs.find(parse(id)).orElseThrow(() -> notFound(id));
        SealedArtifacts.sealedDir(job);
        StreamingOutput body = out -> SealedArtifacts.tar(job, out);
        return Response.ok(body).header("Content-Disposition", "attachment; filename=\"" + job.id() + ".tar\"").build();
    }

    @GET
    @Path("{id}/provenance")
    public JsonNode provenance(@PathParam("id") String id) throws IOException {
        return SealedArtifacts.provenance(jobs.find(parse(id)).orElseThrow(() -> notFound(id)));
    }

    /**
     * Re-runs a sealed job with exactly what its provenance records (a new job, marked as its reproduction); the
     * verdict is attached to the original when the re-run ends. 409 with every changed input when it cannot be.
     */
    @POST
    @Path("{id}/reproduce")
    public Response reproduce(@PathParam("id") String id) throws ReproductionRefusedException, SandboxException {
        Job rerun = reproductions.start(parse(id), "anonymous").orElseThrow(() -> notFound(id));
        return Response.created(URI.create("/api/v1/jobs/" + rerun.id())).entity(JobView.of(rerun)).build();
    }

    /** The job's latest signed reproducibility attestation (a Sigstore bundle, DSSE over an in-toto statement). */
    @GET
    @Path("{id}/reproduction")
    public Response reproduction(@PathParam("id") String id) {
        Job job = jobs.find(parse(id)).orElseThrow(() -> notFound(id));
        byte[] bundle = reproductions.attestation(job).orElseThrow(() ->
                new NotFoundException("job " + id + " has not been re-run to a verdict"));
        return Response.ok(bundle, MediaType.APPLICATION_JSON).build();
    }

    /** CIS Docker Benchmark section 5 results of the job's container (from docker inspect, before it started). */
    @GET
    @Path("{id}/cis")
    public List<dev.cloister.cis.CisResult> cis(@PathParam("id") String id) {
        JobId jobId = parse(id);
        jobs.find(jobId).orElseThrow(() -> notFound(id));
        return jobs.cis(jobId).orElseThrow(() -> new jakarta.ws.rs.ClientErrorException(
                "the job's container has not been created", jakarta.ws.rs.core.Response.Status.CONFLICT));
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
