package dev.eaglespark.tensors;

import java.util.Arrays;

/** One tensor's entry in a safetensors header: byte offsets are relative to the data section. */
public record TensorInfo(String name, TensorDType dtype, long[] shape, long begin, long end) {

    public long numel() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    public long byteLength() {
        return end - begin;
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }
}
