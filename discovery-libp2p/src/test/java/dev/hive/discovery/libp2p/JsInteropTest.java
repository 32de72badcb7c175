package dev.hive.discovery.libp2p;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.hive.discovery.libp2p.host.Host;
import dev.hive.discovery.libp2p.host.PeerInfo;
import dev.hive.discovery.libp2p.kad.Kademlia;
import dev.hive.discovery.libp2p.pubsub.Gossipsub;
import dev.hive.discovery.libp2p.wire.Multiaddr;
import dev.hive.discovery.libp2p.wire.PeerKeys;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The Java stack against real js-libp2p peers (Node 20, the pinned js-libp2p 2.10 stack), both directions. */
class JsInteropTest {
  private final List<AutoCloseable> opened = new ArrayList<>();

  /** A Java libp2p node: host, DHT and gossipsub, on loopback. */
  record JavaNode(Host host, Kademlia dht, Gossipsub pubsub, Multiaddr addr) {}

  private JavaNode java() throws Exception {
    Host host = new Host(PeerKeys.generate(), "hive/test");
    Kademlia dht = new Kademlia(host, Kademlia.DEFAULT_PROTOCOL, Clock.systemUTC());
    dht.validator("hive", (key, value) -> {});
    Gossipsub pubsub = new Gossipsub(host, Duration.ofMillis(500));
    int port = host.listen("127.0.0.1", 0);
    opened.add(pubsub);
    opened.add(dht);
    opened.add(host);
    return new JavaNode(host, dht, pubsub, Multiaddr.tcp("127.0.0.1", port).withPeerId(host.peerId()));
  }

  private JsPeer js(Object... topics) throws Exception {
    JsPeer peer = JsPeer.start(Map.of("topics", List.of(topics)));
    opened.add(peer);
    return peer;
  }

  @AfterEach
  void closeAll() throws Exception {
    for (int i = opened.size() - 1; i >= 0; i--) {
      opened.get(i).close();
    }
  }

  @Test
  void javaDialsJsAndBothIdentifyAndPingAndJavaEntersTheJsRoutingTable() throws Exception {
    JsPeer js = js();
    JavaNode a = java();
    a.dht().bootstrap(List.of(js.addr), Duration.ZERO);
    PeerInfo seen = a.host().peer(js.peerId).orElseThrow();
    assertThat(seen.protocols()).contains(Kademlia.DEFAULT_PROTOCOL, Host.PING, Host.IDENTIFY, Gossipsub.MESHSUB_1_1);
    assertThat(seen.agentVersion()).startsWith("js-libp2p/");
    assertThat(a.host().ping(js.peerId, Duration.ofSeconds(5))).isGreaterThanOrEqualTo(0);
    assertThat(js.call("ping", "peer", a.host().peerId().toString()).asDouble()).isGreaterThanOrEqualTo(0);
    JsonNode info = js.call("peerInfo", "peer", a.host().peerId().toString());
    assertThat(JsPeer.strings(info.get("protocols"))).contains(Kademlia.DEFAULT_PROTOCOL, Host.PING, Gossipsub.MESHSUB_1_1);
    assertThat(info.get("agent").asText()).isEqualTo("hive/test");
    await().atMost(Duration.ofSeconds(20)).until(() -> js.call("inRoutingTable", "peer", a.host().peerId().toString()).asBoolean());
    assertThat(a.dht().routingTable().contains(js.peerId)).isTrue();
  }

