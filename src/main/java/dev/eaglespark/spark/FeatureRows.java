package dev.eaglespark.spark;

import dev.eaglespark.features.FeatureRecord;
import dev.eaglespark.features.FeatureTable;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The {@link FeatureTable} in Spark: its StructType, made from the table's column declarations,
 * a record as a Row, and the token columns read back for the vocab stage.
 */
final class FeatureRows {
    /** The table's columns as Spark types; Spark stores them as {@link FeatureTable#PARQUET_SCHEMA}. */
    static final StructType SCHEMA = schema();

    private FeatureRows() {}

    /** The token ids and loss mask of one row. */
    record Tokens(int[] ids, byte[] lossMask) {}

    static Row of(FeatureRecord r) {
        return RowFactory.create(FeatureTable.values(r));
    }

    /** The ids and masks of the features in {@code files}, the hidden states left unread. */
    static JavaRDD<Tokens> tokens(SparkSession spark, String files) {
        return spark.read().parquet(files)
                .select(FeatureTable.INPUT_IDS.name(), FeatureTable.LOSS_MASK.name()).javaRDD()
                .map(FeatureRows::tokens);
    }

    private static Tokens tokens(Row r) {
        List<Integer> list = r.getList(0);
        int[] ids = new int[list.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = list.get(i);
        }
        return new Tokens(ids, (byte[]) r.get(1));
    }

    private static StructType schema() {
        StructType s = new StructType();
        for (FeatureTable.Column c : FeatureTable.COLUMNS) {
            s = s.add(c.name(), type(c.kind()), false);
        }
        return s;
    }

    private static DataType type(FeatureTable.Kind kind) {
        return switch (kind) {
            case STRING -> DataTypes.StringType;
            case INT_LIST -> DataTypes.createArrayType(DataTypes.IntegerType, false);
            case BYTES -> DataTypes.BinaryType;
            case INT -> DataTypes.IntegerType;
        };
    }
}
