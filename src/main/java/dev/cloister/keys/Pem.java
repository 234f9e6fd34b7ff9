package dev.cloister.keys;

import java.util.Base64;

/** Writes PEM blocks in the one layout Cloister uses: 64-column base64 lines, LF endings, trailing LF. */
final class Pem {

    private Pem() {
    }

    static String encode(String type, byte[] der) {
        String body = Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der);
        StringBuilder out = new StringBuilder(body.length() + 80);
        out.append("-----BEGIN ").append(type).append("-----\n");
        if (!body.isEmpty()) {
            out.append(body).append('\n');
        }
        out.append("-----END ").append(type).append("-----\n");
        return out.toString();
    }
}
