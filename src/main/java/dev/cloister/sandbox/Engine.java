package dev.cloister.sandbox;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.exception.NotModifiedException;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * The Docker engine behind a hard deadline: every synchronous docker-java call runs on a worker and is abandoned
 * after the {@code api} timeout, whatever the transport's own timeouts are (a caller may hand in a client without
 * any).
 */
final class Engine implements AutoCloseable {

    private final DockerClient docker;
    private final Duration timeout;
    private final ExecutorService workers;

    Engine(DockerClient docker, Duration timeout) {
        this.docker = docker;
        this.timeout = timeout;
        AtomicInteger n = new AtomicInteger();
        this.workers = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "cloister-docker-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    DockerClient docker() {
        return docker;
    }

    Duration timeout() {
        return timeout;
    }

    /** A call that the engine answers with a value. */
    @FunctionalInterface
    interface Call<T> {
        T on(DockerClient docker);
    }

    /**
     * Runs {@code call} within the api timeout. "Not found", "conflict" and "not modified" are rethrown as docker-java
     * exceptions, so that callers can decide what they mean; any other failure or a timeout becomes
     * {@link SandboxException} of kind ENGINE.
     */
    <T> T call(String what, Call<T> call) throws SandboxException {
        Callable<T> task = () -> call.on(docker);
        Future<T> f = workers.submit(task);
        try {
            return f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            throw new SandboxException(SandboxException.Kind.ENGINE,
                    "the Docker engine did not answer '" + what + "' within " + timeout.toSeconds() + " s", e);
        } catch (InterruptedException e) {
            f.cancel(true);
            Thread.currentThread().interrupt();
            throw new SandboxException(SandboxException.Kind.ENGINE, "interrupted while waiting for '" + what + "'", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof NotFoundException || cause instanceof ConflictException
                    || cause instanceof NotModifiedException) {
                throw (DockerException) cause;
            }
            if (cause instanceof DockerException) {
                throw new SandboxException(SandboxException.Kind.ENGINE,
                        "the Docker engine refused '" + what + "': " + Messages.brief(cause), cause);
            }
            throw new SandboxException(SandboxException.Kind.ENGINE,
                    "the Docker engine could not be reached for '" + what + "': " + Messages.brief(cause), cause);
        }
    }

    /** Like {@link #call} for calls without a result. */
    void run(String what, Consumer<DockerClient> call) throws SandboxException {
        call(what, d -> {
            call.accept(d);
            return null;
        });
    }

    @Override
    public void close() {
        workers.shutdownNow();
    }
}
