package dev.cloister.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import dev.cloister.audit.AuditLog;
import dev.cloister.build.BuildException;
import dev.cloister.reproduce.ReproductionRefusedException;
import dev.cloister.auth.RateLimitedException;
import dev.cloister.policy.PolicyException;
import io.quarkus.security.AuthenticationFailedException;
import io.quarkus.security.ForbiddenException;
import io.quarkus.security.UnauthorizedException;
import dev.cloister.dataset.DatasetException;
import dev.cloister.job.MalformedSpecException;
import dev.cloister.keys.KeyException;
import dev.cloister.policy.AdmissionException;
import dev.cloister.sandbox.SandboxException;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.Response;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;
import org.jboss.resteasy.reactive.server.SimpleResourceInfo;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The one place where exceptions become HTTP responses, always as problem+json. Refusals that no domain service has
 * audited already (unreadable bodies, bad parameters, a missing or refused token, a role that does not allow the
 * request, a rate limit) are audited here with the actor (the token's subject, or {@code anonymous} without a
 * verified token), the request and the reason; never the token itself.
 */
public class ProblemMapper {

    private static final Logger LOG = Logger.getLogger(ProblemMapper.class);
    static final String BASE = "urn:cloister:problem:";

    private final AuditLog audit;

    public ProblemMapper(AuditLog audit) {
        this.audit = audit;
    }

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

    // No token, or one that does not verify (bad signature, another key, alg none, expired, wrong issuer or audience):
    // the reason stays in the audit and the host log, the client learns only that its token was not accepted.
    @ServerExceptionMapper
    public Response unauthenticated(UnauthorizedException e, ContainerRequestContext request,
                                    SimpleResourceInfo resource) {
        return unauthorized(request, resource, "no bearer token");
    }

    @ServerExceptionMapper
    public Response authenticationFailed(AuthenticationFailedException e, ContainerRequestContext request,
                                         SimpleResourceInfo resource) {
        String why = e.getCause() != null ? e.getCause().getClass().getSimpleName() : "token not accepted";
        return unauthorized(request, resource, "token refused (" + why + ")");
    }

    @ServerExceptionMapper
    public Response forbidden(ForbiddenException e, ContainerRequestContext request, SimpleResourceInfo resource) {
        auditRefusal(request, resource, 403, "forbidden", "the token's roles do not allow this request");
        return problem(403, "forbidden", "Forbidden", "the token's roles do not allow this request", List.of());
    }

    @ServerExceptionMapper
    public Response rateLimited(RateLimitedException e, ContainerRequestContext request, SimpleResourceInfo resource) {
        auditRefusal(request, resource, 429, "rate-limited", e.getMessage());
        return Response.fromResponse(problem(429, "rate-limited", "Too many requests", e.getMessage(), List.of()))
                .header("Retry-After", e.retryAfterSeconds()).build();
    }

    @ServerExceptionMapper
    public Response policies(PolicyException e) {
        return problem(422, "invalid-policy", "Policy files refused",
                e.violations().size() + " problem(s); nothing was reloaded",
                e.violations().stream().map(v -> new Problem.FieldViolation(v.field(), v.reason())).toList());
    }

    private Response unauthorized(ContainerRequestContext request, SimpleResourceInfo resource, String reason) {
        auditRefusal(request, resource, 401, "unauthorized", reason);
        return Response.fromResponse(problem(401, "unauthorized", "Unauthorized",
                        "a valid bearer token is required (cloister login)", List.of()))
                .header("WWW-Authenticate", "Bearer").build();
    }

    @ServerExceptionMapper
    public Response federation(dev.cloister.federation.FederationException e, ContainerRequestContext request,
                               SimpleResourceInfo resource) {
        return switch (e.kind()) {
            case NOT_FOUND -> problem(404, "not-found", "Not found", e.getMessage(), List.of());
            case FORBIDDEN -> {
                auditRefusal(request, resource, 403, "forbidden", e.getMessage());
                yield problem(403, "forbidden", "Forbidden", e.getMessage(), List.of());
            }
            case CONFLICT -> {
                auditRefusal(request, resource, 409, "conflict", e.getMessage());
                yield problem(409, "conflict", "Conflict", e.getMessage(), List.of());
            }
        };
    }

    @ServerExceptionMapper
    public Response reproduction(ReproductionRefusedException e) {
        return problem(409, "reproduction-refused", "Job cannot be reproduced", e.getMessage(),
                e.violations().stream().map(v -> new Problem.FieldViolation(v.field(), v.reason())).toList());
    }

