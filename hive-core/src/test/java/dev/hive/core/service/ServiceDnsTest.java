package dev.hive.core.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hive.api.AppSpec;
import dev.hive.api.InvalidSpecException;
import dev.hive.core.state.ClusterState;
import dev.hive.core.state.Command;
import dev.hive.core.state.StateMachine;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

/** The DNS server over real UDP and TCP sockets, asked by dnsjava's own resolver. */
class ServiceDnsTest {
  private final ServiceCatalog catalog = new ServiceCatalog("n1", Clock.systemUTC());
  private ServiceDns dns;
  private SimpleResolver resolver;

  static ClusterState withApps(AppSpec... specs) {
    ClusterState s = ClusterState.EMPTY;
    for (AppSpec spec : specs) {
      s = StateMachine.apply(s, new Command.DeployApp(spec, 0));
    }
    return s;
  }

  static AppSpec web(String service, int port) {
    return AppSpec.builder(service + "-app").command("true").port(port).service(service, 0).build();
  }

  @BeforeEach
  void start() throws Exception {
    catalog.define(withApps(web("web", 8080), web("db", 5432)));
    catalog.publishLocal(List.of(new ServiceEndpoint("web", "web-app", "web-app-0", "n1", "10.0.0.1", 31001)));
    catalog.accept(new ServiceCatalog.Update("n2", 5, List.of(
        new ServiceEndpoint("web", "web-app", "web-app-1", "n2", "10.0.0.2", 31002),
        new ServiceEndpoint("web", "web-app", "web-app-2", "n2", "10.0.0.2", 31003))));
    Map<String, String> nodes = Map.of("n1", "10.0.0.1", "n2", "10.0.0.2");
    dns = ServiceDns.start(catalog, id -> Optional.ofNullable(nodes.get(id)), "hive", 5, "127.0.0.1", 0);
    resolver = new SimpleResolver("127.0.0.1");
    resolver.setPort(dns.port());
  }

  @AfterEach
  void stop() {
    if (dns != null) {
      dns.close();
    }
  }

  private Message ask(String name, int type) throws Exception {
    return resolver.send(Message.newQuery(Record.newRecord(Name.fromString(name), type, DClass.IN)));
  }

  @Test
  void aServiceNameAnswersTheAddressOfEachNodeWithAHealthyInstance() throws Exception {
    Message reply = ask("web.hive.", Type.A);
    assertThat(reply.getRcode()).isEqualTo(Rcode.NOERROR);
    assertThat(reply.getHeader().getFlag(Flags.AA)).isTrue();
    assertThat(reply.getSection(Section.ANSWER)).extracting(r -> r.rdataToString()).containsExactlyInAnyOrder("10.0.0.1", "10.0.0.2");
    assertThat(reply.getSection(Section.ANSWER)).allSatisfy(r -> assertThat(r.getTTL()).isEqualTo(5));
  }

  @Test
  void srvRecordsNameEachInstancesNodeAndHostPortWithTheAddressesAdded() throws Exception {
    Message reply = ask("_web._tcp.hive.", Type.SRV);
    assertThat(reply.getSection(Section.ANSWER)).map(r -> ((SRVRecord) r).getPort()).containsExactlyInAnyOrder(31001, 31002, 31003);
    assertThat(reply.getSection(Section.ANSWER)).map(r -> ((SRVRecord) r).getTarget().toString()).contains("n1.node.hive.", "n2.node.hive.");
    assertThat(reply.getSection(Section.ADDITIONAL)).filteredOn(r -> r.getType() == Type.A).extracting(r -> r.getName() + " " + r.rdataToString())
        .containsExactlyInAnyOrder("n1.node.hive. 10.0.0.1", "n2.node.hive. 10.0.0.2");
    assertThat(ask("n2.node.hive.", Type.A).getSection(Section.ANSWER)).extracting(Record::rdataToString).containsExactly("10.0.0.2");
  }

  @Test
  void anInstanceThatLeavesTheCatalogLeavesTheAnswer() throws Exception {
    catalog.accept(new ServiceCatalog.Update("n2", 6, List.of(new ServiceEndpoint("web", "web-app", "web-app-1", "n2", "10.0.0.2", 31002))));
    assertThat(ask("_web._tcp.hive.", Type.SRV).getSection(Section.ANSWER)).map(r -> ((SRVRecord) r).getPort()).containsExactlyInAnyOrder(31001, 31002);
    // An older push (reordered on the way) does not bring it back.
    catalog.accept(new ServiceCatalog.Update("n2", 4, List.of()));
    assertThat(ask("_web._tcp.hive.", Type.SRV).getSection(Section.ANSWER)).hasSize(2);
  }

  @Test
  void unknownNamesAreNxdomainAServiceWithoutHealthyInstancesIsEmptyAndForeignNamesAreRefused() throws Exception {
    Message unknown = ask("nope.hive.", Type.A);
    assertThat(unknown.getRcode()).isEqualTo(Rcode.NXDOMAIN);
    assertThat(unknown.getSection(Section.AUTHORITY)).extracting(Record::getType).containsExactly(Type.SOA);
    assertThat(ask("_nope._tcp.hive.", Type.SRV).getRcode()).isEqualTo(Rcode.NXDOMAIN);
    assertThat(ask("ghost.node.hive.", Type.A).getRcode()).isEqualTo(Rcode.NXDOMAIN);
    Message empty = ask("db.hive.", Type.A);
    assertThat(empty.getRcode()).isEqualTo(Rcode.NOERROR);
    assertThat(empty.getSection(Section.ANSWER)).isEmpty();
    assertThat(ask("example.com.", Type.A).getRcode()).isEqualTo(Rcode.REFUSED);
    assertThat(ask("WEB.HIVE.", Type.A).getSection(Section.ANSWER)).hasSize(2);
  }

  @Test
  void tcpAnswersTheSameAsUdp() throws Exception {
    resolver.setTCP(true);
    assertThat(ask("_web._tcp.hive.", Type.SRV).getSection(Section.ANSWER)).hasSize(3);
  }

  @Test
  void garbageGetsFormerrOrNothingAndTheServerKeepsAnswering() throws Exception {
    byte[] garbage = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x7f, 0x41};
    Message formerr = new Message(dns.answer(garbage, true));
    assertThat(formerr.getHeader().getID()).isEqualTo(0x1234);
    assertThat(formerr.getRcode()).isEqualTo(Rcode.FORMERR);
    assertThat(dns.answer(new byte[] {1, 2, 3}, true)).isNull();
    try (java.net.DatagramSocket s = new java.net.DatagramSocket()) {
      s.send(new java.net.DatagramPacket(garbage, garbage.length, java.net.InetAddress.getLoopbackAddress(), dns.port()));
    }
    assertThat(ask("web.hive.", Type.A).getSection(Section.ANSWER)).hasSize(2);
  }

  @Test
  void aBadDomainOrATakenPortIsRefusedClearly() {
    assertThatThrownBy(() -> ServiceDns.domainName("bad..name")).isInstanceOf(InvalidSpecException.class).hasMessageContaining("not a domain name");
    assertThatThrownBy(() -> ServiceDns.start(catalog, id -> Optional.empty(), "hive", 5, "127.0.0.1", dns.port()))
        .hasMessageContaining("cannot listen on 127.0.0.1:" + dns.port()).hasMessageContaining("--dns-port");
  }
}
