package dev.cloister.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cloister.audit.AuditLog;
import dev.cloister.auth.Caller;
import dev.cloister.auth.Roles;
import jakarta.annotation.security.RolesAllowed;
import org.eclipse.microprofile.jwt.JsonWebToken;
import dev.cloister.dataset.Dataset;
import dev.cloister.dataset.DatasetException;
import dev.cloister.dataset.DatasetRegistry;
import dev.cloister.dataset.DatasetSignature;
import dev.cloister.dataset.SignatureRequirement;
import dev.cloister.policy.Policies;
import dev.cloister.policy.Policy;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import java.net.URI;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Datasets: registered by name (a directory under the datasets root), never by path, optionally with a Sigstore
 * bundle that signs the dataset's content (see {@link DatasetRegistry} for what is signed and where the bundle may be).
 */
@Path("/api/v1/datasets")
@Produces(MediaType.APPLICATION_JSON)
public class DatasetResource {

    /**
     * Registration request: a name (the directory is always {@code <root>/<name>}), the owning team (default: the
     * registering administrator's team) and, optionally, the Sigstore bundle JSON object that signs it; without one,
     * {@code <root>/<name>.sigstore.json} is used if it exists.
     */
    public record Registration(String name, String team, JsonNode signature) {
    }

    /** A dataset as the API shows it (no host path). */
    public record DatasetView(String name, String team, String digest, long files, long bytes, Instant registeredAt,
                              SignatureView signature) {
        static DatasetView of(Dataset d) {
            return new DatasetView(d.name(), d.team(), d.digest().toString(), d.files(), d.bytes(), d.registeredAt(),
                    d.signed().map(SignatureView::of).orElse(null));
        }
    }

    /** The verified signer of a dataset and the file the bundle signs; {@code source} is REQUEST or BESIDE_DATA. */
    public record SignatureView(String identity, String issuer, String signedFile, String source) {
        static SignatureView of(DatasetSignature s) {
            return new SignatureView(s.identity(), s.issuer(), s.signedFile(), s.source().name());
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final DatasetRegistry registry;
    private final Policies policies;
    private final AuditLog audit;
    private final JsonWebToken token;

    public DatasetResource(DatasetRegistry registry, Policies policies, AuditLog audit, JsonWebToken token) {
        this.registry = registry;
        this.policies = policies;
        this.audit = audit;
        this.token = token;
    }

    /** Registers a dataset for a team (administrators only); only that team's jobs may mount it. */
    @POST
    @RolesAllowed(Roles.ADMIN)
    @Consumes(MediaType.APPLICATION_JSON)
    public Response register(Registration request) throws DatasetException {
        Caller caller = Caller.of(token);
        String name = request == null ? null : request.name();
        String team = request == null || request.team() == null ? caller.team() : request.team();
        try {
            Dataset d = registry.register(name, team, bundle(request), candidates(name));
            Map<String, Object> details = new LinkedHashMap<>();
            details.put("team", d.team());
            details.put("digest", d.digest().toString());
            d.signed().ifPresent(s -> {
                details.put("signer", s.identity());
                details.put("issuer", s.issuer());
            });
            audit.record(caller.actor(), "dataset.register", d.name(), "registered", details);
            return Response.created(URI.create("/api/v1/datasets/" + d.name())).entity(DatasetView.of(d)).build();
        } catch (DatasetException e) {
            audit.record(caller.actor(), "dataset.register", String.valueOf(name), "refused",
                    Map.of("reason", e.getMessage(), "team", String.valueOf(team)));
            if (e.field().equals(DatasetException.FIELD_SIGNATURE) || e.field().equals(DatasetException.FIELD_TEAM)
                    && e.kind() == DatasetException.Kind.INVALID) {
                // Same problem type as any refused dataset, with the field at fault being the signature.
                return ProblemMapper.problem(422, "invalid-dataset", "Dataset refused", e.getMessage(),
                        List.of(new Problem.FieldViolation(e.field(), e.getMessage())));
            }
            throw e;
        }
    }

    /** Datasets of the caller's team; every team's for an administrator. */
    @GET
    @RolesAllowed({Roles.SUBMITTER, Roles.ADMIN})
    public List<DatasetView> list() {
        Caller caller = Caller.of(token);
        return registry.all().stream().filter(d -> caller.has(Roles.ADMIN) || d.ownedBy(caller.team()))
                .map(DatasetView::of).toList();
    }

    private static String bundle(Registration request) throws DatasetException {
        if (request == null || request.signature() == null || request.signature().isNull()) {
            return null;
        }
        if (!request.signature().isObject()) {
            throw new DatasetException(DatasetException.Kind.INVALID, DatasetException.FIELD_SIGNATURE,
                    "signature must be a Sigstore bundle JSON object");
        }
        try {
            return JSON.writeValueAsString(request.signature());
        } catch (JsonProcessingException e) {
            throw new DatasetException(DatasetException.Kind.INVALID, DatasetException.FIELD_SIGNATURE,
                    "signature cannot be read as JSON");
        }
    }

    // The requirements a signature is verified against at registration: those of the policies that allow this dataset,
    // or, when none of those requires a signature, of every policy that requires one. Admission checks again under the
    // job's own policy.
    private Map<String, SignatureRequirement> candidates(String name) {
        Map<String, SignatureRequirement> allowing = new TreeMap<>();
        Map<String, SignatureRequirement> all = new TreeMap<>();
        for (Policy p : policies.all()) {
            p.requiredDatasetSignature().ifPresent(r -> {
                all.put(p.name(), r);
                if (p.allowedDatasets().contains(name)) {
                    allowing.put(p.name(), r);
                }
            });
        }
        return allowing.isEmpty() ? all : allowing;
    }
}
