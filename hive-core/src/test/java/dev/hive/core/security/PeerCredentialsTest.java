package dev.hive.core.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import org.junit.jupiter.api.Test;

/** The owner of a loopback connection's client end, found in the kernel's socket tables. */
class PeerCredentialsTest {
  @Test
  void rowsDecodeAsTheKernelPrintsThem() throws Exception {
    // 127.0.0.1:45678 -> 127.0.0.1:3000, uid 1000, from a real /proc/net/tcp.
    String v4 = "   3: 0100007F:B26E 0100007F:0BB8 01 00000000:00000000 00:00000000 00000000  1000        0 123456 1 0000000000000000 20 4 30 10 -1";
    InetSocketAddress client = new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 45678);
    InetSocketAddress server = new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 3000);
    assertThat(PeerCredentials.match(v4, client, server)).hasValue(1000);
    assertThat(PeerCredentials.match(v4, server, client)).isEmpty();
    // ::1 and an IPv4-mapped ::ffff:127.0.0.1 in /proc/net/tcp6.
    String v6 = "   0: 00000000000000000000000001000000:B26E 00000000000000000000000001000000:0BB8 01 00000000:00000000 00:00000000 00000000     0        0 1 1";
    assertThat(PeerCredentials.match(v6, new InetSocketAddress(InetAddress.getByName("::1"), 45678), new InetSocketAddress(InetAddress.getByName("::1"), 3000)))
        .hasValue(0);
    String mapped = "   0: 0000000000000000FFFF00000100007F:B26E 0000000000000000FFFF00000100007F:0BB8 01 00000000:00000000 00:00000000 00000000    65534        0 1 1";
    assertThat(PeerCredentials.match(mapped, client, server)).hasValue(65534);
    assertThat(PeerCredentials.match("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid", client, server)).isEmpty();
  }

  @Test
  void aRealConnectionIsFoundAsThisProcesssUser() throws Exception {
    try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        Socket client = new Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort());
        Socket accepted = listener.accept();
        InputStream ignored = accepted.getInputStream()) {
      assertThat(PeerCredentials.uidOf((InetSocketAddress) accepted.getRemoteSocketAddress(), (InetSocketAddress) accepted.getLocalSocketAddress()))
          .isEqualTo(PeerCredentials.ownUid());
    }
  }
}
