package dev.eaglespark.fs;

import dev.eaglespark.testutil.InMemoryS3;
import dev.eaglespark.testutil.RemoteStore;
import java.nio.file.Path;

/**
 * The scenarios on {@code s3a://} paths of an in-process S3-compatible server. Spark's Parquet
 * output goes through the rename-based FileOutputCommitter here (renames are copies on S3, fine
 * at test size); production S3 wants the S3A magic committer (README, "HDFS and S3").
 */
class S3aStorageTest extends RemoteStorageScenarios {
    @Override
    RemoteStore startStore(Path dir) throws Exception {
        return InMemoryS3.start();
    }
}
