package dev.cloister.sandbox;

/** Short, printable texts for messages that reach a job's owner: no control characters, bounded length. */
final class Messages {

    private static final int MAX = 300;

    private Messages() {
    }

    /** The cause's message, cleaned and cut; never its class name or stack. */
    static String brief(Throwable t) {
        String m = t == null ? null : t.getMessage();
        return m == null || m.isBlank() ? "no detail given" : printable(m.strip());
    }

    /** {@code text} with control characters escaped and cut to a few hundred characters. */
    static String printable(String text) {
        StringBuilder b = new StringBuilder(Math.min(text.length(), MAX) + 8);
        for (int i = 0; i < text.length() && b.length() < MAX; i++) {
            char c = text.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                b.append(String.format("\\x%02x", (int) c));
            } else {
                b.append(c);
            }
        }
        if (b.length() >= MAX) {
            b.setLength(MAX);
            b.append('…');
        }
        return b.toString();
    }
}
