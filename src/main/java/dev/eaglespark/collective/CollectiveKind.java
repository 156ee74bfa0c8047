package dev.eaglespark.collective;

/**
 * Which collective the ranks of a training stage average their gradients with: NCCL on the GPUs,
 * the TCP ring through host memory, or the first when every rank can use it ({@code --collective}).
 */
public enum CollectiveKind {
    /** NCCL when every rank runs on a GPU and loads the same NCCL, else the ring. */
    AUTO,
    /** NCCL, all-reducing on the devices; a rank that cannot use it fails the stage. */
    NCCL,
    /** The TCP ring through host memory ({@link RingCollective}). */
    RING;

    /** "auto", "nccl" or "ring", as the command line writes them. */
    public static CollectiveKind parse(String s) {
        return switch (s) {
            case "auto" -> AUTO;
            case "nccl" -> NCCL;
            case "ring" -> RING;
            default -> throw new IllegalArgumentException("the collective must be auto, nccl or ring, got '" + s + "'");
        };
    }

    @Override
    public String toString() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
