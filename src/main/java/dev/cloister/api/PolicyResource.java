package dev.cloister.api;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cloister.audit.AuditLog;
import dev.cloister.job.MalformedSpecException;
import dev.cloister.policy.AdmissionException;
import dev.cloister.policy.Policies;
import dev.cloister.policy.Policy;
import dev.cloister.review.PolicyReport;
import dev.cloister.review.PolicyReports;
import dev.cloister.review.PolicySettings;
import dev.cloister.review.ProbeEvidence;
import dev.cloister.review.ProbeSuite;
import dev.cloister.dataset.DatasetRegistry;
import dev.cloister.sandbox.SandboxException;
import jakarta.ws.rs.ClientErrorException;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.util.List;
import java.util.Map;

/**
 * The reviewed policies for reviewers: effective settings, the full report (JSON, or Markdown for sign-off with
 * {@code Accept: text/markdown}), and the escape-probe suite run under a policy with its latest evidence.
 */
@Path("/api/v1/policies")
@Produces(MediaType.APPLICATION_JSON)
public class PolicyResource {

    static final String MARKDOWN = "text/markdown";
    private static final int MAX_REQUEST = 16 * 1024;
    private static final ObjectMapper REQUEST = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /**
     * A request to run the probe suite.
     *
     * @param image   the probe image, pinned by digest like any job's ({@code cloister/probe@sha256:...})
     * @param dataset the dataset mounted at /data; default: the first dataset the policy allows that is registered
     */
    public record ProbeRequest(String image, String dataset) {
    }

    private final Policies policies;
    private final PolicyReports reports;
    private final ProbeSuite probes;
    private final DatasetRegistry datasets;
    private final AuditLog audit;

    public PolicyResource(Policies policies, PolicyReports reports, ProbeSuite probes, DatasetRegistry datasets,
                          AuditLog audit) {
        this.policies = policies;
        this.reports = reports;
        this.probes = probes;
        this.datasets = datasets;
        this.audit = audit;
    }

    @GET
    public List<PolicySettings> list() {
        return policies.all().stream().map(PolicySettings::of).toList();
    }

    @GET
    @Path("{name}")
    public PolicySettings get(@PathParam("name") String name) {
        return PolicySettings.of(policy(name));
    }

    @GET
    @Path("{name}/report")
    public PolicyReport report(@PathParam("name") String name) {
        return reports.report(name).orElseThrow(() -> noPolicy(name));
    }

    @GET
    @Path("{name}/report")
    @Produces(MARKDOWN + ";charset=utf-8")
    public String reportMarkdown(@PathParam("name") String name) {
        return report(name).markdown();
    }

    /** Starts the probe suite under the policy: 202 with the run; 409 while another run is in progress. */
    @POST
    @Path("{name}/probes")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response probe(@PathParam("name") String name, InputStream body)
            throws MalformedSpecException, AdmissionException, SandboxException, IOException {
        Policy policy = policy(name);
        byte[] bytes = body.readNBytes(MAX_REQUEST);
        // Refusals below are audited once, by ProblemMapper, as request.refused.
        if (body.read() != -1) {
            throw new ClientErrorException("a probe request is at most " + MAX_REQUEST + " bytes", 413);
        }
        ProbeRequest request = REQUEST.readValue(bytes, ProbeRequest.class);
        if (request == null || request.image() == null || request.image().isBlank()) {
            throw new ClientErrorException("name the probe image, pinned by digest: {\"image\": "
                    + "\"cloister/probe@sha256:...\"} (deploy/probes/build.sh prints it)", 400);
        }
        String dataset = request.dataset() != null ? request.dataset() : policy.allowedDatasets().stream()
                .filter(d -> datasets.find(d).isPresent()).findFirst().orElseThrow(() -> new ClientErrorException(
                        "the probes need a dataset at /data: register one of " + policy.allowedDatasets()
                                + " (the datasets policy '" + name + "' allows)", 409));
        ProbeSuite.Running run;
        try {
            run = probes.start(policy, request.image(), dataset, "anonymous");
        } catch (IllegalStateException e) {
            throw new ClientErrorException(e.getMessage(), 409);
        }
        audit.record("anonymous", "policy.probe", name, "started", Map.of("image", request.image(),
                "dataset", dataset, "job", run.currentJob()));
        return Response.accepted(run).location(URI.create("/api/v1/policies/" + name + "/probes")).build();
    }

    /** The latest recorded probe run under the policy; 404 when none has completed. */
    @GET
    @Path("{name}/probes")
    public ProbeEvidence probes(@PathParam("name") String name) {
        policy(name);
        return probes.latest(name).orElseThrow(() -> new NotFoundException("the probe suite has not completed under "
                + "policy '" + name + "'" + probes.running(name).map(r -> " (a run is in progress since " + r.since()
                + ")").orElse("")));
    }

    private Policy policy(String name) {
        return policies.find(name).orElseThrow(() -> noPolicy(name));
    }

    private static NotFoundException noPolicy(String name) {
        return new NotFoundException("no policy named '" + name + "'");
    }
}
