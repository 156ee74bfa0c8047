package dev.eaglespark.train;

import dev.eaglespark.features.FeatureRecord;
import dev.eaglespark.features.FeatureTable;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.column.page.PageReadStore;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.convert.GroupRecordConverter;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.parquet.io.ColumnIOFactory;
import org.apache.parquet.io.MessageColumnIO;
import org.apache.parquet.io.RecordReader;
import org.apache.parquet.schema.MessageType;

/**
 * Stage-1 features as training input, read with plain parquet-hadoop (no Spark needed). The
 * unit of shuffling and sharding is a (file, row group) pair, visited in {@link DataOrder}, so a
 * rank's position in the epoch (samples consumed) identifies where to resume exactly.
 */
public final class FeatureDataset implements TrainingData<FeatureRecord> {
    /** One row group of one file and how many rows it has. */
    public record Unit(String file, int rowGroup, long rows) {}

    private final List<Unit> units;
    private final Configuration conf;

    private FeatureDataset(List<Unit> units, Configuration conf) {
        this.units = units;
        this.conf = conf;
    }

    /**
     * Every row group of every Parquet file under {@code dir}, in a fixed order; each file must
     * hold the {@link FeatureTable}.
     */
    public static FeatureDataset open(String dir, Configuration conf) throws IOException {
        Path root = new Path(dir);
        FileSystem fs = root.getFileSystem(conf);
        List<Path> files = new ArrayList<>();
        for (FileStatus s : fs.listStatus(root)) {
            String name = s.getPath().getName();
            if (s.isFile() && name.endsWith(".parquet") && !name.startsWith("_") && !name.startsWith(".")) {
                files.add(s.getPath());
            }
        }
        Collections.sort(files);
        if (files.isEmpty()) {
            throw new IOException("no Parquet files under " + dir + " (is it the output of 'eaglespark features'?)");
        }
        List<Unit> units = new ArrayList<>();
        for (Path f : files) {
            try (ParquetFileReader r = ParquetFileReader.open(HadoopInputFile.fromPath(f, conf))) {
                FeatureTable.requireSchema(f.toString(), r.getFooter().getFileMetaData().getSchema());
                List<BlockMetaData> blocks = r.getFooter().getBlocks();
                for (int i = 0; i < blocks.size(); i++) {
                    units.add(new Unit(f.toString(), i, blocks.get(i).getRowCount()));
                }
            }
        }
        return new FeatureDataset(units, conf);
    }

    public List<Unit> units() {
        return units;
    }

    @Override
    public int unitCount() {
        return units.size();
    }

    @Override
    public long rows() {
        return units.stream().mapToLong(Unit::rows).sum();
    }

    /**
     * Rank {@code rank}'s samples of {@code epoch} from position {@code skip} on, in
     * {@link DataOrder}: every sample is seen once per epoch across ranks, the shards change every
     * epoch, and they differ by at most one unit. Units wholly before {@code skip} are not read.
     */
    @Override
    public Iterator<FeatureRecord> epoch(long seed, int epoch, int rank, int world, long skip) {
        // Unit numbers (their place in the fixed order), not the units: the order depends on the
        // data, not on where the files lie or their names.
        List<Integer> order = DataOrder.units(units.size(), seed, epoch, rank, world);
        return new UnitRows() {
            private int unit = 0;
            private long toSkip = skip;

            @Override
            List<FeatureRecord> nextUnit() {
                while (unit < order.size()) {
                    Unit u = units.get(order.get(unit++));
                    if (toSkip >= u.rows()) {
                        toSkip -= u.rows(); // skipped without reading
                        continue;
                    }
                    List<FeatureRecord> rows = DataOrder.records(read(u), FeatureRecord::id, seed, epoch);
                    List<FeatureRecord> rest = rows.subList((int) toSkip, rows.size());
                    toSkip = 0;
                    return rest;
                }
                return null;
            }
        };
    }

    /**
     * Rank {@code rank}'s share of the first {@code limit} rows in the fixed order (files by name,
     * row groups and rows as stored): rows r, r + world, r + 2 world, ... A rank reads only the row
     * groups that hold some of its rows.
     */
    public Iterator<FeatureRecord> inOrder(int rank, int world, long limit) {
        return new UnitRows() {
            private int unit = 0;
            private long first = 0; // global index of the current unit's first row

            @Override
            List<FeatureRecord> nextUnit() {
                while (unit < units.size() && first < limit) {
                    Unit u = units.get(unit++);
                    long start = first;
                    first += u.rows();
                    long end = Math.min(first, limit);
                    long mine = start + Math.floorMod(rank - start, (long) world); // this rank's first row in it
                    if (mine < end) {
                        List<FeatureRecord> all = read(u);
                        List<FeatureRecord> rows = new ArrayList<>();
                        for (long i = mine; i < end; i += world) {
                            rows.add(all.get((int) (i - start)));
                        }
                        return rows;
                    }
                }
                return null;
            }
        };
    }

    /** Rows handed out a unit at a time: {@link #nextUnit} gives the next unit's rows, null at the end. */
    private abstract static class UnitRows implements Iterator<FeatureRecord> {
        private List<FeatureRecord> rows = List.of();
        private int next = 0;

        abstract List<FeatureRecord> nextUnit();

        @Override
        public boolean hasNext() {
            while (rows != null && next >= rows.size()) {
                rows = nextUnit();
                next = 0;
            }
            return rows != null && next < rows.size();
        }

        @Override
        public FeatureRecord next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            return rows.get(next++);
        }
    }

    @Override
    public String describe() {
        return units.size() + " row groups of features";
    }

    private List<FeatureRecord> read(Unit u) {
        try (ParquetFileReader r = ParquetFileReader.open(HadoopInputFile.fromPath(new Path(u.file()), conf))) {
            MessageType schema = r.getFooter().getFileMetaData().getSchema();
            for (int i = 0; i < u.rowGroup(); i++) {
                r.skipNextRowGroup();
            }
            PageReadStore pages = r.readNextRowGroup();
            MessageColumnIO io = new ColumnIOFactory().getColumnIO(schema);
            RecordReader<Group> records = io.getRecordReader(pages, new GroupRecordConverter(schema));
            List<FeatureRecord> out = new ArrayList<>();
            for (long i = 0; i < pages.getRowCount(); i++) {
                out.add(FeatureTable.record(records.read()));
            }
            return out;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot read " + u, e);
        }
    }
}
