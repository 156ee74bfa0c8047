package dev.eaglespark.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eaglespark.runtime.ScriptModule;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

/**
 * The host's cost of a decode step at shapes so narrow that the host's work is most of the time
 * (on the CPU by default, fp32; on a GPU in fp16, its kernels launched by that work): the decode path as it was (one TorchScript call per layer, the
 * rotary table and attention bias made on the host, the head and arg max as DJL ops) against
 * the whole step as one call ({@link DecodeScript}), at batch 1, 8 and 32 after 64-token
 * prompts. Prints, per path and batch, the ATen ops one step runs (top-level ops in PyTorch's
 * profiler trace: each is one dispatch by the interpreter or by DJL, and on a GPU at least one
 * kernel launch) and the median ms per step; and what one op costs the host: a scripted loop of
 * additions on a one-element tensor (the interpreter's cost per op, with ATen's dispatch) and the
 * same additions as DJL calls (a JNI crossing each). Besides wall time, the calling thread's CPU
 * time (with OMP_NUM_THREADS=1 ATen computes on it too), which a busy machine inflates less. A program, not a test (CI runs no timings);
 * from the repository root:
 * java -cp target/test-classes:target/classes:$(cat cp.txt) dev.eaglespark.model.DecodeStepCost [CONFIG [cpu|gpu]]
 * (CONFIG defaults to conf/shapes/llama3.1-8b-narrow.json: 32 layers of Llama-3.1-8B's layout,
 * hidden size 256); -Dtrace.dir=DIR keeps each profiled step's trace there.
 */
public final class DecodeStepCost {
    private static final int PROMPT = 64;
    private static final int STEPS = 24;
    private static final int WARMUP = 4;
    private static final java.lang.management.ThreadMXBean THREADS =
            java.lang.management.ManagementFactory.getThreadMXBean();

    private DecodeStepCost() {}

    public static void main(String[] args) throws Exception {
        Path config = Path.of(args.length > 0 ? args[0] : "conf/shapes/llama3.1-8b-narrow.json");
        Device device = args.length > 1 && args[1].equals("gpu") ? Device.gpu() : Device.cpu();
        TargetConfig cfg = TargetConfig.parse(new ObjectMapper().readTree(Files.readString(config)), config.toString());
        perOp(device);
        try (TargetModel model = TargetModel.random(cfg, device, TargetModel.defaultDtype(device))) {
            for (int b : new int[] {1, 8, 32}) {
                long[][] prompts = new long[b][];
                Random r = new Random(b);
                for (int i = 0; i < b; i++) {
                    prompts[i] = r.longs(PROMPT, 0, cfg.vocabSize()).toArray();
                }
                report("per-layer calls", b, new PerLayer(model, prompts));
                report("one call", b, new OneCall(model, prompts));
            }
        }
    }

    /** One decode path: {@link #step} runs the next step of every row. */
    private interface DecodePath extends AutoCloseable {
        void step();

        @Override
        void close();
    }

