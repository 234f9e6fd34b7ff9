package dev.cloister.cli;

import dev.cloister.auth.IssuerKey;
import dev.cloister.auth.Roles;
import dev.cloister.auth.TokenIssuer;
import dev.cloister.policy.DurationText;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * Issues API tokens for administrators, from the host's issuer key file: whoever can read that file (root on the
 * host, 0600) can issue tokens; the API never can.
 */
@Command(name = "token", description = "Issue API tokens (administrators, on the host: needs the issuer key file).",
        subcommands = {TokenCommand.Issue.class})
final class TokenCommand {

    @Command(name = "issue", description = "Print a new token (JWT, ES256) on standard output; what it grants goes "
            + "to standard error. Use it with `cloister login --token-stdin`.")
    static final class Issue implements Callable<Integer> {

        @Option(names = "--team", required = true, description = "the team the token acts for")
        String team;

        @Option(names = "--role", required = true, split = ",", description = "one or more of: submitter, reviewer, "
                + "deployer, admin (repeat or separate with commas)")
        List<String> roles;

        @Option(names = "--ttl", defaultValue = "8h", description = "lifetime: a number with s, m, h or d, at most "
                + "30d (default ${DEFAULT-VALUE})")
        String ttl;

        @Option(names = "--subject", description = "who the token is for, as the audit log names it "
                + "(default: <team>-<roles>)")
        String subject;

        @Option(names = "--issuer-key", description = "the issuer key file (default: <data dir>/auth/issuer-key.pem)")
        Path issuerKey;

        @Option(names = "--data-dir", defaultValue = "${env:CLOISTER_DATA_DIR:-/var/lib/cloister}",
                description = "the service's data directory (env CLOISTER_DATA_DIR; default ${DEFAULT-VALUE})")
        Path dataDir;

        @Option(names = "--issuer", defaultValue = TokenIssuer.DEFAULT_ISSUER,
                description = "iss, as the service expects it (cloister.auth.issuer; default ${DEFAULT-VALUE})")
        String issuer;

        @Option(names = "--audience", defaultValue = TokenIssuer.DEFAULT_AUDIENCE,
                description = "aud, as the service expects it (cloister.auth.audience; default ${DEFAULT-VALUE})")
        String audience;

        @Override
        public Integer call() throws Exception {
            List<String> wanted = roles.stream().map(String::trim).distinct().toList();
            if (!Roles.ALL.containsAll(wanted)) {
                throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
                        "--role: must be some of " + Roles.ALL + ", not " + wanted);
            }
            Duration lifetime;
            try {
                lifetime = ttl.trim().endsWith("d") ? Duration.ofDays(Long.parseLong(ttl.trim().replace("d", "")))
                        : DurationText.parse(ttl);
            } catch (IllegalArgumentException e) {
                throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
                        "--ttl: a number with s, m, h or d (e.g. 8h, 7d)");
            }
            Path keyFile = issuerKey != null ? issuerKey : dataDir.resolve("auth").resolve("issuer-key.pem");
            IssuerKey key = IssuerKey.open(keyFile);
            TokenIssuer.Issued t;
            try {
                t = new TokenIssuer(key, issuer, audience, Clock.systemUTC()).issue(
                        subject != null ? subject : team + "-" + String.join("-", wanted), team, wanted, lifetime);
            } catch (IllegalArgumentException e) {
                throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this), e.getMessage());
            }
            System.out.println(t.token());
            System.err.println("issued " + t + ", signed by issuer key " + key.keyId().substring(0, 12));
            return 0;
        }
    }
}