  @Test
  void jsDialsJava() throws Exception {
    JsPeer js = js();
    JavaNode a = java();
    assertThat(js.call("dial", "addr", a.addr().toString()).asText()).isEqualTo(a.host().peerId().toString());
    // js's DHT pings a new peer itself, and js allows one outbound ping stream at a time.
    await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> js.call("ping", "peer", a.host().peerId().toString()).asDouble() >= 0);
    await().atMost(Duration.ofSeconds(10)).until(() -> a.host().peer(js.peerId).map(p -> p.protocols().contains(Host.PING)).orElse(false));
    assertThat(a.host().ping(js.peerId, Duration.ofSeconds(5))).isGreaterThanOrEqualTo(0);
  }

  @Test
  void valuesAndProviderRecordsCrossBothWays() throws Exception {
    JsPeer js = js();
    JavaNode a = java();
    a.dht().bootstrap(List.of(js.addr), Duration.ZERO);
    await().atMost(Duration.ofSeconds(20)).until(() -> js.call("inRoutingTable", "peer", a.host().peerId().toString()).asBoolean());

    byte[] javaKey = "/hive/from-java".getBytes(StandardCharsets.UTF_8);
    assertThat(a.dht().putValue(javaKey, "java-value".getBytes(StandardCharsets.UTF_8))).isEqualTo(1);
    assertThat(Base64.getDecoder().decode(js.call("get", "key", JsPeer.b64(javaKey)).asText())).asString(StandardCharsets.UTF_8).isEqualTo("java-value");

    byte[] jsKey = "/hive/from-js".getBytes(StandardCharsets.UTF_8);
    js.call("put", "key", JsPeer.b64(jsKey), "value", JsPeer.b64("js-value".getBytes(StandardCharsets.UTF_8)));
    assertThat(a.dht().getValue(jsKey)).hasValueSatisfying(v -> assertThat(new String(v, StandardCharsets.UTF_8)).isEqualTo("js-value"));

    byte[] javaProvided = Kademlia.providerKey("java content".getBytes(StandardCharsets.UTF_8));
    assertThat(a.dht().provide(javaProvided)).isEqualTo(1);
    assertThat(JsPeer.strings(js.call("findProviders", "key", JsPeer.b64(javaProvided)))).containsExactly(a.host().peerId().toString());

    byte[] jsProvided = Kademlia.providerKey("js content".getBytes(StandardCharsets.UTF_8));
    js.call("provide", "key", JsPeer.b64(jsProvided));
    assertThat(a.dht().findProviders(jsProvided, 1)).contains(js.peerId);
  }

  @Test
  void findNodeFindsAPeerKnownOnlyToTheOtherSide() throws Exception {
    JsPeer middle = js();
    JsPeer onlyKnownToJs = js();
    onlyKnownToJs.call("dial", "addr", middle.addr.toString());
    await().atMost(Duration.ofSeconds(20)).until(() -> middle.call("inRoutingTable", "peer", onlyKnownToJs.peerId.toString()).asBoolean());
    JavaNode a = java();
    a.dht().bootstrap(List.of(middle.addr), Duration.ZERO);
    // Java asks js: the js-only peer's addresses come back in FIND_NODE answers.
    assertThat(a.dht().findPeer(onlyKnownToJs.peerId)).hasValueSatisfying(addrs -> assertThat(addrs).contains(onlyKnownToJs.addr.withoutPeerId()));

    // js asks Java: a Java peer known only to Java node a.
    JavaNode onlyKnownToJava = java();
    onlyKnownToJava.dht().bootstrap(List.of(a.addr()), Duration.ZERO);
    await().atMost(Duration.ofSeconds(20)).until(() -> a.dht().routingTable().contains(onlyKnownToJava.host().peerId()));
    JsPeer asker = js();
    asker.call("dial", "addr", a.addr().toString());
    await().atMost(Duration.ofSeconds(20)).until(() -> asker.call("inRoutingTable", "peer", a.host().peerId().toString()).asBoolean());
    assertThat(JsPeer.strings(asker.call("findPeer", "peer", onlyKnownToJava.host().peerId().toString())))
        .contains(onlyKnownToJava.addr().withoutPeerId().toString());
  }

  @Test
  void gossipCrossesBothWaysSignedAndThroughAJsRelay() throws Exception {
    String topic = "hive-interop";
    JsPeer js = js(topic);
    JavaNode a = java();
    BlockingQueue<String> atA = new LinkedBlockingQueue<>();
    a.pubsub().subscribe(topic, (t, data, from) -> atA.add(from + ":" + new String(data, StandardCharsets.UTF_8)));
    a.dht().bootstrap(List.of(js.addr), Duration.ZERO);
    await().atMost(Duration.ofSeconds(20)).until(() -> JsPeer.strings(js.call("meshPeers", "topic", topic)).contains(a.host().peerId().toString())
        && a.pubsub().meshPeers(topic).contains(js.peerId));

    a.pubsub().publish(topic, "from java".getBytes(StandardCharsets.UTF_8));
    JsonNode got = js.messages.poll(10, TimeUnit.SECONDS);
    assertThat(got).isNotNull();
    assertThat(got.get("from").asText()).isEqualTo(a.host().peerId().toString());
    assertThat(new String(Base64.getDecoder().decode(got.get("data").asText()), StandardCharsets.UTF_8)).isEqualTo("from java");

    js.call("publish", "topic", topic, "data", JsPeer.b64("from js".getBytes(StandardCharsets.UTF_8)));
    assertThat(atA.poll(10, TimeUnit.SECONDS)).isEqualTo(js.peerId + ":from js");

    // Java b knows only the js peer: a's message reaches it through js's mesh.
    JavaNode b = java();
    BlockingQueue<String> atB = new LinkedBlockingQueue<>();
    b.pubsub().subscribe(topic, (t, data, from) -> atB.add(from + ":" + new String(data, StandardCharsets.UTF_8)));
    // Only a connection to js, no DHT lookup that could lead b to a.
    b.host().dial(js.peerId, List.of(js.addr), Duration.ofSeconds(5));
    await().atMost(Duration.ofSeconds(20)).until(() -> JsPeer.strings(js.call("meshPeers", "topic", topic)).contains(b.host().peerId().toString()));
    a.pubsub().publish(topic, "relayed".getBytes(StandardCharsets.UTF_8));
    assertThat(atB.poll(10, TimeUnit.SECONDS)).isEqualTo(a.host().peerId() + ":relayed");
    assertThat(b.host().connection(a.host().peerId())).isEmpty();
  }

}
