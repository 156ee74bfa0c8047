package dev.eaglespark.features;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.apache.parquet.column.ColumnDescriptor;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Types;

/**
 * The features table: what stage 1 writes and the vocab and train stages read, one row per
 * sample. It owns the columns, the Parquet schema they are stored as and a row's conversion to
 * and from a {@link FeatureRecord}. Spark writes it from these column declarations (its
 * StructType is made in {@code spark/FeatureRows}); {@link #PARQUET_SCHEMA} is what that write
 * stores, which plain parquet-hadoop readers ({@code train/FeatureDataset}) rely on.
 */
public final class FeatureTable {
    /** What a column holds; every column is required (never null). */
    public enum Kind { STRING, INT_LIST, BYTES, INT }

    /** One column: its name in the files and what it holds. */
    public record Column(String name, Kind kind) {}

    /** The record id (the input's id field, or file:line). */
    public static final Column ID = new Column("id", Kind.STRING);
    /** Token ids, at most max-length. */
    public static final Column INPUT_IDS = new Column("input_ids", Kind.INT_LIST);
    /** One byte per token: 1 on assistant content and its end-of-turn token. */
    public static final Column LOSS_MASK = new Column("loss_mask", Kind.BYTES);
    /** Little-endian fp16 [T, aux layers x H]: the aux hidden states side by side. */
    public static final Column AUX_HIDDEN = new Column("aux_hidden", Kind.BYTES);
    /** Little-endian fp16 [T, H]: the last layer's output before the final norm. */
    public static final Column LAST_HIDDEN = new Column("last_hidden", Kind.BYTES);
    /** T, for queries that do not decode the ids. */
    public static final Column NUM_TOKENS = new Column("num_tokens", Kind.INT);
    /** Tokens under the loss mask. */
    public static final Column NUM_MASKED = new Column("num_masked", Kind.INT);
    /** The columns in the order of the files and of {@link #values}. */
    public static final List<Column> COLUMNS = List.of(ID, INPUT_IDS, LOSS_MASK, AUX_HIDDEN, LAST_HIDDEN, NUM_TOKENS,
            NUM_MASKED);

    /**
     * The Parquet schema of the files, as Spark writes {@link #COLUMNS}: all required, strings
     * annotated, and the id list as Spark's standard 3-level list ({@code input_ids.list.element}).
     */
    public static final MessageType PARQUET_SCHEMA = parquetSchema();

    private static final String LIST = "list";
    private static final String ELEMENT = "element";

    private FeatureTable() {}

    /** A record's row: the values of {@link #COLUMNS} in order, as Spark's rows take them (the ids as int[]). */
    public static Object[] values(FeatureRecord r) {
        return new Object[] {r.id(), r.inputIds(), r.lossMask(), r.auxHidden(), r.lastHidden(), r.length(),
                r.maskedTokens()};
    }

    /** A row read with plain parquet-hadoop (its example {@link Group}) as a record. */
    public static FeatureRecord record(Group g) {
        Group list = g.getGroup(INPUT_IDS.name(), 0);
        int n = list.getFieldRepetitionCount(LIST);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = list.getGroup(LIST, i).getInteger(ELEMENT, 0);
        }
        return new FeatureRecord(g.getString(ID.name(), 0), ids, bytes(g, LOSS_MASK), bytes(g, AUX_HIDDEN),
                bytes(g, LAST_HIDDEN));
    }

    /**
     * Refuses a Parquet file that does not hold the table: a column of {@link #PARQUET_SCHEMA}
     * missing, or stored as another type. Whether a column is optional does not matter (Spark
     * writes features it read back as optional); columns the table does not know are ignored.
     */
    public static void requireSchema(String file, MessageType schema) throws IOException {
        List<String> wrong = new ArrayList<>();
        for (ColumnDescriptor want : PARQUET_SCHEMA.getColumns()) {
            String[] path = want.getPath();
            PrimitiveTypeName type = want.getPrimitiveType().getPrimitiveTypeName();
            if (!schema.containsPath(path)) {
                wrong.add(String.join(".", path) + " missing");
            } else if (schema.getColumnDescription(path).getPrimitiveType().getPrimitiveTypeName() != type) {
                wrong.add(String.join(".", path) + " is " + schema.getColumnDescription(path).getPrimitiveType()
                        + ", not " + type);
            }
        }
        if (!wrong.isEmpty()) {
            throw new IOException(file + " is not a features file (the output of 'eaglespark features'): "
                    + String.join("; ", wrong));
        }
    }

    private static MessageType parquetSchema() {
        Types.MessageTypeBuilder message = Types.buildMessage();
        for (Column c : COLUMNS) {
            message.addField(switch (c.kind()) {
                case STRING -> Types.required(PrimitiveTypeName.BINARY).as(LogicalTypeAnnotation.stringType())
                        .named(c.name());
                case INT_LIST -> Types.requiredList().requiredElement(PrimitiveTypeName.INT32).named(c.name());
                case BYTES -> Types.required(PrimitiveTypeName.BINARY).named(c.name());
                case INT -> Types.required(PrimitiveTypeName.INT32).named(c.name());
            });
        }
        return message.named("spark_schema");
    }

    private static byte[] bytes(Group g, Column c) {
        ByteBuffer b = g.getBinary(c.name(), 0).toByteBuffer();
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }
}
