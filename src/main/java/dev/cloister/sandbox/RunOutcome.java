package dev.cloister.sandbox;

/** How a container's run ended, as the engine reported it. */
public enum RunOutcome {
    EXITED,
    OOM_KILLED,
    TIMED_OUT,
    CANCELLED
}
