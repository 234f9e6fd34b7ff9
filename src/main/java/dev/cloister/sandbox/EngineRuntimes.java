package dev.cloister.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.dockerjava.api.model.RuntimeInfo;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.transport.DockerHttpClient;
import dev.cloister.policy.ContainerRuntime;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Checks that the engine can run a plan's runtime as the plan says. For runsc that means enforcing the plan's
 * seccomp profile inside the sandbox, which gVisor does only when registered with {@code --oci-seccomp}; without it
 * the profile is silently ignored ({@code Seccomp: 0} in the job), so such a plan is refused, not run weaker.
 */
final class EngineRuntimes {

    static final String OCI_SECCOMP = "--oci-seccomp";
    private static final int MAX_INFO = 1 << 20;

    private EngineRuntimes() {
    }

    static void check(Engine engine, ContainerRuntime runtime) throws SandboxException {
        if (runtime == ContainerRuntime.RUNC) {
            Map<String, RuntimeInfo> runtimes = engine.call("read engine info", d -> d.infoCmd().exec()).getRuntimes();
            if (runtimes == null || !runtimes.containsKey(runtime.engineName())) {
                throw notRegistered(runtime);
            }
            return;
        }
        JsonNode entry = rawInfo(engine).path("Runtimes").path(runtime.engineName());
        if (entry.isMissingNode()) {
            throw notRegistered(runtime);
        }
        if (!hasOciSeccomp(entry.path("runtimeArgs"))) {
            throw new SandboxException(SandboxException.Kind.UNSUPPORTED, "runtime 'runsc' on this engine ignores"
                    + " the plan's seccomp profile: register it with " + OCI_SECCOMP + " in its runtimeArgs"
                    + " (see deploy/host-setup.sh)");
        }
    }

    private static SandboxException notRegistered(ContainerRuntime runtime) {
        return new SandboxException(SandboxException.Kind.UNSUPPORTED, "runtime '" + runtime.engineName()
                + "' is not registered with this Docker engine");
    }

    static boolean hasOciSeccomp(JsonNode args) {
        List<String> list = new ArrayList<>();
        args.forEach(a -> list.add(a.asText()));
        return list.stream().anyMatch(a -> a.equals(OCI_SECCOMP) || a.equals(OCI_SECCOMP + "=true")
                || a.equals("-oci-seccomp") || a.equals("-oci-seccomp=true"));
    }

    // docker-java's Info model drops runtimeArgs, so this one call reads the engine's JSON itself.
    private static JsonNode rawInfo(Engine engine) throws SandboxException {
        if (!(engine.docker() instanceof DockerClientImpl impl)) {
            throw new SandboxException(SandboxException.Kind.UNSUPPORTED, "cannot read the engine's runtime options"
                    + " through this Docker client; build it with DockerSandbox.connect");
        }
        DockerHttpClient.Request request = DockerHttpClient.Request.builder()
                .method(DockerHttpClient.Request.Method.GET).path("/v1.41/info").build();
        return engine.call("read engine info", d -> {
            try (DockerHttpClient.Response r = impl.getHttpClient().execute(request);
                 InputStream body = r.getBody()) {
                if (r.getStatusCode() != 200) {
                    throw new IllegalStateException("engine info answered HTTP " + r.getStatusCode());
                }
                return new ObjectMapper().readTree(body.readNBytes(MAX_INFO));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }
}
