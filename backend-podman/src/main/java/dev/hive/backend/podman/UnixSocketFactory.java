package dev.hive.backend.podman;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import javax.net.SocketFactory;

/**
 * Hands OkHttp sockets that connect to one Unix domain socket whatever host and port it asks for.
 *
 * <p>Why a hand-made {@link Socket}: the JDK opens Unix domain sockets only as {@link
 * SocketChannel}s, whose {@code socket()} adaptor is refused for them, and OkHttp speaks to
 * {@link Socket}s. Reads honour {@link #setSoTimeout(int)} (OkHttp's idle-connection health check
 * reads with a 1 ms timeout and would otherwise block forever), so the channel is non-blocking
 * and waits in a selector of its own per direction.
 */
final class UnixSocketFactory extends SocketFactory {
  private final Path path;

  UnixSocketFactory(Path path) {
    this.path = path;
  }

  @Override
  public Socket createSocket() {
    return new UnixSocket(path);
  }

  @Override
  public Socket createSocket(String host, int port) throws IOException {
    return connected();
  }

  @Override
  public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
    return connected();
  }

  @Override
  public Socket createSocket(InetAddress host, int port) throws IOException {
    return connected();
  }

  @Override
  public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort) throws IOException {
    return connected();
  }

  private Socket connected() throws IOException {
    Socket socket = createSocket();
    socket.connect(null);
    return socket;
  }

  private static final class UnixSocket extends Socket {
    private final Path path;
    private SocketChannel channel;
    private Selector readSelector;
    private Selector writeSelector;
    private volatile int readTimeoutMillis;
    private volatile boolean closed;
    private volatile boolean inputShut;
    private volatile boolean outputShut;

    UnixSocket(Path path) {
      this.path = path;
    }

    @Override
    public void connect(SocketAddress ignored) throws IOException {
      connect(ignored, 0);
    }

    @Override
    public synchronized void connect(SocketAddress ignored, int timeout) throws IOException {
      SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(path));
      try {
        ch.configureBlocking(false);
        readSelector = Selector.open();
        writeSelector = Selector.open();
        ch.register(readSelector, SelectionKey.OP_READ);
        ch.register(writeSelector, SelectionKey.OP_WRITE);
      } catch (IOException e) {
        ch.close();
        throw e;
      }
      channel = ch;
    }

    @Override
    public InputStream getInputStream() throws IOException {
      requireConnected();
      return new InputStream() {
        @Override
        public int read() throws IOException {
          byte[] one = new byte[1];
          int n = read(one, 0, 1);
          return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
          if (len == 0) {
            return 0;
          }
          ByteBuffer buffer = ByteBuffer.wrap(b, off, len);
          long timeout = readTimeoutMillis;
          long deadline = timeout > 0 ? System.nanoTime() + timeout * 1_000_000 : Long.MAX_VALUE;
          while (true) {
            int n = channel.read(buffer);
            if (n != 0) {
              return n;
            }
            long left = deadline == Long.MAX_VALUE ? 0 : (deadline - System.nanoTime()) / 1_000_000;
            if (deadline != Long.MAX_VALUE && left <= 0) {
              throw new SocketTimeoutException("read timed out after " + timeout + " ms on " + path);
            }
            await(readSelector, Math.max(0, left));
            if (closed) {
              throw new IOException("socket closed");
            }
          }
        }
      };
    }

    @Override
    public OutputStream getOutputStream() throws IOException {
      requireConnected();
      return new OutputStream() {
        @Override
        public void write(int b) throws IOException {
          write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
          ByteBuffer buffer = ByteBuffer.wrap(b, off, len);
          while (buffer.hasRemaining()) {
            if (channel.write(buffer) == 0) {
              await(writeSelector, 1000);
              if (closed) {
                throw new IOException("socket closed");
              }
            }
          }
        }
      };
    }

    /** Waits until the channel may be ready in the selector's direction; a close ends the wait. */
    private void await(Selector selector, long millis) throws IOException {
      try {
        synchronized (selector) {
          selector.select(millis);
          selector.selectedKeys().clear();
        }
      } catch (java.nio.channels.ClosedSelectorException e) {
        throw new IOException("socket closed", e);
      }
    }

    private void requireConnected() throws IOException {
      if (channel == null) {
        throw new IOException("not connected to " + path);
      }
    }

    @Override
    public void setSoTimeout(int timeout) {
      readTimeoutMillis = timeout;
    }

    @Override
    public int getSoTimeout() {
      return readTimeoutMillis;
    }

    @Override
    public boolean isConnected() {
      return channel != null;
    }

    @Override
    public boolean isClosed() {
      return closed;
    }

    @Override
    public boolean isInputShutdown() {
      return inputShut;
    }

    @Override
    public boolean isOutputShutdown() {
      return outputShut;
    }

    @Override
    public void shutdownInput() throws IOException {
      inputShut = true;
      channel.shutdownInput();
    }

    @Override
    public void shutdownOutput() throws IOException {
      outputShut = true;
      channel.shutdownOutput();
    }

    @Override
    public InetAddress getInetAddress() {
      return InetAddress.getLoopbackAddress();
    }

    @Override
    public synchronized void close() throws IOException {
      if (closed) {
        return;
      }
      closed = true;
      if (channel != null) {
        // Waking the selectors makes a blocked read or write see the close at once.
        readSelector.wakeup();
        writeSelector.wakeup();
        channel.close();
        readSelector.close();
        writeSelector.close();
      }
    }

    @Override
    public String toString() {
      return "UnixSocket[" + path + "]";
    }
  }
}
