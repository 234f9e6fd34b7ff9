package dev.cloister.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import dev.cloister.dataset.DatasetException;
import dev.cloister.job.MalformedSpecException;
import dev.cloister.keys.KeyException;
import dev.cloister.policy.AdmissionException;
import dev.cloister.sandbox.SandboxException;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.Response;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

import java.util.List;

/** The one place where exceptions become HTTP responses, always as problem+json. */
public class ProblemMapper {

    private static final Logger LOG = Logger.getLogger(ProblemMapper.class);
    static final String BASE = "urn:cloister:problem:";

    @ServerExceptionMapper
    public Response malformed(MalformedSpecException e) {
        return e.tooLarge()
                ? problem(413, "body-too-large", "Request body too large", e.getMessage(), List.of())
                : problem(400, "malformed-body", "Request body is not a readable document", e.getMessage(), List.of());
    }

    @ServerExceptionMapper
    public Response refused(AdmissionException e) {
        return problem(422, "admission-refused", "Job refused by admission",
                e.violations().size() + " violation(s); see violations",
                e.violations().stream().map(v -> new Problem.FieldViolation(v.field(), v.reason())).toList());
    }

    @ServerExceptionMapper
    public Response dataset(DatasetException e) {
        return switch (e.kind()) {
            case NOT_FOUND -> problem(404, "not-found", "Not found", e.getMessage(), List.of());
            case CONFLICT -> problem(409, "conflict", "Conflict", e.getMessage(), List.of());
            default -> problem(422, "invalid-dataset", "Dataset refused", e.getMessage(),
                    List.of(new Problem.FieldViolation("name", e.getMessage())));
        };
    }

    @ServerExceptionMapper
    public Response sandbox(SandboxException e) {
        LOG.warnf("engine problem: %s", e.getMessage());
        return problem(503, "engine-unavailable", "The container engine is unavailable", e.getMessage(), List.of());
    }

    // Quarkus ships its own mapper for this subtype (plain JSON); ours must be at least as specific to win.
    @ServerExceptionMapper
    public Response binding(MismatchedInputException e) {
        String field = e.getPath().stream().map(r -> r.getFieldName() == null ? "[" + r.getIndex() + "]" : r.getFieldName())
                .reduce((a, b) -> a + "." + b).orElse("(document)");
        String reason = e instanceof UnrecognizedPropertyException ? "unknown field" : "wrong type or shape";
        return problem(400, "malformed-body", "Request body does not match the expected fields",
                field + ": " + reason, List.of(new Problem.FieldViolation(field, reason)));
    }

    @ServerExceptionMapper
    public Response json(JsonProcessingException e) {
        return problem(400, "malformed-body", "Request body is not a readable document",
                "not valid JSON: " + e.getOriginalMessage(), List.of());
    }

    @ServerExceptionMapper
    public Response web(WebApplicationException e) {
        int status = e.getResponse().getStatus();
        String kind = switch (status) {
            case 404 -> "not-found";
            case 405 -> "method-not-allowed";
            case 406 -> "not-acceptable";
            case 409 -> "conflict";
            case 413 -> "body-too-large";
            case 415 -> "unsupported-media-type";
            default -> status < 500 ? "bad-request" : "internal";
        };
        String title = e.getResponse().getStatusInfo().getReasonPhrase();
        return problem(status, kind, title, status < 500 ? e.getMessage() : "internal error", List.of());
    }

    @ServerExceptionMapper
    public Response keys(KeyException e) {
        LOG.errorf("signing key problem: %s", e.getMessage());
        return problem(503, "signing-key-unavailable", "The host signing key is unavailable",
                "the host signing key cannot be used; the host log has details", List.of());
    }

    @ServerExceptionMapper
    public Response unexpected(Exception e) {
        LOG.error("unexpected error", e);
        return problem(500, "internal", "Internal error", "internal error; the host log has details", List.of());
    }

    static Response problem(int status, String kind, String title, String detail, List<Problem.FieldViolation> v) {
        return Response.status(status)
                .type(Problem.MEDIA_TYPE)
                .entity(new Problem(BASE + kind, title, status, detail, v))
                .build();
    }
}
