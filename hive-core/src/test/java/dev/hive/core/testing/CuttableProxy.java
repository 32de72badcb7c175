package dev.hive.core.testing;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/** A TCP proxy on loopback in front of one port, which can be cut and healed. */
public final class CuttableProxy implements Closeable {
  /** How the cut looks to the two ends. */
  public enum Cut {
    /** Every connection through the proxy is reset, and new ones are refused until the heal (iptables REJECT, a peer that restarts). */
    RESET,
    /**
     * Nothing goes through any more, and nothing says so: connections stay open, new ones hang
     * (iptables DROP, a link down). At the heal, traffic flows again on all of them at once: the best
     * a real network does, where a connection resumes only at its next TCP retransmission.
     */
    BLACKHOLE,
    /**
     * As {@link #BLACKHOLE}, but at the heal each connection resumes only when TCP next retransmits
     * on it: its retransmission timeout doubles from 200 ms (1 s for a connection still being
     * opened) up to 120 s, so after a 30 s cut it resumes about 21 s after the heal, after 60 s about
     * 42 s, after 120 s about 85 s. What a partition by iptables DROP or a link down does.
     */
    BLACKHOLE_RTO,
    /**
     * As {@link #BLACKHOLE}, but the connections open during the cut stay dead after the heal;
     * new ones work. A connection that the other end dropped meanwhile, or that TCP gives up on
     * (about 15 min with Linux' default tcp_retries2).
     */
    BLACKHOLE_OLD_STAY_DEAD
  }
  private final InetSocketAddress upstream;
  private final int port;
  private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "partition-proxy");
    t.setDaemon(true);
    return t;
  });
  private final Set<Link> links = ConcurrentHashMap.newKeySet();
  private final Object gate = new Object();
  private volatile ServerSocket listener;
  private volatile Cut cut;
  private volatile long cutAt;
  private volatile boolean closed;

  /** Both sockets of one proxied connection, and when it may carry bytes again. */
  private static final class Link {
    final Socket in;
    final Socket out;
    final long createdAt = System.nanoTime();
    final boolean createdDuringCut;
    volatile long resumeAt;

    Link(Socket in, Socket out, boolean createdDuringCut) {
      this.in = in;
      this.out = out;
      this.createdDuringCut = createdDuringCut;
    }

    void reset() {
      for (Socket s : List.of(in, out)) {
        try {
          s.setSoLinger(true, 0);
          s.close();
        } catch (IOException e) {
          // closed already
        }
      }
    }
  }

  public CuttableProxy(int upstreamPort) throws IOException {
    this.upstream = new InetSocketAddress("127.0.0.1", upstreamPort);
    ServerSocket s = new ServerSocket();
    s.setReuseAddress(true);
    s.bind(new InetSocketAddress("127.0.0.1", 0));
    this.port = s.getLocalPort();
    listen(s);
  }

  public int port() {
    return port;
  }

  private void listen(ServerSocket s) {
    listener = s;
    threads.execute(() -> {
      while (!s.isClosed()) {
        try {
          Socket in = s.accept();
          Socket out = new Socket();
          try {
            out.connect(upstream, 5000);
          } catch (IOException e) {
            new Link(in, out, false).reset();
            continue;
          }
          Link link = new Link(in, out, cut != null);
          links.add(link);
          threads.execute(() -> pump(link, in, out));
          threads.execute(() -> pump(link, out, in));
        } catch (IOException e) {
          // the listener closed
        }
      }
    });
  }

  private void pump(Link link, Socket from, Socket to) {
    byte[] buf = new byte[16 * 1024];
    try {
      InputStream input = from.getInputStream();
      OutputStream output = to.getOutputStream();
      while (true) {
        awaitOpen(link);
        int n = input.read(buf);
        if (n < 0) {
          break;
        }
        // Read before a cut: held here, as a network holds a packet it then drops or delays.
        awaitOpen(link);
        output.write(buf, 0, n);
        output.flush();
      }
    } catch (IOException | InterruptedException e) {
      // reset or closed
    } finally {
      links.remove(link);
      link.reset();
    }
  }

  /** Blocks while the link may carry nothing. */
  private void awaitOpen(Link link) throws InterruptedException {
    synchronized (gate) {
      while (!closed) {
        long wait = cut != null ? 1000 : (link.resumeAt - System.nanoTime()) / 1_000_000;
        if (wait <= 0) {
          return;
        }
        gate.wait(Math.min(wait, 1000));
      }
    }
  }

  public void cut(Cut how) throws IOException {
    synchronized (gate) {
      cut = how;
      cutAt = System.nanoTime();
    }
    if (how == Cut.RESET) {
      listener.close();
      links.forEach(Link::reset);
    }
  }

  public void heal() throws IOException {
    Cut was = cut;
    if (was == Cut.RESET) {
      ServerSocket s = new ServerSocket();
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress("127.0.0.1", port));
      listen(s);
    }
    synchronized (gate) {
      long now = System.nanoTime();
      for (Link l : links) {
        l.resumeAt = switch (was) {
          case BLACKHOLE_OLD_STAY_DEAD -> Long.MAX_VALUE;
          case BLACKHOLE_RTO -> nextRetransmission(l.createdDuringCut ? l.createdAt : cutAt, l.createdDuringCut ? 1000 : 200, now);
          default -> now;
        };
      }
      cut = null;
      gate.notifyAll();
    }
  }

  /**
   * When TCP sends again on a connection that has had no answer since {@code since}: its
   * retransmission timeout starts at {@code firstMs} (200 ms on an established connection, 1 s for
   * a SYN) and doubles up to 120 s.
   */
  static long nextRetransmission(long since, long firstMs, long now) {
    long at = since;
    long rto = Duration.ofMillis(firstMs).toNanos();
    while (at < now) {
      at += rto;
      rto = Math.min(rto * 2, Duration.ofSeconds(120).toNanos());
    }
    return at;
  }

  @Override
  public void close() throws IOException {
    closed = true;
    synchronized (gate) {
      gate.notifyAll();
    }
    listener.close();
    links.forEach(Link::reset);
    threads.shutdownNow();
  }
}
