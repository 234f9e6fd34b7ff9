package dev.cloister.api;

import dev.cloister.auth.Caller;
import dev.cloister.auth.Roles;
import org.eclipse.microprofile.jwt.JsonWebToken;

import dev.cloister.build.BuildException;
import dev.cloister.build.BuildRecord;
import dev.cloister.build.BuildRequest;
import dev.cloister.build.ImageBuilds;
import dev.cloister.digest.Digest;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.BadRequestException;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import java.io.InputStream;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Training images: built from an uploaded context (a tar of the Dockerfile and its files) under a policy, pushed to
 * Cloister's registry by digest, with signed SLSA provenance.
 */
@Path("/api/v1/images")
@Produces(MediaType.APPLICATION_JSON)
public class ImageResource {

    static final String TAR = "application/x-tar";

    private final ImageBuilds builds;
    private final JsonWebToken token;

    public ImageResource(ImageBuilds builds, JsonWebToken token) {
        this.builds = builds;
        this.token = token;
    }

    /**
     * Builds the context in the body. Build args come as repeated {@code buildArg=NAME=VALUE}; they are audited and
     * recorded in the provenance (never pass secrets: they stay in the image's history).
     */
    @POST
    @RolesAllowed(Roles.SUBMITTER)
    @Consumes(TAR)
    public Response build(InputStream body, @QueryParam("policy") String policy,
                          @QueryParam("repository") String repository, @QueryParam("tag") String tag,
                          @QueryParam("buildArg") List<String> buildArgs) throws BuildException {
        Map<String, String> args = new LinkedHashMap<>();
        for (String arg : buildArgs == null ? List.<String>of() : buildArgs) {
            int eq = arg.indexOf('=');
            // A 400 through the problem mapper, which audits it (the build service never saw the request).
            if (eq <= 0) {
                throw new BadRequestException("buildArg: a build arg is NAME=VALUE");
            }
            if (args.put(arg.substring(0, eq), arg.substring(eq + 1)) != null) {
                throw new BadRequestException("buildArg: " + arg.substring(0, eq) + " is given twice");
            }
        }
        Caller caller = Caller.of(token);
        BuildRecord record = builds.build(body, new BuildRequest(caller.team(), policy, repository, tag, args),
                caller.actor());
        return Response.created(URI.create("/api/v1/images/" + record.manifestDigest())).entity(record).build();
    }

    /** Builds the caller's team made; reviewers see every team's. */
    @GET
    @RolesAllowed({Roles.SUBMITTER, Roles.DEPLOYER, Roles.REVIEWER})
    public List<BuildRecord> list() {
        Caller caller = Caller.of(token);
        return builds.all().stream().filter(r -> visibleTo(caller, r)).toList();
    }

    @GET
    @Path("{digest}")
    @RolesAllowed({Roles.SUBMITTER, Roles.DEPLOYER, Roles.REVIEWER})
    public BuildRecord get(@PathParam("digest") String digest) {
        return visible(digest);
    }

    /** The signed provenance: a Sigstore bundle (DSSE, in-toto SLSA v1), verifiable offline with the host key. */
    @GET
    @Path("{digest}/provenance")
    @RolesAllowed({Roles.SUBMITTER, Roles.DEPLOYER, Roles.REVIEWER})
    public Response provenance(@PathParam("digest") String digest) {
        visible(digest);
        // The stored bytes, unchanged: the job provenance and the record name their SHA-256.
        return Response.ok(builds.provenance(parse(digest)).orElseThrow(ImageResource::notFound),
                MediaType.APPLICATION_JSON).build();
    }

    // Another team's build reads exactly like one that does not exist.
    private BuildRecord visible(String digest) {
        BuildRecord r = builds.find(parse(digest)).orElseThrow(ImageResource::notFound);
        if (!visibleTo(Caller.of(token), r)) {
            throw notFound();
        }
        return r;
    }

    private static boolean visibleTo(Caller caller, BuildRecord r) {
        return caller.has(Roles.REVIEWER) || caller.actsFor(r.team());
    }

    private static Digest parse(String digest) {
        try {
            return Digest.parse(digest);
        } catch (IllegalArgumentException e) {
            throw notFound();
        }
    }

    private static NotFoundException notFound() {
        return new NotFoundException("no image built by Cloister with that digest");
    }
}
