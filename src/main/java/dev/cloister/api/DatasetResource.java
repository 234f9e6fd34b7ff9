package dev.cloister.api;

import dev.cloister.audit.AuditLog;
import dev.cloister.dataset.Dataset;
import dev.cloister.dataset.DatasetException;
import dev.cloister.dataset.DatasetRegistry;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import java.net.URI;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** Datasets: registered by name (a directory under the datasets root), never by path. */
@Path("/api/v1/datasets")
@Produces(MediaType.APPLICATION_JSON)
public class DatasetResource {

    /** Registration request: only a name; the directory is always {@code <root>/<name>}. */
    public record Registration(String name) {
    }

    /** A dataset as the API shows it (no host path). */
    public record DatasetView(String name, String digest, long files, long bytes, Instant registeredAt) {
        static DatasetView of(Dataset d) {
            return new DatasetView(d.name(), d.digest().toString(), d.files(), d.bytes(), d.registeredAt());
        }
    }

    private final DatasetRegistry registry;
    private final AuditLog audit;

    public DatasetResource(DatasetRegistry registry, AuditLog audit) {
        this.registry = registry;
        this.audit = audit;
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public Response register(Registration request) throws DatasetException {
        String name = request == null ? null : request.name();
        try {
            Dataset d = registry.register(name);
            audit.record("anonymous", "dataset.register", d.name(), "registered", Map.of("digest", d.digest().toString()));
            return Response.created(URI.create("/api/v1/datasets/" + d.name())).entity(DatasetView.of(d)).build();
        } catch (DatasetException e) {
            audit.record("anonymous", "dataset.register", String.valueOf(name), "refused", Map.of("reason", e.getMessage()));
            throw e;
        }
    }

    @GET
    public List<DatasetView> list() {
        return registry.all().stream().map(DatasetView::of).toList();
    }
}
