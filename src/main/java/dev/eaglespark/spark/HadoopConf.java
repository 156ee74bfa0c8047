package dev.eaglespark.spark;

import java.io.Serializable;
import java.util.HashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;

/** The driver's Hadoop settings (credentials, endpoints) carried to tasks. */
final class HadoopConf implements Serializable {
    private static final long serialVersionUID = 1L;
    private final Map<String, String> entries = new HashMap<>();

    HadoopConf(Configuration conf) {
        conf.forEach(e -> entries.put(e.getKey(), e.getValue()));
    }

    Configuration get() {
        Configuration c = new Configuration(false);
        entries.forEach(c::set);
        return c;
    }
}
