package dev.eaglespark.collective;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;

/**
 * The server socket of one rank, opened on an ephemeral port before rendezvous so that its
 * {@link #address()} can be published to the other ranks. Passed to
 * {@link RingCollective#connect}; closed by the group it builds (or by {@link #close()}).
 */
public final class RingListener implements Closeable {
    private final ServerSocketChannel server;
    private final InetSocketAddress advertised;
    private final CollectiveOptions options;

    private RingListener(ServerSocketChannel server, InetSocketAddress advertised,
            CollectiveOptions options) {
        this.server = server;
        this.advertised = advertised;
        this.options = options;
    }

    public static RingListener open(CollectiveOptions options) {
        ServerSocketChannel ch = null;
        try {
            ch = ServerSocketChannel.open();
            InetSocketAddress bind = options.bindHost() == null
                    ? new InetSocketAddress(0)
                    : new InetSocketAddress(InetAddress.getByName(options.bindHost()), 0);
            if (options.socketBufferBytes() > 0) {
                ch.socket().setReceiveBufferSize(options.socketBufferBytes());
            }
            ch.bind(bind, 64);
            ch.configureBlocking(false);
            int port = ((InetSocketAddress) ch.getLocalAddress()).getPort();
            InetAddress host;
            if (options.advertiseHost() != null) {
                host = InetAddress.getByName(options.advertiseHost());
            } else if (options.bindHost() != null && !bind.getAddress().isAnyLocalAddress()) {
                host = bind.getAddress();
            } else {
                host = InetAddress.getLocalHost();
            }
            return new RingListener(ch, new InetSocketAddress(host, port), options);
        } catch (IOException e) {
            if (ch != null) {
                try {
                    ch.close();
                } catch (IOException ignored) {
                    // already failing
                }
            }
            throw new UncheckedIOException("could not open the ring listener", e);
        }
    }

    /** The host:port to publish to the other ranks. */
    public InetSocketAddress address() {
        return advertised;
    }

    CollectiveOptions options() {
        return options;
    }

    ServerSocketChannel channel() {
        return server;
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException ignored) {
            // nothing to do
        }
    }
}
