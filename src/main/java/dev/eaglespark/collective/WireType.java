package dev.eaglespark.collective;

/** Element encoding of float data on the wire. Accumulation is always fp32. */
public enum WireType {
    /** 4 bytes per element; results are exact fp32 sums in the ring's fixed order. */
    FP32(4),
    /**
     * 2 bytes per element (IEEE half, round to nearest even on send). Halves the traffic; partial
     * sums are rounded at every hop, and values beyond +-65504 become infinite.
     */
    FP16(2);

    private final int bytes;

    WireType(int bytes) {
        this.bytes = bytes;
    }

    public int bytesPerElement() {
        return bytes;
    }

    /** "fp32" or "fp16", as the command line writes them. */
    public static WireType parse(String s) {
        return switch (s) {
            case "fp32" -> FP32;
            case "fp16" -> FP16;
            default -> throw new IllegalArgumentException("the wire format must be fp32 or fp16, got '" + s + "'");
        };
    }
}
