package dev.eaglespark.testutil;

import java.io.IOException;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;

/** An in-process file system that tests reach through Hadoop URIs, as users' jobs do. */
public interface RemoteStore extends AutoCloseable {
    /** The URI under which tests write, such as {@code hdfs://127.0.0.1:PORT/t} or {@code s3a://bucket/t}. */
    String root();

    /** Hadoop settings that reach the store (endpoint, credentials); empty where defaults do. */
    Map<String, String> settings();

    @Override
    void close() throws IOException;

    default Configuration conf() {
        Configuration c = new Configuration();
        settings().forEach(c::set);
        return c;
    }
}
