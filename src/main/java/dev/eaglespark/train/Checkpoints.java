package dev.eaglespark.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eaglespark.runtime.GradMode;
import dev.eaglespark.tensors.SafeTensorsFile;
import dev.eaglespark.tensors.SafeTensorsWriter;
import dev.eaglespark.tensors.TensorDType;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileContext;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.Path;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Training checkpoints on any Hadoop file system: {@code <dir>/step-00000100/} holds
 * {@code model.safetensors} (trained weights, fp32), {@code optimizer.safetensors} (AdamW
 * moments) and {@code state.json} (step, every rank's data position, seed, settings). A checkpoint counts
 * only once its {@code _COMMITTED} marker exists, written last: renames are not atomic on S3,
 * so a crash mid-write leaves a directory without a marker, which loading ignores.
 */
public final class Checkpoints {
    private static final Logger LOG = LogManager.getLogger(Checkpoints.class);
    public static final String MARKER = "_COMMITTED";
    /** The pointer file naming the best checkpoint by validation (one line: its directory name). */
    public static final String BEST = "best";
    private static final Pattern STEP_DIR = Pattern.compile("step-(\\d{8})");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;
    private final Configuration conf;

    public Checkpoints(String dir, Configuration conf) {
        this.dir = new Path(dir);
        this.conf = conf;
    }

    /** Where one rank is in the data: its epoch and the samples of it consumed. */
    public record DataPosition(int epoch, long position) {}

    /** What a checkpoint restores besides arrays: the step and every rank's data position. */
    public record State(long step, List<DataPosition> ranks, JsonNode extra) {}

    /** The directory name of the checkpoint of update {@code step}. */
    public static String stepDir(long step) {
        return String.format("step-%08d", step);
    }

    /** Writes a checkpoint and commits it; returns its directory. */
    public Path save(State state, Map<String, NDArray> weights, AdamW optimizer) throws IOException {
        Path ck = new Path(dir, stepDir(state.step()));
        FileSystem fs = ck.getFileSystem(conf);
        if (fs.exists(new Path(ck, MARKER))) {
            throw new IOException("refusing to overwrite the committed checkpoint " + ck);
        }
        if (fs.exists(ck)) {
            fs.delete(ck, true); // an uncommitted leftover of a crashed attempt: loading ignores it
        }
        fs.mkdirs(ck);
        write(fs, new Path(ck, "model.safetensors"), tensors(weights, null));
        SafeTensorsWriter opt = tensors(optimizer.firstMoments(), "m.");
        optimizer.secondMoments().forEach((k, v) -> opt.addArray("v." + k, v));
        write(fs, new Path(ck, "optimizer.safetensors"), opt);
        ObjectNode s = JSON.createObjectNode();
        s.put("step", state.step());
        ArrayNode ranks = s.putArray("ranks");
        state.ranks().forEach(r -> ranks.addObject().put("epoch", r.epoch()).put("position", r.position()));
        s.put("optimizer_steps", optimizer.steps());
        s.set("extra", state.extra());
        try (OutputStream os = fs.create(new Path(ck, "state.json"), true)) {
            os.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(s));
        }
        try (OutputStream os = fs.create(new Path(ck, MARKER), true)) {
            os.write(new byte[0]);
        }
        return ck;
    }

    /** The newest committed checkpoint, or null. */
    public Path latest() throws IOException {
        List<Path> all = committed();
        return all.isEmpty() ? null : all.get(0);
    }

    /** The committed checkpoints, newest first. */
    public List<Path> committed() throws IOException {
        FileSystem fs = dir.getFileSystem(conf);
        List<Path> out = new ArrayList<>();
        if (!fs.exists(dir)) {
            return out;
        }
        for (FileStatus s : fs.listStatus(dir)) {
            Matcher m = STEP_DIR.matcher(s.getPath().getName());
            if (s.isDirectory() && m.matches() && fs.exists(new Path(s.getPath(), MARKER))) {
                out.add(s.getPath());
            }
        }
        out.sort(java.util.Comparator.comparing(Path::getName).reversed());
        return out;
    }

    /**
     * Moves an unreadable checkpoint out of the way (to {@code step-N.unreadable-TIME}): kept for
     * inspection, never loaded again, and its step can be written anew.
     */
    public Path setAside(Path ck) throws IOException {
        Path aside = new Path(ck.getParent(), ck.getName() + ".unreadable-" + System.currentTimeMillis());
        if (!ck.getFileSystem(conf).rename(ck, aside)) {
            throw new IOException("could not move the unreadable checkpoint " + ck + " aside");
        }
        return aside;
    }

    /**
     * The checkpoint a run starts from: the newest committed one when resuming, else none, and
     * then the directory must hold none (a fresh run would mix its checkpoints with an old
     * run's, and a retry would resume from the old run's newest).
     */
    public Path startingPoint(boolean resume) throws IOException {
        Path latest = latest();
        if (latest != null && !resume) {
            throw new IOException(dir + " already holds checkpoints (newest " + latest.getName()
                    + "): pass --resume to continue that run, or give an empty directory");
        }
        if (latest == null && resume) {
            // Resuming from nothing starts afresh (as a stage retry before the first checkpoint
            // must, and so that a scheduled job can always pass --resume), but never silently:
            // a mistyped directory shows here.
            LOG.warn("--resume: no committed checkpoint under {} ({}): starting a fresh run", dir, contents());
        }
        return latest;
    }

    /** What the checkpoint directory holds, for the message above. */
    private String contents() throws IOException {
        FileSystem fs = dir.getFileSystem(conf);
        if (!fs.exists(dir)) {
            return "the directory does not exist";
        }
        int n = fs.listStatus(dir).length;
        return n == 0 ? "the directory is empty" : n + " entries, none a committed step directory";
    }

    /** Loads weights into {@code into} (by name) and the optimizer's moments; returns the state. */
    public State load(Path ck, Map<String, NDArray> into, AdamW optimizer, NDManager scratch) throws IOException {
        return load(ck, into, optimizer, scratch, null);
    }

    /**
     * As {@link #load(Path, Map, AdamW, NDManager)}, first refusing a checkpoint of another run's
     * kind ({@code compatibility}, when given) or of other shapes, before any weight is touched.
     * A file that cannot be read fails naming its path in the checkpoint directory.
     */
    public State load(Path ck, Map<String, NDArray> into, AdamW optimizer, NDManager scratch,
                      CheckpointCompatibility compatibility) throws IOException {
        FileSystem fs = committed(ck);
        Path statePath = new Path(ck, "state.json");
        JsonNode s;
        try (InputStream in = fs.open(statePath)) {
            s = JSON.readTree(in);
        } catch (IOException e) {
            throw new IOException(statePath + " cannot be read: " + e.getMessage(), e);
        }
        if (s == null || !s.path("step").isNumber() || !s.path("ranks").isArray()
                || !s.path("optimizer_steps").isNumber()) {
            throw new IOException(statePath + " cannot be read: no step, ranks or optimizer_steps");
        }
        if (compatibility != null) {
            compatibility.require(ck, s.get("extra"));
        }
        Map<String, NDArray> weights = readWeights(fs, ck, into, scratch);
        Path optPath = new Path(ck, "optimizer.safetensors");
        Map<String, NDArray> opt = read(fs, optPath, scratch);
        Map<String, NDArray> m = new LinkedHashMap<>();
        Map<String, NDArray> v = new LinkedHashMap<>();
        opt.forEach((k, a) -> (k.startsWith("m.") ? m : v).put(k, a));
        if (!m.isEmpty() || !v.isEmpty()) { // none before the first update
            CheckpointCompatibility.requireShapes(optPath, into, m, "m.");
            CheckpointCompatibility.requireShapes(optPath, into, v, "v.");
        }
        set(into, weights);
        Map<String, NDArray> firstMoments = new LinkedHashMap<>();
        Map<String, NDArray> secondMoments = new LinkedHashMap<>();
        m.forEach((k, a) -> firstMoments.put(k.substring(2), a));
        v.forEach((k, a) -> secondMoments.put(k.substring(2), a));
        optimizer.restore(firstMoments, secondMoments, s.get("optimizer_steps").asLong());
        List<DataPosition> ranks = new ArrayList<>();
        s.get("ranks").forEach(r -> ranks.add(new DataPosition(r.get("epoch").asInt(), r.get("position").asLong())));
        return new State(s.get("step").asLong(), ranks, s.get("extra"));
    }

    /** Loads a committed checkpoint's weights into {@code into} (by name), refusing other shapes. */
    public void loadWeights(Path ck, Map<String, NDArray> into, NDManager scratch) throws IOException {
        FileSystem fs = committed(ck);
        set(into, readWeights(fs, ck, into, scratch));
    }

    /** The trained weights of a committed checkpoint (fp32, by name), made in {@code m}. */
    public Map<String, NDArray> weights(Path ck, NDManager m) throws IOException {
        return read(committed(ck), new Path(ck, "model.safetensors"), m);
    }

    /** The checkpoint's file system, once its commit marker is found. */
    private FileSystem committed(Path ck) throws IOException {
        FileSystem fs = ck.getFileSystem(conf);
        if (!fs.exists(new Path(ck, MARKER))) {
            throw new IOException(ck + " is not a committed checkpoint (no " + MARKER + ")");
        }
        return fs;
    }

    /** The checkpoint's weights, each of the shape of its namesake in {@code into} (else refused). */
    private Map<String, NDArray> readWeights(FileSystem fs, Path ck, Map<String, NDArray> into, NDManager scratch)
            throws IOException {
        Path modelPath = new Path(ck, "model.safetensors");
        Map<String, NDArray> weights = read(fs, modelPath, scratch);
        CheckpointCompatibility.requireShapes(modelPath, into, weights, "");
        return weights;
    }

    private static void set(Map<String, NDArray> into, Map<String, NDArray> weights) {
        try (GradMode off = GradMode.off()) {
            for (Map.Entry<String, NDArray> e : into.entrySet()) {
                e.getValue().set(weights.get(e.getKey()).toByteBuffer());
            }
        }
    }

    /**
     * Points {@link #BEST} at committed checkpoint {@code ck}: the name goes to a temporary file
     * first, which then replaces the pointer in one rename (atomic on HDFS and local disks; on S3,
     * which has no rename, a copy that readers never see half-written). The checkpoints'
     * state.json files hold the same choice, so a lost pointer is never the only record.
     */
    public void markBest(Path ck) throws IOException {
        FileSystem fs = dir.getFileSystem(conf);
        Path qualified = fs.makeQualified(dir);
        Path tmp = new Path(qualified, BEST + ".tmp");
        try (OutputStream os = fs.create(tmp, true)) {
            os.write((ck.getName() + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        FileContext.getFileContext(qualified.toUri(), conf).rename(tmp, new Path(qualified, BEST),
                Options.Rename.OVERWRITE);
    }

    /** The checkpoint {@link #BEST} points at, or null when there is none. */
    public Path best() throws IOException {
        Path pointer = new Path(dir, BEST);
        FileSystem fs = pointer.getFileSystem(conf);
        if (!fs.exists(pointer)) {
            return null;
        }
        try (InputStream in = fs.open(pointer)) {
            return new Path(dir, new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).strip());
        }
    }

    private static SafeTensorsWriter tensors(Map<String, NDArray> arrays, String prefix) {
        SafeTensorsWriter w = new SafeTensorsWriter();
        arrays.forEach((k, v) -> w.addArray(prefix == null ? k : prefix + k, v));
        return w;
    }

    private static void write(FileSystem fs, Path p, SafeTensorsWriter w) throws IOException {
        try (OutputStream os = fs.create(p, true)) {
            w.writeTo(new java.io.BufferedOutputStream(os, 1 << 20));
        }
    }

    /** Reads a safetensors file of the checkpoint (through a local copy: the reader memory-maps). */
    private static Map<String, NDArray> read(FileSystem fs, Path p, NDManager m) throws IOException {
        java.nio.file.Path local = Files.createTempFile("eaglespark-ckpt", ".safetensors");
        try {
            fs.copyToLocalFile(false, p, new Path(local.toUri()), true);
            Map<String, NDArray> out = new LinkedHashMap<>();
            try (SafeTensorsFile f = SafeTensorsFile.open(local)) {
                f.tensors().forEach((name, info) -> {
                    if (info.dtype() != TensorDType.F32) {
                        throw new IllegalStateException(name + " is " + info.dtype() + ", expected F32");
                    }
                    out.put(name, m.create(f.readFloats(name), new Shape(info.shape())));
                });
            }
            return out;
        } catch (IOException | RuntimeException e) {
            // Named by the user's path, not the local copy's.
            String why = String.valueOf(e.getMessage()).replace(local.toString(), p.toString());
            throw new IOException(p + " cannot be read: " + why, e);
        } finally {
            Files.deleteIfExists(local);
        }
    }
}