    private static void report(String name, int b, DecodePath path) throws Exception {
        try (path) {
            double[] ms = new double[STEPS];
            double[] cpu = new double[STEPS];
            for (int s = -WARMUP; s < STEPS; s++) {
                long t = System.nanoTime();
                long c = THREADS.getCurrentThreadCpuTime();
                path.step();
                if (s >= 0) {
                    ms[s] = (System.nanoTime() - t) / 1e6;
                    cpu[s] = (THREADS.getCurrentThreadCpuTime() - c) / 1e6;
                }
            }
            Path trace = Files.createTempFile("decode-step", ".json");
            int ops;
            try {
                JniUtils.startProfile(false, false, false); // host ops only: what the interpreter dispatches
                path.step();
                JniUtils.stopProfile(trace.toString());
                ops = topLevelOps(trace);
            } finally {
                String keep = System.getProperty("trace.dir"); // -Dtrace.dir=DIR keeps the traces
                if (keep != null) {
                    Files.move(trace, Path.of(keep, name.replace(' ', '-') + "-b" + b + ".json"),
                            java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                } else {
                    Files.delete(trace);
                }
            }
            Arrays.sort(ms);
            Arrays.sort(cpu);
            System.out.printf("%-16s batch %2d: %4d ops per step, %.2f ms per step, %.2f ms of the thread's CPU time "
                    + "(medians of %d)%n", name, b, ops, ms[STEPS / 2], cpu[STEPS / 2], STEPS);
        }
    }

    /**
     * Ops in a chrome trace of PyTorch's profiler: ATen and prim ops not nested in another, and
     * events with no ops inside (on a GPU, fused groups); not the script's method calls, which
     * the trace records around the ops they run.
     */
    static int topLevelOps(Path trace) throws Exception {
        List<String> names = new ArrayList<>();
        List<double[]> spans = new ArrayList<>();
        JsonNode root = new ObjectMapper().readTree(trace.toFile());
        for (JsonNode e : root.isArray() ? root : root.get("traceEvents")) {
            if ("X".equals(e.path("ph").asText())) {
                double ts = e.get("ts").asDouble();
                spans.add(new double[] {ts, ts + e.path("dur").asDouble(), names.size()});
                names.add(e.path("name").asText());
            }
        }
        spans.sort(Comparator.<double[]>comparingDouble(s -> s[0]).thenComparingDouble(s -> -s[1]));
        boolean[] hasChild = new boolean[names.size()];
        boolean[] inOp = new boolean[names.size()]; // nested in an ATen or prim op
        java.util.ArrayDeque<double[]> open = new java.util.ArrayDeque<>();
        for (double[] s : spans) {
            while (!open.isEmpty() && open.peek()[1] <= s[0]) {
                open.pop();
            }
            int i = (int) s[2];
            for (double[] outer : open) {
                inOp[i] |= names.get((int) outer[2]).contains("::");
            }
            if (!open.isEmpty()) {
                hasChild[(int) open.peek()[2]] = true;
            }
            open.push(s);
        }
        int ops = 0;
        for (int i = 0; i < names.size(); i++) {
            boolean op = names.get(i).contains("::") || !hasChild[i];
            ops += op && !inOp[i] ? 1 : 0;
        }
        return ops;
    }

    /** The interpreter's cost per op against DJL's, on a one-element tensor. */
    private static void perOp(Device device) {
        int n = 20_000;
        ScriptModule loop = ScriptModule.of("OpCostLoop", """
                  def forward(self: __torch__.OpCostLoop, x: Tensor) -> Tensor:
                    for i in range(%d):
                      x = torch.add(x, 1.)
                    return x
                """.formatted(n));
        try (NDManager m = NDManager.newBaseManager(device)) {
            NDArray x = m.zeros(new Shape(1));
            double script = Double.MAX_VALUE;
            double scriptCpu = Double.MAX_VALUE;
            double djl = Double.MAX_VALUE;
            for (int round = 0; round < 5; round++) {
                long t = System.nanoTime();
                long c = THREADS.getCurrentThreadCpuTime();
                loop.forward(new NDList(x)).singletonOrThrow().toFloatArray(); // waits for a GPU
                script = Math.min(script, (System.nanoTime() - t) / 1e3 / n);
                scriptCpu = Math.min(scriptCpu, (THREADS.getCurrentThreadCpuTime() - c) / 1e3 / n);
                t = System.nanoTime();
                try (NDManager scope = m.newSubManager()) {
                    NDArray y = x;
                    for (int i = 0; i < n / 10; i++) {
                        y = y.add(1f);
                    }
                    y.toFloatArray();
                }
                djl = Math.min(djl, (System.nanoTime() - t) / 1e3 / (n / 10));
            }
            System.out.printf("one op (add, one element): %.2f us in a TorchScript loop (%.2f us of CPU time), %.2f us "
                    + "as a DJL call (best of 5 rounds)%n", script, scriptCpu, djl);
        }
    }

    /** The decode step as it was: a TorchScript call per layer after a {@link KvCache}, the rest DJL ops. */
    private static final class PerLayer implements DecodePath {
        private final TargetModel model;
        private final KvCache cache;
        private final long[] lengths;
        private final int promptSlots;
        private long[] next;
        private int step;

        PerLayer(TargetModel model, long[][] prompts) {
            this.model = model;
            this.cache = new KvCache(model.device(), model.config().numLayers());
            int b = prompts.length;
            this.lengths = new long[b];
            this.promptSlots = PROMPT;
            long[] ids = new long[b * PROMPT];
            for (int r = 0; r < b; r++) {
                lengths[r] = PROMPT;
                System.arraycopy(prompts[r], 0, ids, r * PROMPT, PROMPT);
            }
            try (NDManager scope = model.weightsManager().newSubManager()) {
                NDList cs = model.rope().table(scope, 0, PROMPT, model.dtype());
                NDArray bias = Attention.causalBias(scope, lengths, PROMPT, model.dtype());
                NDArray h = model.run(scope, scope.create(ids, new Shape(b, PROMPT)), cs, bias, cache,
                        ForwardRequest.lastHiddenOnly()).lastHidden();
                next = model.logitsOf(h.get(":, -1")).argMax(-1).toLongArray();
            }
        }

        @Override
        public void step() {
            int b = lengths.length;
            try (NDManager scope = model.weightsManager().newSubManager()) {
                long[] positions = new long[b];
                Arrays.fill(positions, PROMPT + step);
                NDList cs = model.rope().tableAt(scope, positions, model.dtype());
                int slots = promptSlots + step + 1;
                float[] bias = new float[b * slots]; // every slot visible: prompts without padding
                NDArray biasArray = scope.create(bias, new Shape(b, 1, 1, 1, slots)).toType(model.dtype(), false);
                NDArray h = model.run(scope, scope.create(next, new Shape(b, 1)), cs, biasArray, cache,
                        ForwardRequest.lastHiddenOnly()).lastHidden();
                next = model.logitsOf(h.squeeze(1)).argMax(-1).toLongArray();
            }
            step++;
        }

        @Override
        public void close() {
            cache.close();
        }
    }

    /** The whole step as one call over slot buffers. */
    private static final class OneCall implements DecodePath {
        private final DecodeScript script;
        private final SlotCache cache;
        private final long[] pos;
        private long[] next;

        OneCall(TargetModel model, long[][] prompts) {
            int b = prompts.length;
            this.script = model.decodeScript();
            this.cache = new SlotCache(model.device(), model.config(), model.dtype(), b, PROMPT + WARMUP + STEPS + 2);
            cache.ensure(cache.limit());
            long[] ids = new long[b * PROMPT];
            long[] lengths = new long[b];
            long[] slots = new long[b];
            for (int r = 0; r < b; r++) {
                System.arraycopy(prompts[r], 0, ids, r * PROMPT, PROMPT);
                lengths[r] = PROMPT;
                slots[r] = r;
            }
            next = script.prefill(ids, PROMPT, lengths, slots, null, false, cache);
            pos = lengths.clone();
        }

        @Override
        public void step() {
            next = script.step(next, pos, DecodeScript.attended(pos[0] + 1, cache), null, false, cache);
            for (int r = 0; r < pos.length; r++) {
                pos[r]++;
            }
        }

        @Override
        public void close() {
            cache.close();
        }
    }
}
