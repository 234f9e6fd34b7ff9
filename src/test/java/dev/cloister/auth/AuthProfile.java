package dev.cloister.auth;

import io.quarkus.test.junit.QuarkusTestProfile;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A service of its own for the authentication tests: its own data dir (so its issuer and host keys, jobs and audit
 * log are its own, and rotating its key disturbs no other test), datasets {@code alpha} and {@code beta}, the
 * repository's policies with teams {@code test} and {@code other}, low rate limits, and HTTPS with a self-signed
 * certificate generated here (Bouncy Castle), beside plain HTTP.
 */
public final class AuthProfile implements QuarkusTestProfile {

    static final Path BASE = Path.of("target/cloister-test-auth").toAbsolutePath();
    static final Path CERT = BASE.resolve("tls/cert.pem");
    static final int LIMIT_BURST = 3;
    // Quarkus may ask for the overrides more than once: the state is wiped only before the first start.
    private static boolean prepared;

    @Override
    public Map<String, String> getConfigOverrides() {
        try {
            prepare();
        } catch (Exception e) {
            throw new IllegalStateException("cannot prepare the auth test service: " + e.getMessage(), e);
        }
        return Map.ofEntries(
                Map.entry("cloister.data-dir", BASE.resolve("state").toString()),
                Map.entry("quarkus.datasource.jdbc.url",
                        "jdbc:h2:file:" + BASE.resolve("state/db/cloister") + ";WRITE_DELAY=0"),
                Map.entry("cloister.datasets.root", BASE.resolve("datasets").toString()),
                Map.entry("cloister.policies.dir", BASE.resolve("policies").toString()),
                Map.entry("cloister.limits.submissions-per-minute", "2"),
                Map.entry("cloister.limits.submission-burst", String.valueOf(LIMIT_BURST)),
                Map.entry("cloister.limits.log-streams-per-minute", "2"),
                Map.entry("cloister.limits.log-stream-burst", String.valueOf(LIMIT_BURST)),
                Map.entry("quarkus.http.ssl.certificate.files", CERT.toString()),
                Map.entry("quarkus.http.ssl.certificate.key-files", BASE.resolve("tls/key.pem").toString()),
                Map.entry("quarkus.http.test-ssl-port", "0"));
    }

    private static synchronized void prepare() throws Exception {
        if (prepared) {
            return;
        }
        prepared = true;
        if (Files.exists(BASE)) {
            try (Stream<Path> s = Files.walk(BASE)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        Path policies = Files.createDirectories(BASE.resolve("policies"));
        for (String name : new String[]{"restricted.yaml", "strict.yaml"}) {
            String yaml = Files.readString(Path.of("policies", name));
            if (!yaml.contains("teams: [examples, test]")) {
                throw new IllegalStateException("policies/" + name + " no longer names teams [examples, test]");
            }
            // Team other may use restricted (the default policy), not strict.
            Files.writeString(policies.resolve(name), yaml.replace("teams: [examples, test]", name.equals("strict.yaml")
                    ? "teams: [examples, test]" : "teams: [examples, test, other]").replace("allowed:\n    - breast-cancer",
                    "allowed:\n    - breast-cancer\n    - alpha\n    - beta"));
        }
        for (String name : new String[]{"alpha", "beta"}) {
            Path dir = Files.createDirectories(BASE.resolve("datasets").resolve(name));
            Files.writeString(dir.resolve("data.csv"), "x,y\n1," + name + "\n");
        }
        writeCertificate();
    }

    private static void writeCertificate() throws Exception {
        KeyPair pair = IssuerKey.generate();
        Instant now = Instant.now();
        X500Name name = new X500Name("CN=localhost");
        JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(name, BigInteger.valueOf(now.toEpochMilli()),
                Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(Duration.ofDays(1))), name,
                pair.getPublic());
        builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[]{
                new GeneralName(GeneralName.dNSName, "localhost"), new GeneralName(GeneralName.iPAddress, "127.0.0.1")}));
        X509Certificate cert = new JcaX509CertificateConverter().getCertificate(builder.build(
                new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate())));
        Files.createDirectories(CERT.getParent());
        Files.writeString(CERT, pem("CERTIFICATE", cert.getEncoded()));
        Files.writeString(BASE.resolve("tls/key.pem"), pem("PRIVATE KEY", pair.getPrivate().getEncoded()));
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(der) + "\n-----END " + type + "-----\n";
    }

}
