package dev.eaglespark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.eaglespark.runtime.CudaGraph;
import dev.eaglespark.runtime.CudaStreams;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * {@link DecodeScript}'s decode step over one {@link SlotCache} replayed as CUDA graphs
 * ({@link CudaGraph}): the step's thousands of ops cost the host one launch, where the
 * TorchScript interpreter spends a few microseconds on each (docs/BENCHMARKS.md). One graph per
 * shape: the rows, which the caller rounds up to a bucket ({@link #rows}: free slots among them
 * compute and are ignored), the attended positions as the caller rounds them, and whether rows
 * sample; graphs share one memory pool and the least recently
 * used ones are dropped past {@link #MOST}. A graph reads its rows' ids, positions and sampling
 * inputs from tensors of its own, filled before each replay, and writes the picked ids into the
 * tensor its capture returned; its keys and values go to the cache's buffers, so every graph is
 * dropped when the cache grows (new buffers). The tokens are the interpreter's when both run the
 * same kernels: bit for bit with {@code -Deaglespark.jit-fuser=false} (GpuDecodeGraphCheck). With
 * the fuser on, the interpreter runs a shape op by op until profiled, then fused, and fp16 rounds
 * differently in each; the graphs differ from it as much as it differs from itself.
 *
 * <p>Before a shape's first capture in the process the step runs twice as usual (TorchScript's optimizing
 * executor profiles, then compiles its fused kernels; neither may happen during a capture), and
 * other threads wait for those runs before capturing the shape; they write the same keys and
 * values as the replay does. Should a capture fail, the
 * thread moves to a fresh stream and the step stays with the interpreter from then on.
 */
final class DecodeGraphs implements AutoCloseable {
    private static final Logger LOG = LogManager.getLogger(DecodeGraphs.class);
    /** Graphs kept; each holds its picked ids and a few small inputs (the pool is shared). */
    static final int MOST = 64;
    /** Eager steps of a shape before its first capture. */
    private static final int WARMUP = 2;

    /** What a graph is specialised on. */
    private record Shape4(int rows, int end, boolean sample, boolean nucleus) {}

    /** A captured step: its input tensors, the ids it writes, the graph. */
    private static final class Step implements AutoCloseable {
        final NDManager scope;
        final NDArray idsPos; // [2, rows] int64
        final NDArray sampling; // [rows, 3] fp32
        CudaGraph graph;
        NDArray picked;

        Step(NDManager scope, NDArray idsPos, NDArray sampling) {
            this.scope = scope;
            this.idsPos = idsPos;
            this.sampling = sampling;
        }

        @Override
        public void close() {
            scope.close(); // the picked ids first: their memory goes back to the pool before the graph's share
            if (graph != null) {
                graph.close();
            }
        }
    }

    private final TargetModel model;
    private final DecodeScript script;
    private final SlotCache cache;
    private final NDManager manager;
    private final Map<Shape4, Step> steps = new LinkedHashMap<>(16, 0.75f, true);
    private CudaGraph.Pool pool;
    private long capacity = -1;
    private boolean failed;
    private long captures;
    private long captureNanos;

    /** Graphs of {@code script}'s step over {@code cache}, whose buffers must be on a GPU. */
    DecodeGraphs(TargetModel model, DecodeScript script, SlotCache cache) {
        this.model = model;
        this.script = script;
        this.cache = cache;
        this.manager = model.weightsManager().newSubManager();
    }

    /**
     * Whether decode steps on {@code model}'s device can be graphs: a GPU, libtorch's graph class
     * reachable, and not turned off with {@code -Deaglespark.cuda-graphs=false}.
     */
    static boolean usable(TargetModel model) {
        return model.device().isGpu() && !"false".equals(System.getProperty("eaglespark.cuda-graphs"))
                && CudaGraph.available();
    }

    /** {@link DecodeScript#step}, as a graph's replay. */
    long[] step(long[] ids, long[] pos, int end, float[] sampling, boolean nucleus) {
        if (failed || !CudaGraph.available()) { // available: no capture of another thread failed
            return script.step(ids, pos, end, sampling, nucleus, cache);
        }
        if (cache.capacity() != capacity) {
            drop();
            capacity = cache.capacity();
        }
        Shape4 shape = new Shape4(ids.length, end, sampling != null, nucleus);
        Step step = steps.get(shape);
        if (step == null) {
            step = newStep(shape);
            fill(step, shape, ids, pos, sampling);
            long started = System.nanoTime();
            boolean captured = capture(step, shape);
            captureNanos += System.nanoTime() - started;
            if (!captured) {
                return script.step(ids, pos, end, sampling, nucleus, cache);
            }
        } else {
            fill(step, shape, ids, pos, sampling);
        }
        try {
            step.graph.replay();
        } catch (IllegalStateException e) { // another thread's capture failed since the check above
            LOG.warn("decode steps stay with the TorchScript interpreter: {}", e.getMessage());
            failed = true;
            return script.step(ids, pos, end, sampling, nucleus, cache);
        }
        return step.picked.toLongArray();
    }

    /** Graphs captured so far (replaced ones included). */
    long captures() {
        return captures;
    }

    /** Time spent capturing, the warm-up steps before a shape's first capture included. */
    long captureNanos() {
        return captureNanos;
    }

    /**
     * The rows a step runs for {@code rows} rows on a GPU, graphs or not: 1 to 8 as they are, then
     * multiples of 8, then of 32 from 128 on (fewer graphs where a row more costs least), at most
     * the cache's slots.
     */
    static int rows(int rows, int slots) {
        int bucket = rows <= 8 ? rows : rows <= 128 ? (rows + 7) / 8 * 8 : (rows + 31) / 32 * 32;
        return Math.min(bucket, slots);
    }

    private Step newStep(Shape4 shape) {
        NDManager scope = manager.newSubManager();
        return new Step(scope, scope.zeros(new Shape(2, shape.rows()), DataType.INT64),
                scope.zeros(new Shape(shape.rows(), DeviceSampling.COLUMNS), DataType.FLOAT32));
    }

    /** The rows' inputs into the step's tensors; the padding rows feed token 0 at position 0, greedy. */
    private void fill(Step step, Shape4 shape, long[] ids, long[] pos, float[] sampling) {
        int rows = shape.rows();
        long[] both = new long[2 * rows];
        System.arraycopy(ids, 0, both, 0, rows);
        System.arraycopy(pos, 0, both, rows, rows);
        try (NDManager tmp = manager.newSubManager()) {
            script.copyInto(step.idsPos, model.upload(tmp, both, new Shape(2, rows)));
            if (sampling != null) {
                script.copyInto(step.sampling, model.upload(tmp, sampling, new Shape(rows, DeviceSampling.COLUMNS)));
            }
        }
    }

    /** Warms the shape up where needed and captures its step; false when the capture failed. */
    private boolean capture(Step step, Shape4 shape) {
        NDArray ids = step.idsPos.get(0); // views: the graph reads what fill writes
        NDArray pos = step.idsPos.get(1);
        script.warmUpOnce(List.of(shape, cache.slots(), capacity), () -> {
            for (int i = 0; i < WARMUP; i++) {
                try (NDManager tmp = manager.newSubManager()) {
                    script.stepOnDevice(tmp, ids, pos, shape.end(), step.sampling, shape.sample(), shape.nucleus(),
                            cache);
                }
            }
        });
        if (CudaStreams.isDefault(ids)) { // libtorch captures only on another stream (ContinuousBatcher switches)
            LOG.warn("decode steps stay with the TorchScript interpreter: this thread computes on the default stream");
            failed = true;
            step.close();
            return false;
        }
        if (pool == null) {
            pool = CudaGraph.newPool();
        }
        try {
            CudaGraph.Captured<NDArray> c = CudaGraph.capture(pool, () -> script.stepOnDevice(step.scope, ids, pos,
                    shape.end(), step.sampling, shape.sample(), shape.nucleus(), cache));
            step.graph = c.graph();
            step.picked = c.result();
        } catch (RuntimeException e) {
            // The stream stays capturing (its end would abort the process): leave it and the pool behind.
            LOG.warn("a decode step could not be captured as a CUDA graph; the interpreter runs it from now on", e);
            failed = true;
            pool = null;
            CudaStreams.computeOnFreshStream(ids);
            return false;
        }
        captures++;
        steps.put(shape, step);
        if (steps.size() > MOST) {
            Iterator<Step> oldest = steps.values().iterator();
            oldest.next().close();
            oldest.remove();
        }
        return true;
    }

    /** Drops every graph (the cache's buffers changed); the next capture takes a new pool. */
    private void drop() {
        steps.values().forEach(Step::close);
        steps.clear();
        pool = null;
    }

    @Override
    public void close() {
        drop();
        manager.close();
    }
}
