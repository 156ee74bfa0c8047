package dev.eaglespark.model;

import dev.eaglespark.tensors.Bf16;
import dev.eaglespark.tensors.Fp16;

/** The precision rope's inverse frequencies are rounded to before use (see TargetConfig). */
public enum RopePrecision {
    FP32, BF16, FP16;

    public float round(float f) {
        return switch (this) {
            case FP32 -> f;
            case BF16 -> Bf16.toFloat(Bf16.fromFloat(f));
            case FP16 -> Fp16.toFloat(Fp16.fromFloat(f));
        };
    }
}
