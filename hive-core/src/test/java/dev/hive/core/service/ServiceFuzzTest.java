package dev.hive.core.service;

import static dev.hive.core.fuzz.Refusal.decodesOrRefuses;
import static dev.hive.core.fuzz.Refusal.shown;
import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.DictionaryFile;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.hive.api.InvalidSpecException;
import java.io.IOException;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;

/**
 * What reaches the service layer from outside: DNS queries from anyone who can send a datagram to
 * the DNS port, and the endpoint pushes of other nodes. A query is answered (or dropped when too
 * short to carry an id), never with an exception, and the answer is a DNS message with the query's
 * id that fits the transport; a push is read or refused with an {@link InvalidSpecException}.
 */
class ServiceFuzzTest {
  /** One server answering from a catalog with two services on two nodes; started once, its sockets unused. */
  private static final class Serving {
    static final ServiceDns DNS;

    static {
      ServiceCatalog catalog = new ServiceCatalog("n1", Clock.systemUTC());
      catalog.define(ServiceDnsTest.withApps(ServiceDnsTest.web("web", 8080), ServiceDnsTest.web("db", 5432)));
      catalog.publishLocal(List.of(new ServiceEndpoint("web", "web-app", "web-app-0", "n1", "10.0.0.1", 31001)));
      catalog.accept(new ServiceCatalog.Update("n2", 5, List.of(new ServiceEndpoint("web", "web-app", "web-app-1", "n2", "fd00::2", 31002))));
      Map<String, String> nodes = Map.of("n1", "10.0.0.1", "n2", "fd00::2");
      DNS = ServiceDns.start(catalog, id -> Optional.ofNullable(nodes.get(id)), "hive", 5, "127.0.0.1", 0);
    }
  }

  @FuzzTest
  @DictionaryFile(resourcePath = "dns.dict")
  void dnsQuery(byte[] query) throws IOException {
    for (boolean udp : new boolean[] {true, false}) {
      byte[] reply;
      try {
        reply = Serving.DNS.answer(query, udp);
      } catch (RuntimeException e) {
        throw new AssertionError("query " + shown(query) + " escaped the DNS server as " + e, e);
      }
      if (reply == null) {
        assertThat(query.length).as("only a query too short for an id goes unanswered").isLessThan(12);
        continue;
      }
      Message answer = new Message(reply);
      assertThat(answer.getHeader().getID()).isEqualTo(((query[0] & 0xff) << 8) | (query[1] & 0xff));
      assertThat(answer.getHeader().getFlag(Flags.QR)).as("an answer, not a query").isTrue();
      if (udp) {
        assertThat(reply.length).as("a UDP answer fits the largest payload a resolver can announce").isLessThanOrEqualTo(65535);
      }
    }
  }

  @FuzzTest
  @DictionaryEntries({"\"node\"", "\"version\"", "\"endpoints\"", "\"service\"", "\"app\"", "\"instance\"", "\"host\"", "\"port\""})
  void catalogPush(byte[] push) {
    ServiceCatalog.Update update = decodesOrRefuses(push, InvalidSpecException.class, () -> ServiceCatalog.decode(push));
    if (update != null) {
      ServiceCatalog catalog = new ServiceCatalog("n1", Clock.systemUTC());
      catalog.accept(update);
    }
  }
}
