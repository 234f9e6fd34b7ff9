package dev.cloister.dataset;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A manifest in the format {@code sha256sum} writes and {@code sha256sum --strict -c} reads: one line per file,
 * {@code <64 hex> SP (SP|*) <path>}, LF endings. Read strictly: a malformed line, a duplicate, an absolute path or a
 * {@code ..} segment refuses the whole manifest; escaped names (lines starting with a backslash) are not supported.
 */
final class Sha256Manifest {

    private static final Pattern LINE = Pattern.compile("([0-9a-fA-F]{64}) [ *](.+)");

    private Sha256Manifest() {
    }

    /** Returns each listed path (relative, {@code ./} removed) with its lowercase hex digest, in listed order. */
    static Map<String, String> parse(byte[] bytes) throws DatasetException {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw problem("is not UTF-8 text");
        }
        Map<String, String> listed = new LinkedHashMap<>();
        String[] lines = text.split("\n", -1);
        // A final LF leaves one empty string after it; any other empty line is malformed.
        int count = lines[lines.length - 1].isEmpty() ? lines.length - 1 : lines.length;
        for (int i = 0; i < count; i++) {
            String line = lines[i];
            int number = i + 1;
            if (line.endsWith("\r")) {
                throw problem("line " + number + " ends with CR: write the manifest with LF line endings");
            }
            if (line.startsWith("\\")) {
                throw problem("line " + number + " uses an escaped file name, which Cloister does not accept");
            }
            Matcher m = LINE.matcher(line);
            if (!m.matches()) {
                throw problem("line " + number + " is not '<sha256 hex>  <path>' as sha256sum writes it");
            }
            String path = m.group(2);
            while (path.startsWith("./")) {
                path = path.substring(2);
            }
            if (path.isEmpty() || path.startsWith("/") || path.endsWith("/")) {
                throw problem("line " + number + " does not name a file inside the dataset");
            }
            for (String segment : path.split("/", -1)) {
                if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                    throw problem("line " + number + " does not name a file inside the dataset (empty, '.' or '..' in the path)");
                }
            }
            if (listed.put(path, m.group(1).toLowerCase(Locale.ROOT)) != null) {
                throw problem("line " + number + " lists '" + path + "' a second time");
            }
        }
        return listed;
    }

    private static DatasetException problem(String reason) {
        return SigstoreCheck.refusal(SignedContent.MANIFEST + " " + reason);
    }
}
