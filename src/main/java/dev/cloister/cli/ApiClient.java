package dev.cloister.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** A small HTTP client for the Cloister API; problem+json answers become {@link ApiException}s in words. */
final class ApiClient {

    private static final Duration CONNECT = Duration.ofSeconds(5);
    private static final Duration REQUEST = Duration.ofSeconds(60);

    /** The service refused or failed a request; the message is the problem's detail and violations. */
    static final class ApiException extends RuntimeException {
        private final int exitCode;

        ApiException(String message, int exitCode) {
            super(message);
            this.exitCode = exitCode;
        }

        int exitCode() {
            return exitCode;
        }
    }

    private final URI base;
    private final String token;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(CONNECT).build();
    private final ObjectMapper json = new ObjectMapper();

    /** @param token the bearer token to send, or null for none (the service then answers 401) */
    ApiClient(URI base, String token) {
        this.base = base;
        this.token = token;
    }

    URI base() {
        return base;
    }

    JsonNode get(String path) {
        return send(request(path).timeout(REQUEST).GET().build());
    }

    // Every request carries the token when there is one; it is never printed.
    private HttpRequest.Builder request(String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path));
        return token == null ? b : b.header("Authorization", "Bearer " + token);
    }

    /** A text representation of a resource (e.g. a report as {@code text/markdown}). */
    String getText(String path, String accept) {
        return exchange(request(path).timeout(REQUEST).header("Accept", accept).GET()
                .build(), HttpResponse.BodyHandlers.ofByteArray(), r -> {
            if (r.statusCode() >= 400) {
                throw problem(r.statusCode(), r.body());
            }
            return new String(r.body(), java.nio.charset.StandardCharsets.UTF_8);
        });
    }

    JsonNode post(String path, String contentType, byte[] body) {
        return post(path, contentType, body, REQUEST);
    }

    /** A POST whose answer may take longer than an ordinary request (an image build). */
    JsonNode post(String path, String contentType, byte[] body, Duration timeout) {
        return send(request(path).timeout(timeout)
                .header("Content-Type", contentType).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build());
    }

    /** The raw bytes of a resource (e.g. a signed bundle, verified byte for byte). */
    byte[] getBytes(String path) {
        return exchange(request(path).timeout(REQUEST).GET().build(),
                HttpResponse.BodyHandlers.ofByteArray(), r -> {
                    if (r.statusCode() >= 400) {
                        throw problem(r.statusCode(), r.body());
                    }
                    return r.body();
                });
    }

    /** Streams a text resource (e.g. followed logs) to {@code out} as it arrives; no overall timeout. */
    void stream(String path, OutputStream out) {
        exchange(request(path).GET().build(), HttpResponse.BodyHandlers.ofInputStream(), r -> {
            try (InputStream in = r.body()) {
                if (r.statusCode() >= 400) {
                    throw problem(r.statusCode(), in.readAllBytes());
                }
                byte[] buf = new byte[8192];
                for (int n; (n = in.read(buf)) > 0; ) {
                    out.write(buf, 0, n);
                    out.flush();
                }
            }
            return null;
        });
    }

    private JsonNode send(HttpRequest request) {
        return exchange(request, HttpResponse.BodyHandlers.ofByteArray(), r -> {
            if (r.statusCode() >= 400) {
                throw problem(r.statusCode(), r.body());
            }
            return json.readTree(r.body());
        });
    }

    /** What to do with a response; may fail with I/O while reading it. */
    private interface Reader<B, T> {
        T read(HttpResponse<B> response) throws IOException;
    }

    // One place that turns transport failures into words for the user.
    private <B, T> T exchange(HttpRequest request, HttpResponse.BodyHandler<B> handler, Reader<B, T> reader) {
        try {
            return reader.read(http.send(request, handler));
        } catch (IOException e) {
            throw unreachable(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException("interrupted", 1);
        }
    }

    private ApiException unreachable(IOException e) {
        String why = e instanceof ConnectException ? "connection refused" : e.getClass().getSimpleName();
        return new ApiException("cannot reach the service at " + base + " (" + why + "); is `cloister serve` running?", 1);
    }

    private ApiException problem(int status, byte[] body) {
        StringBuilder m = new StringBuilder("HTTP " + status);
        if (status == 401) {
            m.append(token == null ? " (no token: run `cloister login`)" : " (token not accepted: expired, or issued "
                    + "by another host? run `cloister login` again)");
        }
        try {
            JsonNode p = json.readTree(body);
            m.append(": ").append(p.path("title").asText("")).append(" - ").append(p.path("detail").asText(""));
            for (JsonNode v : p.path("violations")) {
                m.append("\n  ").append(v.path("field").asText()).append(": ").append(v.path("reason").asText());
            }
        } catch (IOException e) {
            m.append(" (no problem details)");
        }
        return new ApiException(m.toString(), 1);
    }
}