    @ServerExceptionMapper
    public Response build(BuildException e) {
        List<Problem.FieldViolation> v = e.violations().stream()
                .map(x -> new Problem.FieldViolation(x.field(), x.reason())).toList();
        return switch (e.kind()) {
            case REFUSED -> problem(422, "build-refused", "Image build refused", e.violations().isEmpty()
                    ? e.getMessage() : e.violations().size() + " violation(s); see violations", v);
            case TOO_LARGE -> problem(413, "body-too-large", "Request body too large", e.getMessage(), v);
            case FAILED -> problem(422, "build-failed", "Image build failed", e.getMessage()
                    + (e.log().isEmpty() ? "" : "\n--- build output (last lines) ---\n" + e.log()), v);
            case BUSY -> problem(409, "conflict", "Conflict", e.getMessage(), v);
            case ENGINE -> {
                LOG.warnf("image build: %s", e.getMessage());
                yield problem(503, "engine-unavailable", "The container engine or registry is unavailable",
                        e.getMessage(), v);
            }
        };
    }

    @ServerExceptionMapper
    public Response sandbox(SandboxException e) {
        LOG.warnf("engine problem: %s", e.getMessage());
        return problem(503, "engine-unavailable", "The container engine is unavailable", e.getMessage(), List.of());
    }

    // Quarkus ships its own mapper for this subtype (plain JSON); ours must be at least as specific to win.
    @ServerExceptionMapper
    public Response binding(MismatchedInputException e, ContainerRequestContext request, SimpleResourceInfo resource) {
        String field = e.getPath().stream().map(r -> r.getFieldName() == null ? "[" + r.getIndex() + "]" : r.getFieldName())
                .reduce((a, b) -> a + "." + b).orElse("(document)");
        String reason = e instanceof UnrecognizedPropertyException ? "unknown field" : "wrong type or shape";
        auditRefusal(request, resource, 400, "malformed-body", field + ": " + reason);
        return problem(400, "malformed-body", "Request body does not match the expected fields",
                field + ": " + reason, List.of(new Problem.FieldViolation(field, reason)));
    }

    @ServerExceptionMapper
    public Response json(JsonProcessingException e, ContainerRequestContext request, SimpleResourceInfo resource) {
        // The parser's own message may quote the body (an env value, say): the audit gets the position only.
        String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr() + ", column "
                + e.getLocation().getColumnNr();
        auditRefusal(request, resource, 400, "malformed-body", "not valid JSON" + where);
        return problem(400, "malformed-body", "Request body is not a readable document",
                "not valid JSON: " + e.getOriginalMessage(), List.of());
    }

    @ServerExceptionMapper
    public Response web(WebApplicationException e, ContainerRequestContext request, SimpleResourceInfo resource) {
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
        // A lookup of an unknown id is not an action worth a line each; other 4xx refusals are.
        if (status >= 400 && status < 500 && status != 404) {
            auditRefusal(request, resource, status, kind, e.getMessage());
        }
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

    // Only requests that reached a resource method: anything else (an unknown path, a wrong method) did nothing.
    private void auditRefusal(ContainerRequestContext request, SimpleResourceInfo resource, int status, String kind,
                              String reason) {
        if (resource == null || resource.getResourceClass() == null || request == null) {
            return;
        }
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("status", status);
        details.put("type", BASE + kind);
        details.put("reason", String.valueOf(reason));
        details.put("operation", resource.getResourceClass().getSimpleName() + "." + resource.getMethodName());
        // The principal is set only when a token verified; a refused token's claims are not to be believed.
        java.security.Principal principal = request.getSecurityContext() == null ? null
                : request.getSecurityContext().getUserPrincipal();
        String actor = principal == null || principal.getName() == null || principal.getName().isEmpty()
                ? "anonymous" : principal.getName();
        try {
            audit.record(actor, "request.refused", request.getMethod() + " /" + request.getUriInfo().getPath()
                    .replaceFirst("^/", ""), "refused", details);
        } catch (RuntimeException e) {
            // The request is refused either way; the audit failure itself is logged by the audit log.
            LOG.errorf("refused request not audited: %s", e.getMessage());
        }
    }

    static Response problem(int status, String kind, String title, String detail, List<Problem.FieldViolation> v) {
        return Response.status(status)
                .type(Problem.MEDIA_TYPE)
                .entity(new Problem(BASE + kind, title, status, detail, v))
                .build();
    }
}
