package dev.eaglespark.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * An output directory that a stage replaces as a whole without ever destroying what it did not
 * write. Before any work: the output must not overlap an input, and an existing output must be
 * empty or a previous output of the same stage (its {@value #MARKER} lists what it wrote; any
 * other entry is foreign and the stage refuses). The stage writes into {@link #staging()} and
 * {@link #publish()} makes that the output only once it is complete; a failed run deletes its
 * staging and leaves the previous output as it was.
 *
 * <p>Publishing depends on the store. Where renaming a directory is atomic (local, HDFS):
 * staging is a hidden sibling {@code .NAME.staging-ID}, published by renaming the previous
 * output aside, the staging into place, then deleting the previous one (a crash between the
 * two renames is undone by the next run). On object stores (s3a, gs), where a rename is a copy
 * of every file, the output is versioned: each run writes {@code OUTPUT/v-ID/} and publishes by
 * writing the one-line pointer {@value #POINTER} (a single PUT, atomic for readers), then
 * deletes older versions. Readers resolve the pointer with {@link #current}.
 */
public final class OutputPublisher implements AutoCloseable {
    private static final Logger LOG = LogManager.getLogger(OutputPublisher.class);
    /** What a published output holds about itself: the stage and the entries it wrote. */
    public static final String MARKER = "_EAGLESPARK_OUTPUT";
    /** On object stores: names the complete version of the output. */
    public static final String POINTER = "_CURRENT";
    private static final Set<String> OBJECT_STORES = Set.of("s3a", "s3", "s3n", "gs");
    private static final Pattern VERSION = Pattern.compile("v-\\d{8}T\\d{6}Z-[0-9a-f]{8}");
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
            .withZone(ZoneOffset.UTC);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String stage;
    private final String option;
    private final Path output;
    private final FileSystem fs;
    private final boolean versioned;
    private final String id;
    private final Path staging;
    private boolean published;

    private OutputPublisher(String stage, String option, Path output, FileSystem fs) {
        this.stage = stage;
        this.option = option;
        this.output = output;
        this.fs = fs;
        this.versioned = OBJECT_STORES.contains(output.toUri().getScheme());
        byte[] random = new byte[4];
        new SecureRandom().nextBytes(random);
        this.id = STAMP.format(Instant.now()) + "-" + HexFormat.of().formatHex(random);
        this.staging = versioned ? new Path(output, "v-" + id)
                : new Path(output.getParent(), "." + output.getName() + ".staging-" + id);
    }

    /**
     * Checks {@code output} before the stage does any work and picks its staging place.
     *
     * @param option the option that named the output, for messages ({@code --output}, {@code --export})
     * @param inputs everything the stage reads (paths or globs; nulls are skipped)
     */
    public static OutputPublisher prepare(String stage, String option, String output, List<String> inputs,
                                          Configuration conf) throws IOException {
        Path out = PathOverlap.qualify(output, conf);
        if (out.getParent() == null) {
            throw new IOException(stage + ": " + option + " " + output + " is the root of its file system: give a"
                    + " directory of its own");
        }
        for (String in : inputs) {
            if (in == null) {
                continue;
            }
            for (Path p : PathOverlap.inputPlaces(in, conf)) {
                String why = PathOverlap.overlap(out, p);
                if (why != null) {
                    throw new IOException(stage + ": " + option + " " + out + " " + why + "; an output must not"
                            + " overlap what the stage reads (nothing was written)");
                }
            }
        }
        OutputPublisher p = new OutputPublisher(stage, option, out, out.getFileSystem(conf));
        p.restoreInterruptedPublish();
        p.requireNothingForeign();
        if (!p.versioned) {
            p.fs.mkdirs(out.getParent());
        }
        return p;
    }

    /** Where the stage writes (absent until the stage creates it). */
    public Path staging() {
        return staging;
    }

    /** The output as the user will read it (qualified). */
    public Path output() {
        return output;
    }

    /** Makes the staged output the output, replacing the previous one only now. */
    public void publish() throws IOException {
        if (!fs.exists(staging)) {
            throw new IOException(stage + ": nothing was written to " + staging);
        }
        writeMarker();
        if (versioned) {
            try (OutputStream os = fs.create(new Path(output, POINTER), true)) {
                os.write((staging.getName() + "\n").getBytes(StandardCharsets.UTF_8));
            }
            for (FileStatus s : fs.listStatus(output)) {
                String name = s.getPath().getName();
                if (VERSION.matcher(name).matches() && !name.equals(staging.getName())) {
                    fs.delete(s.getPath(), true);
                }
            }
        } else {
            Path previous = null;
            if (fs.exists(output)) {
                previous = sibling("previous");
                if (!fs.rename(output, previous)) {
                    throw new IOException(stage + ": could not move the previous output " + output + " aside");
                }
            }
            if (!fs.rename(staging, output)) {
                if (previous != null) {
                    fs.rename(previous, output);
                }
                throw new IOException(stage + ": could not move " + staging + " to " + output
                        + "; the previous output is left as it was");
            }
            if (previous != null) {
                fs.delete(previous, true);
            }
        }
        published = true;
        LOG.info("{}: published {}", stage, versioned ? new Path(output, staging.getName()) : output);
    }

    /** Deletes the staging of a run that did not publish (the previous output stays). */
    @Override
    public void close() {
        if (published) {
            return;
        }
        try {
            if (fs.exists(staging)) {
                fs.delete(staging, true);
                LOG.warn("{}: the run did not finish; its staging {} was deleted and {} left as it was", stage,
                        staging, output);
            }
        } catch (IOException e) {
            LOG.warn("{}: could not delete the staging {}: {}", stage, staging, e.toString());
        }
    }

    /**
     * The directory that holds an output's files: {@code dir} itself, or on object stores the
     * version its {@value #POINTER} names.
     */
    public static String current(String dir, Configuration conf) throws IOException {
        Path p = new Path(dir);
        FileSystem fs = p.getFileSystem(conf);
        Path pointer = new Path(p, POINTER);
        if (!fs.exists(pointer)) {
            return dir;
        }
        String version;
        try (InputStream in = fs.open(pointer)) {
            version = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
        }
        if (!VERSION.matcher(version).matches()) {
            throw new IOException(pointer + " names no version of the output: '" + version + "'");
        }
        return new Path(p, version).toString();
    }

    /** A file of an output ({@code DIR/name}), through the output's pointer where it has one. */
    public static String currentFile(String file, Configuration conf) throws IOException {
        Path f = new Path(file);
        if (f.getParent() == null || f.getFileSystem(conf).exists(f)) {
            return file;
        }
        return new Path(current(f.getParent().toString(), conf), f.getName()).toString();
    }

    private Path sibling(String kind) {
        return new Path(output.getParent(), "." + output.getName() + "." + kind + "-" + id);
    }

    /** A crash between publishing's two renames leaves the previous output aside: put it back. */
    private void restoreInterruptedPublish() throws IOException {
        if (versioned || fs.exists(output) || !fs.exists(output.getParent())) {
            return;
        }
        String prefix = "." + output.getName() + ".previous-";
        for (FileStatus s : fs.listStatus(output.getParent())) {
            if (s.getPath().getName().startsWith(prefix)) {
                if (fs.rename(s.getPath(), output)) {
                    LOG.warn("{}: {} was moved aside by a run that died while publishing; restored", stage, output);
                }
                return;
            }
        }
    }

    private void requireNothingForeign() throws IOException {
        if (!fs.exists(output)) {
            return;
        }
        if (!fs.getFileStatus(output).isDirectory()) {
            throw new IOException(stage + ": " + option + " " + output + " is a file; refusing to replace it");
        }
        FileStatus[] entries = fs.listStatus(output);
        if (entries.length == 0) {
            return;
        }
        Set<String> own = versioned ? ownVersions(entries) : ownEntries();
        List<String> foreign = new ArrayList<>();
        for (FileStatus s : entries) {
            String name = s.getPath().getName();
            if (!own.contains(name)) {
                foreign.add(name + (s.isDirectory() ? "/" : ""));
            }
        }
        if (!foreign.isEmpty()) {
            foreign.sort(null);
            throw new IOException(stage + ": " + option + " " + output + " holds " + foreign.size()
                    + " entr" + (foreign.size() == 1 ? "y" : "ies") + " that no previous " + stage + " run wrote ("
                    + String.join(", ", foreign.subList(0, Math.min(5, foreign.size())))
                    + (foreign.size() > 5 ? ", ..." : "") + "); refusing to replace it: move them away or choose"
                    + " another directory (nothing was written)");
        }
    }

    /** The entries a previous run of this stage wrote, from its marker (none without one). */
    private Set<String> ownEntries() throws IOException {
        Set<String> own = new HashSet<>();
        JsonNode marker = readMarker(output);
        if (marker == null) {
            return own;
        }
        own.add(MARKER);
        marker.path("entries").forEach(e -> own.add(e.asText()));
        return own;
    }

    /** On object stores: the pointer and every version (a failed run leaves an unpublished one). */
    private Set<String> ownVersions(FileStatus[] entries) throws IOException {
        Set<String> own = new HashSet<>();
        for (FileStatus s : entries) {
            String name = s.getPath().getName();
            if (s.isDirectory() && VERSION.matcher(name).matches()) {
                own.add(name);
            }
        }
        if (fs.exists(new Path(output, POINTER))) {
            readMarker(new Path(current(output.toString(), fs.getConf())));
            own.add(POINTER);
        }
        return own;
    }

    /** A previous output's marker, checked to be this stage's; null when there is none. */
    private JsonNode readMarker(Path dir) throws IOException {
        Path marker = new Path(dir, MARKER);
        if (!fs.exists(marker)) {
            return null;
        }
        JsonNode m;
        try (InputStream in = fs.open(marker)) {
            m = JSON.readTree(in);
        }
        String was = m.path("stage").asText();
        if (!was.equals(stage)) {
            throw new IOException(stage + ": " + option + " " + output + " holds the output of '" + was + "', not of "
                    + stage + "; refusing to replace it (nothing was written)");
        }
        return m;
    }

    private void writeMarker() throws IOException {
        ObjectNode m = JSON.createObjectNode();
        m.put("stage", stage);
        m.put("written", Instant.now().toString());
        ArrayNode names = m.putArray("entries");
        List<String> list = new ArrayList<>();
        for (FileStatus s : fs.listStatus(staging)) {
            list.add(s.getPath().getName());
        }
        list.sort(null);
        list.forEach(names::add);
        try (OutputStream os = fs.create(new Path(staging, MARKER), true)) {
            os.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(m));
        }
    }
}
