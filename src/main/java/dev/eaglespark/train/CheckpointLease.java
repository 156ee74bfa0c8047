package dev.eaglespark.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileAlreadyExistsException;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * One run at a time on a checkpoint directory: the run holds {@value #FILE} there, made by
 * create-if-absent (atomic on HDFS, {@code create(path, overwrite=false)} at the namenode, and on
 * local files, {@code O_EXCL}).
 * The lease names its run (the Spark application id) and attempt: a later attempt of the same
 * run (a retried driver) takes it over, any other run is refused with the holder named and how
 * to break a stale lease. Rank 0 re-reads it before every checkpoint, so a run that lost its
 * lease stops before it writes.
 *
 * <p>S3A (hadoop-aws 3.3.4) implements {@code create(path, false)} as a HEAD (getFileStatus) then
 * an upload at close, not one atomic step (S3's conditional put is not used by that version):
 * two runs starting within the same moment can both pass the check. The lease is read
 * back after writing, which leaves a window of one small PUT; the check before every checkpoint
 * then stops the run that lost (before it writes anything).
 */
public final class CheckpointLease implements AutoCloseable {
    private static final Logger LOG = LogManager.getLogger(CheckpointLease.class);
    public static final String FILE = "_LEASE";
    /** Set by a driver that holds the lease for its tasks: they check it instead of taking one. */
    public static final String RUN_CONF = "eaglespark.checkpoints.lease.run";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final Configuration conf;
    private final String run;
    private final boolean owned;

    private CheckpointLease(Path file, Configuration conf, String run, boolean owned) {
        this.file = file;
        this.conf = conf;
        this.run = run;
        this.owned = owned;
    }

    /**
     * Takes the lease of {@code dir} for {@code run}; refuses when another run holds it.
     *
     * @param attempt which attempt of the run (a later one takes over an earlier one's lease)
     */
    public static CheckpointLease acquire(String dir, String run, String attempt, Configuration conf)
            throws IOException {
        Path file = new Path(dir, FILE);
        FileSystem fs = file.getFileSystem(conf);
        fs.mkdirs(file.getParent());
        ObjectNode mine = JSON.createObjectNode().put("run", run).put("attempt", attempt)
                .put("host", host()).put("since", Instant.now().toString());
        if (!createNew(fs, file, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(mine))) {
            JsonNode held = read(file, conf);
            if (held == null || !run.equals(held.path("run").asText())) {
                throw refusal(file, held);
            }
            LOG.warn("{}: attempt {} of run {} takes over the lease of attempt {}", file, attempt, run,
                    held.path("attempt").asText());
            try (OutputStream os = fs.create(file, true)) {
                os.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(mine));
            }
        }
        CheckpointLease lease = new CheckpointLease(file, conf, run, true);
        lease.verify();
        return lease;
    }

    /**
     * The lease a training rank works under: the one its driver holds (named in {@code conf}
     * by {@value #RUN_CONF}), checked, or else one of its own for this process's run.
     */
    public static CheckpointLease forRank(String dir, Configuration conf) throws IOException {
        String run = conf.get(RUN_CONF);
        if (run == null) {
            return acquire(dir, "local-" + UUID.randomUUID(), "1", conf);
        }
        CheckpointLease joined = new CheckpointLease(new Path(dir, FILE), conf, run, false);
        joined.verify();
        return joined;
    }

    /** Fails unless the lease still names this run (another run broke it and took the directory). */
    public void verify() throws IOException {
        JsonNode held = read(file, conf);
        if (held == null || !run.equals(held.path("run").asText())) {
            throw new IOException("run " + run + " no longer holds the lease of " + file.getParent()
                    + (held == null ? " (" + FILE + " is gone)" : " (now held by run " + held.path("run").asText()
                    + ")") + "; stopping before it writes a checkpoint over another run's");
        }
    }

    /** Releases a lease this object took (a joined lease is the driver's to release). */
    @Override
    public void close() {
        if (!owned) {
            return;
        }
        try {
            JsonNode held = read(file, conf);
            if (held != null && run.equals(held.path("run").asText())) {
                file.getFileSystem(conf).delete(file, false);
            }
        } catch (IOException e) {
            LOG.warn("could not release the lease {}: {}", file, e.toString());
        }
    }

    private static IOException refusal(Path file, JsonNode held) {
        String holder = held == null ? "an unreadable lease"
                : "run " + held.path("run").asText() + " (attempt " + held.path("attempt").asText() + ", host "
                + held.path("host").asText() + ", since " + held.path("since").asText() + ")";
        return new IOException("checkpoint directory " + file.getParent() + " is in use by " + holder
                + ": two runs on one directory would overwrite each other's checkpoints. If that run is no"
                + " longer running (a crashed driver leaves its lease behind), delete " + file
                + " and start again, or give another --checkpoints directory");
    }

    /** Create-if-absent: false when the file exists. */
    private static boolean createNew(FileSystem fs, Path file, byte[] bytes) throws IOException {
        if ("file".equals(fs.getScheme())) { // Hadoop's local create checks then writes: use O_EXCL
            try {
                Files.write(Paths.get(fs.makeQualified(file).toUri()), bytes, StandardOpenOption.CREATE_NEW,
                        StandardOpenOption.WRITE);
                return true;
            } catch (java.nio.file.FileAlreadyExistsException e) {
                return false;
            }
        }
        try (OutputStream os = fs.create(file, false)) {
            os.write(bytes);
            return true;
        } catch (FileAlreadyExistsException e) {
            return false;
        }
    }

    private static JsonNode read(Path file, Configuration conf) throws IOException {
        try (InputStream in = file.getFileSystem(conf).open(file)) {
            return JSON.readTree(in);
        } catch (FileNotFoundException e) {
            return null;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            return JSON.createObjectNode().put("run", "?").put("attempt", "?").put("host", "?").put("since", "?");
        }
    }

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown";
        }
    }
}
