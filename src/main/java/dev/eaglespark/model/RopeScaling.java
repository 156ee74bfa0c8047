package dev.eaglespark.model;

/**
 * RoPE frequency settings. Types: {@code default}, {@code linear} (positions divided by factor)
 * and {@code llama3} (Llama 3.1's band-wise scaling). Others are refused at config load.
 */
public record RopeScaling(String type, double theta, double factor, double lowFreqFactor,
                          double highFreqFactor, int originalMaxPositions) {

    public static RopeScaling plain(double theta) {
        return new RopeScaling("default", theta, 1, 0, 0, 0);
    }
}
