package dev.cloister.api;

import dev.cloister.auth.Caller;
import dev.cloister.auth.Roles;
import dev.cloister.federation.Federation;
import dev.cloister.federation.FederationException;
import dev.cloister.federation.FederationService;
import dev.cloister.job.JobSpecReader;
import dev.cloister.job.MalformedSpecException;
import dev.cloister.policy.AdmissionException;
import dev.cloister.sandbox.SandboxException;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.StreamingOutput;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.eclipse.microprofile.jwt.JsonWebToken;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/** Federated training: submit, list, inspect rounds and sites, read a site's log, cancel, download the records. */
@Path("/api/v1/federations")
@Produces(MediaType.APPLICATION_JSON)
public class FederationResource {

    /** What a download holds: the signed round records, the global weights of every round, the sealed model. */
    private static final List<String> ARTIFACT_DIRS = List.of("rounds", "globals", "model");

    private final FederationService federations;
    private final JobSpecReader reader;
    private final JsonWebToken token;

    public FederationResource(FederationService federations, JobSpecReader reader, JsonWebToken token) {
        this.federations = federations;
        this.reader = reader;
        this.token = token;
    }

    /** A federation spans teams: an administrator starts it; each site runs under its own team's policy and data. */
    @POST
    @RolesAllowed(Roles.ADMIN)
    @Consumes({MediaType.APPLICATION_JSON, JobResource.YAML, "application/x-yaml", "text/yaml"})
    public Response submit(InputStream body, @HeaderParam("Content-Type") String contentType)
            throws MalformedSpecException, AdmissionException, SandboxException {
        JobSpecReader.Format format = contentType != null && contentType.toLowerCase(Locale.ROOT).contains("yaml")
                ? JobSpecReader.Format.YAML : JobSpecReader.Format.JSON;
        Federation f = federations.submit(reader.readCapped(body), format, Caller.of(token).actor());
        return Response.created(URI.create("/api/v1/federations/" + f.id())).entity(FederationView.of(f)).build();
    }

    @GET
    @RolesAllowed({Roles.ADMIN, Roles.REVIEWER, Roles.SUBMITTER, Roles.DEPLOYER})
    public List<FederationView> list() {
        Caller caller = Caller.of(token);
        return federations.list().stream().filter(f -> visibleTo(caller, f)).map(FederationView::of).toList();
    }

    @GET
    @Path("{id}")
    @RolesAllowed({Roles.ADMIN, Roles.REVIEWER, Roles.SUBMITTER, Roles.DEPLOYER})
    public FederationView get(@PathParam("id") String id) throws FederationException {
        return FederationView.of(visible(id));
    }

    @POST
    @Path("{id}/cancel")
    @RolesAllowed(Roles.ADMIN)
    public FederationView cancel(@PathParam("id") String id) throws FederationException {
        return FederationView.of(federations.cancel(id, Caller.of(token).actor()));
    }

    /** One site's log across rounds, for that site's team only (see {@code SiteLogAccess}). */
    @GET
    @Path("{id}/sites/{site}/log")
    @Produces(MediaType.TEXT_PLAIN)
    @RolesAllowed(Roles.SUBMITTER)
    public String siteLog(@PathParam("id") String id, @PathParam("site") String site) throws FederationException {
        visible(id);
        return federations.siteLog(id, site, Caller.of(token).team());
    }

    /**
     * The signed round records, every round's global weights and the sealed model, as a tar: once the model is
     * sealed (SEALED, PACKAGED, PUBLISHED, or FAILED only in publishing; it stays verifiable).
     */
    @GET
    @Path("{id}/artifacts")
    @Produces("application/x-tar")
    @RolesAllowed({Roles.ADMIN, Roles.SUBMITTER, Roles.DEPLOYER})
    public Response artifacts(@PathParam("id") String id) throws FederationException {
        Federation f = visible(id);
        if (f.modelDigest() == null) {
            throw new FederationException(FederationException.Kind.CONFLICT, "federation " + id + " is " + f.state()
                    + ": only sealed federations have artifacts");
        }
        java.nio.file.Path dir = federations.directory(id);
        StreamingOutput body = out -> tar(f, dir, out);
        return Response.ok(body).header("Content-Disposition", "attachment; filename=\"" + f.id() + ".tar\"").build();
    }

    /**
     * The federation {@code id} if the caller may see it: administrators and reviewers see every one, anyone else
     * only those with a site (or the evaluation) of their team. Otherwise "not found", exactly like an unknown id.
     */
    private Federation visible(String id) throws FederationException {
        Federation f = federations.find(id);
        if (!visibleTo(Caller.of(token), f)) {
            throw new FederationException(FederationException.Kind.NOT_FOUND, "no federation " + id);
        }
        return f;
    }

    private static boolean visibleTo(Caller caller, Federation f) {
        return caller.has(Roles.ADMIN) || caller.has(Roles.REVIEWER)
                || f.sites().stream().anyMatch(s -> caller.actsFor(s.team()));
    }

    private static void tar(Federation f, java.nio.file.Path dir, OutputStream out) throws IOException {
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            for (String sub : ARTIFACT_DIRS) {
                java.nio.file.Path root = dir.resolve(sub);
                if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
                    continue;
                }
                List<java.nio.file.Path> files;
                try (Stream<java.nio.file.Path> walk = Files.walk(root)) {
                    files = walk.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)
                            && !p.getFileName().toString().startsWith(".")).sorted().toList();
                }
                for (java.nio.file.Path file : files) {
                    TarArchiveEntry entry = new TarArchiveEntry(f.id() + "/" + dir.relativize(file));
                    entry.setSize(Files.size(file));
                    entry.setMode(0644);
                    entry.setModTime(f.finishedAt() == null ? 0 : f.finishedAt().toEpochMilli());
                    tar.putArchiveEntry(entry);
                    try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
                        in.transferTo(tar);
                    }
                    tar.closeArchiveEntry();
                }
            }
            tar.finish();
        }
    }
}
