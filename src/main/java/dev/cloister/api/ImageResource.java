package dev.cloister.api;

import dev.cloister.build.BuildException;
import dev.cloister.build.BuildRecord;
import dev.cloister.build.BuildRequest;
import dev.cloister.build.ImageBuilds;
import dev.cloister.digest.Digest;
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

    public ImageResource(ImageBuilds builds) {
        this.builds = builds;
    }

    /**
     * Builds the context in the body. Build args come as repeated {@code buildArg=NAME=VALUE}; they are audited and
     * recorded in the provenance (never pass secrets: they stay in the image's history).
     */
    @POST
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
        BuildRecord record = builds.build(body, new BuildRequest(policy, repository, tag, args), "anonymous");
        return Response.created(URI.create("/api/v1/images/" + record.manifestDigest())).entity(record).build();
    }

    @GET
    public List<BuildRecord> list() {
        return builds.all();
    }

    @GET
    @Path("{digest}")
    public BuildRecord get(@PathParam("digest") String digest) {
        return builds.find(parse(digest)).orElseThrow(ImageResource::notFound);
    }

    /** The signed provenance: a Sigstore bundle (DSSE, in-toto SLSA v1), verifiable offline with the host key. */
    @GET
    @Path("{digest}/provenance")
    public Response provenance(@PathParam("digest") String digest) {
        // The stored bytes, unchanged: the job provenance and the record name their SHA-256.
        return Response.ok(builds.provenance(parse(digest)).orElseThrow(ImageResource::notFound),
                MediaType.APPLICATION_JSON).build();
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
