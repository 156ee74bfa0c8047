package dev.eaglespark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.eaglespark.tensors.SafeTensorsFile;
import dev.eaglespark.tensors.TensorDecoding;
import dev.eaglespark.tensors.TensorInfo;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Turns checkpoint tensors into NDArrays of the compute dtype on the manager's device. Tensors
 * are read in row windows of at most 256 MB, so one weight of any size never needs a Java
 * buffer over 2 GB, and BF16 is widened to fp32 window by window.
 */
public final class WeightLoader implements WeightSource {
    private static final long WINDOW_BYTES = 256L << 20;

    private final CheckpointFiles files;
    private final NDManager manager;
    private final DataType computeType;

    public WeightLoader(CheckpointFiles files, NDManager manager, DataType computeType) {
        this.files = files;
        this.manager = manager;
        this.computeType = computeType;
    }

    @Override
    public boolean has(String name) {
        return files.contains(name);
    }

    /** Loads {@code name}, checking it has exactly {@code expected} shape. */
    @Override
    public NDArray load(String name, long... expected) {
        TensorInfo info = files.info(name);
        if (!Arrays.equals(info.shape(), expected)) {
            throw new ModelLoadException(files.dir() + ": weight " + name + " has shape " + info.shapeString()
                    + ", config expects " + Arrays.toString(expected));
        }
        if (!info.dtype().isFloating()) {
            throw new ModelLoadException(files.dir() + ": weight " + name + " has dtype " + info.dtype()
                    + ", expected F32, F16 or BF16");
        }
        SafeTensorsFile file = files.fileOf(name);
        long rowElems = expected.length == 0 ? 1 : info.numel() / Math.max(1, expected[0]);
        long rowBytes = Math.max(1, rowElems * info.dtype().bytes());
        long rows = expected.length == 0 ? 1 : expected[0];
        long rowsPerWindow = Math.max(1, WINDOW_BYTES / rowBytes);
        NDList parts = new NDList();
        try {
            for (long r = 0; r < rows; r += rowsPerWindow) {
                long n = Math.min(rowsPerWindow, rows - r);
                ByteBuffer raw = file.map(info, r * rowBytes, Math.toIntExact(n * rowBytes));
                ByteBuffer djl = TensorDecoding.toDjlBytes(info.dtype(), raw);
                long[] shape = expected.clone();
                if (shape.length > 0) {
                    shape[0] = n;
                }
                NDArray part = manager.create(djl, new Shape(shape), info.dtype().djlType());
                parts.add(part.getDataType() == computeType ? part : castAndClose(part));
            }
            if (parts.size() == 1) {
                return parts.get(0);
            }
            NDArray whole = NDArrays.concat(parts, 0);
            parts.close();
            return whole;
        } catch (RuntimeException e) {
            parts.close();
            throw e;
        }
    }

    private NDArray castAndClose(NDArray part) {
        NDArray cast = part.toType(computeType, false);
        part.close();
        return cast;
    }
}
