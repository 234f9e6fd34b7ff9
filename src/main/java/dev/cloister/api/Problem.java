package dev.cloister.api;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.util.List;

/**
 * RFC 9457 problem details. {@code type} is stable per kind of problem; {@code violations} lists every field at
 * fault. Never carries class names, stack traces or request secrets.
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public record Problem(String type, String title, int status, String detail, List<FieldViolation> violations) {

    public static final String MEDIA_TYPE = "application/problem+json";

    /** One field and why it was refused. */
    public record FieldViolation(String field, String reason) {
    }
}
