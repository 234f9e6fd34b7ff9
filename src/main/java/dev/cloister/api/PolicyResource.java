package dev.cloister.api;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cloister.audit.AuditLog;
import dev.cloister.auth.Caller;
import dev.cloister.auth.Roles;
import dev.cloister.dataset.Dataset;
import dev.cloister.policy.PolicyException;
import jakarta.annotation.security.RolesAllowed;
import org.eclipse.microprofile.jwt.JsonWebToken;
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
    private final JsonWebToken token;

    public PolicyResource(Policies policies, PolicyReports reports, ProbeSuite probes, DatasetRegistry datasets,
                          AuditLog audit, JsonWebToken token) {
        this.policies = policies;
        this.reports = reports;
        this.probes = probes;
        this.datasets = datasets;
        this.audit = audit;
        this.token = token;
    }

    /** Every policy for reviewers and administrators; for submitters, the policies their team may use. */
    @GET
    @RolesAllowed({Roles.REVIEWER, Roles.SUBMITTER, Roles.ADMIN})
    public List<PolicySettings> list() {
        return policies.all().stream().filter(this::readable).map(PolicySettings::of).toList();
    }

    @GET
    @Path("{name}")
    @RolesAllowed({Roles.REVIEWER, Roles.SUBMITTER, Roles.ADMIN})
    public PolicySettings get(@PathParam("name") String name) {
        Policy p = policy(name);
        if (!readable(p)) {
            throw noPolicy(name);
        }
        return PolicySettings.of(p);
    }

    /**
     * Reads {@code policies/} again (administrators): the new set replaces the old one whole, or a 422 names every
     * problem and nothing changes. Audited with each policy's digest.
     */
    @POST
    @Path("reload")
    @RolesAllowed(Roles.ADMIN)
    public List<PolicySettings> reload() {
        String actor = Caller.of(token).actor();
        try {
            List<Policy> loaded = policies.reload();
            Map<String, Object> details = new java.util.TreeMap<>();
            loaded.forEach(p -> details.put(p.name(), p.digest().toString()));
            audit.record(actor, "policy.reload", "policies", "reloaded", details);
            return loaded.stream().map(PolicySettings::of).toList();
        } catch (PolicyException e) {
            audit.record(actor, "policy.reload", "policies", "refused", Map.of("violations",
                    e.violations().stream().map(Object::toString).toList()));
            throw e;
        }
    }

    @GET
    @Path("{name}/report")
    @RolesAllowed(Roles.REVIEWER)
    public PolicyReport report(@PathParam("name") String name) {
        return reports.report(name).orElseThrow(() -> noPolicy(name));
    }

    @GET
    @Path("{name}/report")
    @RolesAllowed(Roles.REVIEWER)
    @Produces(MARKDOWN + ";charset=utf-8")
    public String reportMarkdown(@PathParam("name") String name) {
        return report(name).markdown();
    }

    /** Starts the probe suite under the policy: 202 with the run; 409 while another run is in progress. */
    @POST
    @Path("{name}/probes")
    @RolesAllowed(Roles.ADMIN)
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
        String actor = Caller.of(token).actor();
        String datasetName = request.dataset() != null ? request.dataset() : policy.allowedDatasets().stream()
                .filter(d -> datasets.find(d).isPresent()).findFirst().orElseThrow(() -> new ClientErrorException(
                        "the probes need a dataset at /data: register one of " + policy.allowedDatasets()
                                + " (the datasets policy '" + name + "' allows)", 409));
        // The probe jobs belong to the team owning the dataset they mount (see ProbeSuite).
        Dataset dataset = datasets.find(datasetName).orElseThrow(() -> new ClientErrorException(
                "no registered dataset '" + datasetName + "'", 422));
        ProbeSuite.Running run;
        try {
            run = probes.start(policy, request.image(), dataset, actor);
        } catch (IllegalStateException e) {
            throw new ClientErrorException(e.getMessage(), 409);
        }
        audit.record(actor, "policy.probe", name, "started", Map.of("image", request.image(),
                "dataset", dataset.name(), "team", dataset.team(), "job", run.currentJob()));
        return Response.accepted(run).location(URI.create("/api/v1/policies/" + name + "/probes")).build();
    }

    /** The latest recorded probe run under the policy; 404 when none has completed. */
    @GET
    @Path("{name}/probes")
    @RolesAllowed(Roles.REVIEWER)
    public ProbeEvidence probes(@PathParam("name") String name) {
        policy(name);
        return probes.latest(name).orElseThrow(() -> new NotFoundException("the probe suite has not completed under "
                + "policy '" + name + "'" + probes.running(name).map(r -> " (a run is in progress since " + r.since()
                + ")").orElse("")));
    }

    // Submitters read only the policies their own team may use; reviewers and administrators read all.
    private boolean readable(Policy p) {
        Caller caller = Caller.of(token);
        return caller.has(Roles.REVIEWER) || caller.has(Roles.ADMIN) || p.allowsTeam(caller.team());
    }

    private Policy policy(String name) {
        return policies.find(name).orElseThrow(() -> noPolicy(name));
    }

    private static NotFoundException noPolicy(String name) {
        return new NotFoundException("no policy named '" + name + "'");
    }
}
