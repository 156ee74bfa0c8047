package dev.eaglespark.fs;

import dev.eaglespark.testutil.MiniHdfs;
import dev.eaglespark.testutil.RemoteStore;
import java.nio.file.Path;

/** The scenarios on {@code hdfs://} paths of an in-process HDFS (MiniDFSCluster). */
class HdfsStorageTest extends RemoteStorageScenarios {
    @Override
    RemoteStore startStore(Path dir) throws Exception {
        return MiniHdfs.start(dir.toFile());
    }
}
