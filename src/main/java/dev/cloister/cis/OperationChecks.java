package dev.cloister.cis;

import java.util.regex.Pattern;

import static dev.cloister.cis.CisItem.HEALTH_CHECK;
import static dev.cloister.cis.CisItem.LATEST_IMAGE;
import static dev.cloister.cis.CisItem.SSHD;
import static dev.cloister.cis.CisItem.SWARM_MODE;

/** How the container is run and operated: swarm, its process, health checks, its image (5.1, 5.7, 5.27, 5.28). */
final class OperationChecks {

    private static final Pattern SSHD_WORD = Pattern.compile("(^|[^A-Za-z0-9_-])sshd([^A-Za-z0-9_-]|$)");
    private static final Pattern CONTENT_ADDRESS = Pattern.compile("(^|@)sha256:[0-9a-f]{64}$");

    private OperationChecks() {
    }

    static CisResult swarm(ContainerFacts f) {
        String state = "engine Swarm.LocalNodeState=" + Quote.text(f.engine().swarmState());
        return f.engine().swarmState().equals("inactive") ? SWARM_MODE.pass(state + ": swarm mode is off")
                : SWARM_MODE.fail(state + ": Cloister runs no swarm services, so swarm mode is not needed");
    }

    // Inspect shows the container's main process only; listing its children would need an exec (ps), which Cloister
    // never does in a job. So: the main process must not be sshd, and the evidence says what was not looked at.
    static CisResult sshd(ContainerFacts f) {
        String process = "Path+Args=" + Quote.command(f.command());
        if (f.command().stream().anyMatch(a -> SSHD_WORD.matcher(a).find())) {
            return SSHD.fail(process + ": the container's command runs or mentions sshd");
        }
        return SSHD.pass(process + ": the main process is not sshd (processes it starts are not listed: that would"
                + " take an exec into the job)" + ("none".equals(f.namespaces().network())
                ? "; NetworkMode=none leaves nothing an sshd could listen on" : ""));
    }

    static CisResult healthCheck(ContainerFacts f) {
        boolean none = f.healthcheck().isEmpty() || f.healthcheck().get(0).equals("NONE");
        if (!none) {
            return HEALTH_CHECK.pass("Config.Healthcheck.Test=" + Quote.list(f.healthcheck()));
        }
        // Decided: a job is a batch process, not a service. The item's purpose (find and replace an unhealthy,
        // still-running service) is met by Cloister, which watches the job's state, ends it at its deadline and
        // records exit code and OOM kill; a HEALTHCHECK would make the engine exec a probe inside the sandbox.
        return HEALTH_CHECK.notApplicable("Config.Healthcheck=" + (f.healthcheck().isEmpty() ? "none"
                : Quote.list(f.healthcheck())) + ": a training job is a batch process that serves nothing to probe;"
                + " Cloister watches its state, stops it at the plan's deadline and records its exit code and OOM kill."
                + " A HEALTHCHECK would make the engine exec a probe inside the sandbox");
    }

    static CisResult latestImage(ContainerFacts f) {
        String image = "Config.Image=" + Quote.text(f.image()) + ", Image=" + Quote.text(f.imageId());
        if (CONTENT_ADDRESS.matcher(f.image()).find()) {
            return LATEST_IMAGE.notApplicable(image + ": created from a content address, not a tag. The item guards"
                    + " against running a stale cached copy of a tag; an image ID or digest names exactly one content,"
                    + " the one the policy admitted and the provenance records, and Cloister never pulls");
        }
        return LATEST_IMAGE.fail(image + ": created from a mutable reference, so which content ran depends on the"
                + " local cache; pin the image by digest");
    }
}
