package dev.eaglespark.testutil;

import java.io.IOException;
import java.net.URI;
import java.util.Map;
import java.util.UUID;
import org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;

/**
 * An S3-compatible server in this JVM: S3Proxy over jclouds' in-memory ("transient") blob
 * store on a loopback port, with dummy credentials checked like AWS signatures are. S3A
 * reaches it path-style over plain HTTP.
 */
public final class InMemoryS3 implements RemoteStore {
    private static final String ACCESS_KEY = "test-access";
    private static final String SECRET_KEY = "test-secret";

    private final BlobStoreContext blobs;
    private final S3Proxy proxy;
    private final String bucket;

    private InMemoryS3(BlobStoreContext blobs, S3Proxy proxy, String bucket) {
        this.blobs = blobs;
        this.proxy = proxy;
        this.bucket = bucket;
    }

    public static InMemoryS3 start() throws Exception {
        BlobStoreContext blobs = ContextBuilder.newBuilder("transient").credentials("unused", "unused")
                .build(BlobStoreContext.class);
        // A fresh bucket name per run: nothing keyed by URI (LocalDirs' cache, Hadoop's FileSystem
        // cache) can carry over from an earlier run.
        String bucket = "eaglespark-" + UUID.randomUUID().toString().substring(0, 8);
        blobs.getBlobStore().createContainerInLocation(null, bucket);
        S3Proxy proxy = S3Proxy.builder().blobStore(blobs.getBlobStore()).endpoint(URI.create("http://127.0.0.1:0"))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY).build();
        proxy.start();
        while (!proxy.getState().equals("STARTED")) {
            Thread.sleep(10);
        }
        return new InMemoryS3(blobs, proxy, bucket);
    }

    @Override
    public String root() {
        return "s3a://" + bucket + "/t";
    }

    @Override
    public Map<String, String> settings() {
        return Map.of(
                "fs.s3a.endpoint", "http://127.0.0.1:" + proxy.getPort(),
                "fs.s3a.endpoint.region", "us-east-1",
                "fs.s3a.path.style.access", "true",
                "fs.s3a.connection.ssl.enabled", "false",
                "fs.s3a.aws.credentials.provider", SimpleAWSCredentialsProvider.class.getName(),
                "fs.s3a.access.key", ACCESS_KEY,
                "fs.s3a.secret.key", SECRET_KEY,
                // The in-memory store keeps no object versions for S3A to pin reads to.
                "fs.s3a.change.detection.version.required", "false");
    }

    @Override
    public void close() throws IOException {
        try {
            proxy.stop();
        } catch (Exception e) {
            throw new IOException("stopping S3Proxy", e);
        } finally {
            blobs.close();
        }
    }
}
