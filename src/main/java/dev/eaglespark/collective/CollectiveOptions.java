package dev.eaglespark.collective;

import java.time.Duration;
import java.util.Objects;

/**
 * Settings of a collective group. Immutable; the {@code with*} methods return modified copies.
 *
 * <ul>
 *   <li>{@code bucketBytes}: fp32 bytes of the array reduced per ring round (each round moves
 *       {@code bucketBytes / worldSize} per step); default 4 MiB.
 *   <li>{@code wireType}: FP32 (default) or FP16 on the wire.
 *   <li>{@code connectTimeout}: how long {@code connect} waits for both neighbours; default 2 min.
 *   <li>{@code handshakeTimeout}: how long one incoming connection may take to authenticate;
 *       default 10 s. Connections are authenticated concurrently, so a stranger delays nobody.
 *   <li>{@code maxPendingHandshakes}: unauthenticated connections held at once; past it the
 *       oldest is dropped (logged); default 64.
 *   <li>{@code ioTimeout}: the longest an operation may go without any byte moving; default
 *       10 min, because a peer may still be computing its gradients. A closed or reset peer
 *       fails at once, independent of this.
 *   <li>{@code bindHost}: address the listener binds to; default wildcard (all interfaces).
 *       The train stage binds to the host Spark gave the task.
 *   <li>{@code advertiseHost}: host published to the peers; default: the bind host, or the
 *       local host name's address when bound to the wildcard.
 *   <li>{@code socketBufferBytes}: SO_SNDBUF/SO_RCVBUF; 0 (default) keeps the OS default and
 *       its auto-tuning.
 * </ul>
 */
public final class CollectiveOptions {
    private final int bucketBytes;
    private final WireType wireType;
    private final Duration connectTimeout;
    private final Duration handshakeTimeout;
    private final Duration ioTimeout;
    private final String bindHost;
    private final String advertiseHost;
    private final int socketBufferBytes;
    private final int maxPendingHandshakes;

    private CollectiveOptions(int bucketBytes, WireType wireType, Duration connectTimeout,
            Duration handshakeTimeout, Duration ioTimeout, String bindHost, String advertiseHost,
            int socketBufferBytes, int maxPendingHandshakes) {
        if (bucketBytes < 4) {
            throw new IllegalArgumentException("bucketBytes must be >= 4: " + bucketBytes);
        }
        if (socketBufferBytes < 0) {
            throw new IllegalArgumentException("socketBufferBytes must be >= 0");
        }
        this.bucketBytes = bucketBytes;
        this.wireType = Objects.requireNonNull(wireType, "wireType");
        this.connectTimeout = positive(connectTimeout, "connectTimeout");
        this.handshakeTimeout = positive(handshakeTimeout, "handshakeTimeout");
        this.ioTimeout = positive(ioTimeout, "ioTimeout");
        this.bindHost = bindHost;
        this.advertiseHost = advertiseHost;
        this.socketBufferBytes = socketBufferBytes;
        if (maxPendingHandshakes < 1) {
            throw new IllegalArgumentException("maxPendingHandshakes must be >= 1");
        }
        this.maxPendingHandshakes = maxPendingHandshakes;
    }

    private static Duration positive(Duration d, String name) {
        Objects.requireNonNull(d, name);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + " must be positive: " + d);
        }
        return d;
    }

    public static CollectiveOptions defaults() {
        return new CollectiveOptions(4 << 20, WireType.FP32, Duration.ofMinutes(2),
                Duration.ofSeconds(10), Duration.ofMinutes(10), null, null, 0, 64);
    }

    public int bucketBytes() {
        return bucketBytes;
    }

    public WireType wireType() {
        return wireType;
    }

    public Duration connectTimeout() {
        return connectTimeout;
    }

    public Duration handshakeTimeout() {
        return handshakeTimeout;
    }

    public Duration ioTimeout() {
        return ioTimeout;
    }

    /** Null means the wildcard address. */
    public String bindHost() {
        return bindHost;
    }

    /** Null means derived from the bind address. */
    public String advertiseHost() {
        return advertiseHost;
    }

    public int socketBufferBytes() {
        return socketBufferBytes;
    }

    public int maxPendingHandshakes() {
        return maxPendingHandshakes;
    }

    public CollectiveOptions withBucketBytes(int v) {
        return new CollectiveOptions(v, wireType, connectTimeout, handshakeTimeout, ioTimeout,
                bindHost, advertiseHost, socketBufferBytes,
                maxPendingHandshakes);
    }

    public CollectiveOptions withWireType(WireType v) {
        return new CollectiveOptions(bucketBytes, v, connectTimeout, handshakeTimeout, ioTimeout,
                bindHost, advertiseHost, socketBufferBytes,
                maxPendingHandshakes);
    }

    public CollectiveOptions withConnectTimeout(Duration v) {
        return new CollectiveOptions(bucketBytes, wireType, v, handshakeTimeout, ioTimeout,
                bindHost, advertiseHost, socketBufferBytes,
                maxPendingHandshakes);
    }

    public CollectiveOptions withHandshakeTimeout(Duration v) {
        return new CollectiveOptions(bucketBytes, wireType, connectTimeout, v, ioTimeout,
                bindHost, advertiseHost, socketBufferBytes,
                maxPendingHandshakes);
    }

    public CollectiveOptions withIoTimeout(Duration v) {
        return new CollectiveOptions(bucketBytes, wireType, connectTimeout, handshakeTimeout, v,
                bindHost, advertiseHost, socketBufferBytes,
                maxPendingHandshakes);
    }

    public CollectiveOptions withBindHost(String v) {
        return new CollectiveOptions(bucketBytes, wireType, connectTimeout, handshakeTimeout,
                ioTimeout, v, advertiseHost, socketBufferBytes, maxPendingHandshakes);
    }

    public CollectiveOptions withAdvertiseHost(String v) {
        return new CollectiveOptions(bucketBytes, wireType, connectTimeout, handshakeTimeout,
                ioTimeout, bindHost, v, socketBufferBytes, maxPendingHandshakes);
    }

    public CollectiveOptions withSocketBufferBytes(int v) {
        return new CollectiveOptions(bucketBytes, wireType, connectTimeout, handshakeTimeout,
                ioTimeout, bindHost, advertiseHost, v, maxPendingHandshakes);
    }

    public CollectiveOptions withMaxPendingHandshakes(int v) {
        return new CollectiveOptions(bucketBytes, wireType, connectTimeout, handshakeTimeout,
                ioTimeout, bindHost, advertiseHost, socketBufferBytes, v);
    }

    @Override
    public String toString() {
        return "CollectiveOptions{bucketBytes=" + bucketBytes + ", wireType=" + wireType
                + ", connectTimeout=" + connectTimeout + ", handshakeTimeout=" + handshakeTimeout
                + ", ioTimeout=" + ioTimeout + ", bindHost=" + bindHost + ", advertiseHost="
                + advertiseHost + ", socketBufferBytes=" + socketBufferBytes + ", maxPendingHandshakes="
                + maxPendingHandshakes + "}";
    }
}
