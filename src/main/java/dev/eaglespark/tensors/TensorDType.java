package dev.eaglespark.tensors;

import ai.djl.ndarray.types.DataType;

/** The safetensors dtypes this project reads and writes, with the DJL type each lands in. */
public enum TensorDType {
    F64(8, DataType.FLOAT64),
    F32(4, DataType.FLOAT32),
    F16(2, DataType.FLOAT16),
    /** DJL has no bfloat16: BF16 tensors are widened to FLOAT32 in Java on load. */
    BF16(2, DataType.FLOAT32),
    I64(8, DataType.INT64),
    I32(4, DataType.INT32),
    I8(1, DataType.INT8),
    U8(1, DataType.UINT8),
    BOOL(1, DataType.BOOLEAN);

    private final int bytes;
    private final DataType djlType;

    TensorDType(int bytes, DataType djlType) {
        this.bytes = bytes;
        this.djlType = djlType;
    }

    public int bytes() {
        return bytes;
    }

    /** The DJL type a tensor of this dtype is loaded as. */
    public DataType djlType() {
        return djlType;
    }

    public boolean isFloating() {
        return this == F64 || this == F32 || this == F16 || this == BF16;
    }

    public static TensorDType parse(String name, String where) {
        try {
            return valueOf(name);
        } catch (IllegalArgumentException e) {
            throw new TensorFormatException(where + ": unsupported dtype " + name
                    + " (supported: F64, F32, F16, BF16, I64, I32, I8, U8, BOOL)");
        }
    }

    /** The safetensors dtype for a DJL type (BF16 is written explicitly, never inferred). */
    public static TensorDType of(DataType type) {
        switch (type) {
            case FLOAT64: return F64;
            case FLOAT32: return F32;
            case FLOAT16: return F16;
            case INT64: return I64;
            case INT32: return I32;
            case INT8: return I8;
            case UINT8: return U8;
            case BOOLEAN: return BOOL;
            default: throw new IllegalArgumentException("no safetensors dtype for " + type);
        }
    }
}
