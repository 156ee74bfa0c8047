package dev.eaglespark.testutil;

import java.io.File;
import java.io.IOException;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;

/** A one-datanode HDFS in this JVM, on loopback ports picked by the system. */
public final class MiniHdfs implements RemoteStore {
    private final MiniDFSCluster cluster;

    private MiniHdfs(MiniDFSCluster cluster) {
        this.cluster = cluster;
    }

    public static MiniHdfs start(File baseDir) throws IOException {
        Configuration conf = new Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, baseDir.getAbsolutePath());
        MiniDFSCluster cluster = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
        cluster.waitActive();
        return new MiniHdfs(cluster);
    }

    @Override
    public String root() {
        return cluster.getURI() + "/t";
    }

    @Override
    public Map<String, String> settings() {
        return Map.of();
    }

    @Override
    public void close() {
        cluster.shutdown(true);
    }
}
