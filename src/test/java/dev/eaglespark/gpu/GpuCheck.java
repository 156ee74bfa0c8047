package dev.eaglespark.gpu;

/**
 * What the GPU checks share: they are programs, not tests (CI has no GPU), run on a GPU machine by
 * {@code jobs/gpu/gpu-checks.sh}; each prints what it measured and exits 1 past its limit.
 */
public final class GpuCheck {
    private GpuCheck() {}

    /** Prints the line and remembers a failure; {@link #exit} ends the program accordingly. */
    public static boolean report(boolean ok, String line) {
        System.out.println((ok ? "ok   " : "FAIL ") + line);
        if (!ok) {
            failed = true;
        }
        return ok;
    }

    private static boolean failed;

    public static void exit() {
        System.exit(failed ? 1 : 0);
    }
}
