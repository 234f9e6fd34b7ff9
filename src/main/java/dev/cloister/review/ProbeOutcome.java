package dev.cloister.review;

/**
 * One probe's verdict, as {@code deploy/probes/probe.py} prints it.
 *
 * @param probe       the probe's name
 * @param outcome     {@code blocked}, {@code allowed}, {@code not-applicable} or {@code error}
 * @param errno       the errno the blocked move got, when there was one
 * @param detail      what the probe saw
 * @param seconds     how long the probe took
 * @param synthesized true when the probe left no verdict line and Cloister judged it from how the job ended (a bomb
 *                    that got the whole sandbox killed at its limit)
 */
public record ProbeOutcome(String probe, String outcome, Integer errno, String detail, double seconds,
                           boolean synthesized) {

    public boolean allowed() {
        return outcome.equals("allowed");
    }
}
