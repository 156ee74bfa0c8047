package dev.eaglespark.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.IValue;
import dev.eaglespark.demo.Stories15M;
import dev.eaglespark.runtime.ScriptModule;
import dev.eaglespark.runtime.ScriptTemplate;
import dev.eaglespark.tensors.SafeTensorsFile;
import dev.eaglespark.testutil.Fixtures;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The device's pick ({@link DeviceSampling}) against the host sampler ({@link Sampling#pick}),
 * whose rule it follows: each row draws u from its own stream, the host sampler from an identical
 * stream, so the two pick the same token unless fp32 sums move a boundary past u. Frequencies of
 * the device's picks are checked against the exact probabilities within 5 standard deviations
 * (200,000 seeded draws on small vocabularies; 2,000 per top-p on stories15M's real logits, for the tokens
 * of at least 1% of the nucleus's mass), the picks
 * against the host's on at least 99.9% / 99.5% of draws, and top-p below 1 never leaves the
 * host's nucleus. Deterministic: fixed seeds.
 */
class DeviceSamplingTest {
    private static final int DRAWS = 200_000;

    @Test
    void topPOneDrawsFromTheWholeSoftmaxAsTheHostDoes() {
        float[] logits = {2.0f, 1.0f, 0.5f, -1.0f, 0.0f, 1.5f};
        Sampling s = new Sampling(0.7, 1.0);
        long[] device = pickRepeated(logits, s, DRAWS, 11);
        assertFrequencies(softmax(logits, 0.7), device);
        assertAgrees(host(logits, s, DRAWS, 11), device, 0.999);
    }

    @Test
    void topPBelowOneDrawsFromTheNucleusOnly() {
        // probabilities 0.5, 0.3, 0.15, 0.05: top-p 0.75 keeps the first two, renormalised
        float[] logits = {(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.15), (float) Math.log(0.05)};
        Sampling s = new Sampling(1.0, 0.75);
        long[] device = pickRepeated(logits, s, DRAWS, 12);
        assertFrequencies(new double[] {0.625, 0.375, 0, 0}, device);
        assertAgrees(host(logits, s, DRAWS, 12), device, 0.999);
    }

    @Test
    void realLogitsStayInTheHostsNucleus() throws Exception {
        float[] logits;
        try (TargetModel model = TargetModel.load(Stories15M.ensure(), Device.cpu());
             SafeTensorsFile golden = SafeTensorsFile.open(Fixtures.path("stories15M/golden.safetensors"));
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray all = model.forward(m, List.of(golden.readLongs("p0.input_ids")), ForwardRequest.logitsOnly()).logits();
            logits = all.get("0, -1").toFloatArray();
        }
        for (double topP : new double[] {0.9, 0.5}) {
            Sampling s = new Sampling(1.0, topP);
            double max = Double.NEGATIVE_INFINITY;
            for (float l : logits) {
                max = Math.max(max, l);
            }
            double[] p = new double[logits.length];
            double sum = 0;
            for (int i = 0; i < p.length; i++) {
                p[i] = Math.exp(logits[i] - max);
                sum += p[i];
            }
            int[] nucleus = Sampling.nucleus(p, topP * sum);
            Set<Long> inside = new HashSet<>();
            double kept = 0;
            for (int id : nucleus) {
                inside.add((long) id);
                kept += p[id];
            }
            int draws = 2_000;
            long[] device = new long[draws];
            for (int at = 0; at < draws; at += 500) { // 500 rows of 32,000 logits per call
                System.arraycopy(pickRepeated(logits, s, 500, 100 + at), 0, device, at, 500);
            }
            long[] host = new long[draws];
            for (int at = 0; at < draws; at += 500) {
                System.arraycopy(host(logits, s, 500, 100 + at), 0, host, at, 500);
            }
            for (long id : device) {
                assertTrue(inside.contains(id), "top-p " + topP + ": token " + id + " outside the nucleus");
            }
            double[] expected = new double[logits.length];
            for (int id : nucleus) {
                expected[id] = p[id] >= 0.01 * kept ? p[id] / kept : Double.NaN; // rare tokens: membership only
            }
            assertFrequencies(expected, device);
            assertAgrees(host, device, 0.995);
        }
    }

    @Test
    void eachRowFollowsItsOwnSettingsWhateverSharesTheCall() {
        float[] logits = {0f, 3f, 1f, 3f, 2.5f};
        Sampling[] rows = {Sampling.GREEDY, new Sampling(1.0, 1.0), new Sampling(1.0, 0.6), new Sampling(0.5, 1e-9)};
        long[] together = pick(new float[][] {logits, logits, logits, logits}, rows, 3);
        for (int r = 0; r < rows.length; r++) {
            // alone, with the same u: a draw from the row's own stream (seed 3 + r below)
            long alone = pick(new float[][] {logits}, new Sampling[] {rows[r]}, 3 + r)[0];
            assertEquals(alone, together[r], "row " + r);
        }
        assertEquals(1, together[0], "greedy: the arg max, ties to the lower id");
        assertEquals(1, together[3], "a nucleus of one token: the most likely, ties to the lower id");
    }

    /** {@code n} picks of one row of logits, each with u from stream {@code seed} in turn. */
    private static long[] pickRepeated(float[] logits, Sampling s, int n, long seed) {
        float[][] rows = new float[n][];
        Arrays.fill(rows, logits);
        Sampling[] settings = new Sampling[n];
        Arrays.fill(settings, s);
        SplittableRandom random = new SplittableRandom(seed);
        float[] sampling = new float[n * DeviceSampling.COLUMNS];
        for (int r = 0; r < n; r++) {
            DeviceSampling.row(sampling, r, s, random);
        }
        return call(rows, sampling, s.topP() < 1);
    }

    /** One pick per row, row r drawing from stream {@code seed + r}. */
    private static long[] pick(float[][] logits, Sampling[] settings, long seed) {
        float[] sampling = new float[logits.length * DeviceSampling.COLUMNS];
        boolean nucleus = false;
        for (int r = 0; r < logits.length; r++) {
            DeviceSampling.row(sampling, r, settings[r], new SplittableRandom(seed + r));
            nucleus |= !settings[r].greedy() && settings[r].topP() < 1;
        }
        return call(logits, sampling, nucleus);
    }

    private static long[] call(float[][] logits, float[] sampling, boolean nucleus) {
        int v = logits[0].length;
        float[] flat = new float[logits.length * v];
        for (int r = 0; r < logits.length; r++) {
            System.arraycopy(logits[r], 0, flat, r * v, v);
        }
        ScriptModule module = ScriptModule.of("DevicePickTest", """
                  def forward(self: __torch__.DevicePickTest, logits: Tensor, sampling: Tensor, sample: bool,
                      nucleus: bool) -> Tensor:
                    return self.pick(logits, sampling, sample, nucleus)
                """ + ScriptTemplate.methods("DevicePickTest", java.util.Map.of(), ScriptTemplate.COMMENTS,
                List.of(ScriptTemplate.of("model/pick"))));
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray l = m.create(flat, new Shape(logits.length, v));
            NDArray s = m.create(sampling, new Shape(logits.length, DeviceSampling.COLUMNS));
            IValue[] in = {IValue.from((PtNDArray) l), IValue.from((PtNDArray) s), IValue.from(true),
                    IValue.from(nucleus)};
            try (IValue out = module.runValues(l, "forward", in)) {
                return out.toTensor((PtNDManager) m).toLongArray();
            } finally {
                Arrays.stream(in).forEach(IValue::close);
            }
        }
    }

    /** The host sampler's {@code n} picks, drawing from an identical stream. */
    private static long[] host(float[] logits, Sampling s, int n, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long[] picks = new long[n];
        for (int i = 0; i < n; i++) {
            picks[i] = s.pick(logits, random);
        }
        return picks;
    }

    private static void assertAgrees(long[] host, long[] device, double atLeast) {
        int same = 0;
        for (int i = 0; i < host.length; i++) {
            same += host[i] == device[i] ? 1 : 0;
        }
        assertTrue(same >= atLeast * host.length, same + " of " + host.length + " picks as the host's");
    }

    private static void assertFrequencies(double[] expected, long[] picks) {
        int[] counts = new int[expected.length];
        for (long p : picks) {
            counts[(int) p]++;
        }
        for (int i = 0; i < expected.length; i++) {
            if (Double.isNaN(expected[i])) {
                continue;
            }
            double sd = Math.sqrt(expected[i] * (1 - expected[i]) / picks.length);
            assertEquals(expected[i], counts[i] / (double) picks.length, 5 * sd + 1e-12, "token " + i);
        }
    }

    private static double[] softmax(float[] logits, double t) {
        double[] e = new double[logits.length];
        Arrays.setAll(e, i -> Math.exp(logits[i] / t));
        double sum = Arrays.stream(e).sum();
        return Arrays.stream(e).map(x -> x / sum).toArray();
    }
}
