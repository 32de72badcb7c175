package dev.hive.core.follow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.hive.api.AppSpec;
import dev.hive.api.CommandStatus;
import dev.hive.api.ConflictException;
import dev.hive.api.HiveException;
import dev.hive.api.NotFoundException;
import dev.hive.api.OutcomeUnknownException;
import dev.hive.core.sim.SimulatedConsensus;
import dev.hive.core.state.Command;
import dev.hive.core.transport.memory.InMemoryNetwork;
import dev.hive.spi.DiscoveredPeer;
import dev.hive.spi.Transport;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A client follows servers' feeds over an in-memory network, on the real feed and client code and a log that commits at once. */
class FollowTest {
  private final InMemoryNetwork network = InMemoryNetwork.realTime();
  private final SimulatedConsensus log = new SimulatedConsensus();
  private final List<DiscoveredPeer> servers = new ArrayList<>();
  private final List<ChangeFeed> feeds = new ArrayList<>();
  private final ScheduledExecutorService ticks = Executors.newSingleThreadScheduledExecutor();
  private FollowedLog client;

  @BeforeEach
  void start() {
    for (String id : List.of("s1", "s2")) {
      Transport t = network.transport(id);
      ChangeFeed feed = new ChangeFeed(t, log, Clock.systemUTC(), Executors.newSingleThreadExecutor(), Executors.newCachedThreadPool());
      int port = t.listen("10.0.0.1", 0, feed::handle);
      servers.add(new DiscoveredPeer(id, "10.0.0.1", port));
      feeds.add(feed.start());
    }
    Transport t = network.transport("c1");
    FollowedLog[] self = new FollowedLog[1];
    int port = t.listen("10.0.0.2", 0, (from, topic, payload) -> self[0].handle(from, topic, payload));
    client = new FollowedLog(t, "10.0.0.2", port, () -> List.copyOf(servers), Clock.systemUTC(), Duration.ofSeconds(3));
    self[0] = client;
    ticks.scheduleWithFixedDelay(() -> {
      client.tick();
      feeds.forEach(ChangeFeed::tick);
    }, 0, 100, TimeUnit.MILLISECONDS);
  }

  @AfterEach
  void stop() {
    ticks.shutdownNow();
    client.close();
  }

  private static Command deploy(String name) {
    return new Command.DeployApp(AppSpec.builder(name).command("sleep 60").build(), 1000);
  }

  @Test
  void aClientStartsFromASnapshotThenFollowsEachChangeAndReadsItsOwnWrites() {
    log.submitAsync(deploy("before"), "r0");
    await().atMost(Duration.ofSeconds(5)).until(() -> client.index() == log.index());
    assertThat(client.state().apps()).containsKey("before");
    assertThat(client.received()[1]).isEqualTo(1);

    client.submit(deploy("web"), "r1");
    // The write returns once the client's own copy holds it.
    assertThat(client.state().apps()).containsKey("web");
    assertThat(client.state()).isEqualTo(log.state());
    log.submitAsync(new Command.ScaleApp("web", 3), "r2");
    await().atMost(Duration.ofSeconds(5)).until(() -> client.state().apps().get("web").spec().replicas() == 3);
    assertThat(client.received()[1]).as("snapshots").isEqualTo(1);
    assertThat(client.state()).isEqualTo(log.state());
  }

  @Test
  void aRefusalReachesTheClientAsTheSameExceptionAndARepeatedIdAppliesOnce() {
    client.submit(deploy("web"), "r1");
    assertThatThrownBy(() -> client.submit(deploy("web"), "r2")).isInstanceOf(ConflictException.class).hasMessageContaining("already exists");
    assertThatThrownBy(() -> client.submit(new Command.ScaleApp("nope", 2), null)).isInstanceOf(NotFoundException.class);
    long before = log.index();
    client.submit(deploy("web"), "r1");
    assertThat(log.state().apps()).hasSize(1);
    assertThat(client.status("r1").state()).isEqualTo(CommandStatus.State.APPLIED);
    assertThat(client.status("r2").state()).isEqualTo(CommandStatus.State.REFUSED);
    assertThatThrownBy(() -> client.status("never")).isInstanceOf(NotFoundException.class);
    assertThat(log.index()).isGreaterThan(before);
    assertThat(client.currentState()).isEqualTo(log.state());
  }

  @Test
  void aClientCutOffResumesFromItsIndexAndSwitchesServerWhenItsServerDies() {
    client.submit(deploy("a"), "r1");
    String first = client.serverId();
    network.cutOff("c1");
    for (int i = 0; i < 5; i++) {
      log.submitAsync(deploy("b" + i), "rb" + i);
    }
    network.reconnect("c1");
    await().atMost(Duration.ofSeconds(10)).until(() -> client.index() == log.index());
    assertThat(client.received()[1]).as("no second snapshot: the changes after its index were kept").isEqualTo(1);
    assertThat(client.state()).isEqualTo(log.state());

    network.cutOff(first);
    log.submitAsync(deploy("c"), "rc");
    await().atMost(Duration.ofSeconds(10)).until(() -> client.index() == log.index());
    assertThat(client.serverId()).isNotEqualTo(first);
    assertThat(client.state().apps()).containsKey("c");
  }

  @Test
  void aClientFurtherBehindThanTheKeptChangesGetsAFreshSnapshot() {
    client.submit(deploy("a"), "r1");
    network.cutOff("c1");
    for (int i = 0; i < ChangeFeed.RETAINED + 10; i++) {
      log.submitAsync(new Command.ScaleApp("a", 1 + i % 3), "s" + i);
    }
    network.reconnect("c1");
    await().atMost(Duration.ofSeconds(10)).until(() -> client.index() == log.index());
    assertThat(client.received()[1]).isEqualTo(2);
    assertThat(client.state()).isEqualTo(log.state());
  }

  @Test
  void aServerThatKnowsNoLeaderIsLeftAndAWriteWithNoServerIsUnknown() {
    client.submit(deploy("a"), "r1");
    String first = client.serverId();
    log.leader(null);
    await().atMost(Duration.ofSeconds(10)).until(() -> !first.equals(client.serverId()) && client.serverId() != null);
    log.leader("leader");
    servers.forEach(s -> network.cutOff(s.nodeId()));
    assertThatThrownBy(() -> client.submit(deploy("b"), "r2")).isInstanceOf(OutcomeUnknownException.class).hasMessageContaining("r2");
    servers.forEach(s -> network.reconnect(s.nodeId()));
  }

  /**
   * A write taken while no server can be reached is of unknown outcome, and the caller is told to
   * ask its status: once the deadline has passed, the client settles it through a server, by its
   * deadline, though no server ever saw it (they answered "no command with request id ... is known").
   */
  @Test
  void aWriteTakenWhileCutOffFromEveryServerIsSettledRefusedAfterTheHeal() {
    client.submit(deploy("a"), "r1");
    network.cutOff("c1");
    assertThatThrownBy(() -> client.submit(deploy("b"), "cut-1")).isInstanceOf(OutcomeUnknownException.class);
    network.reconnect("c1");
    assertThat(client.status("cut-1").state()).isEqualTo(CommandStatus.State.REFUSED);
    assertThat(log.state().apps()).doesNotContainKey("b");
    assertThatThrownBy(() -> client.status("never-taken")).isInstanceOf(NotFoundException.class);
  }

  /**
   * A write held up in the network (a partition) reaches a server after its caller was told its
   * outcome is unknown and can never apply after its deadline: the server keeps that deadline,
   * and the write is refused (PartitionIT saw it apply, with a fresh deadline, after the heal).
   */
  @Test
  void aWriteThatArrivesAfterItsDeadlineIsRefused() {
    byte[] late = FollowWire.encode(new FollowWire.Ask("q1", FollowWire.AskKind.WRITE, "late-1", System.currentTimeMillis() - 1000,
        new dev.hive.core.state.StateCodec().encode(deploy("late")), "10.0.0.2", servers.get(0).port()));
    feeds.get(0).handle("c1", ChangeFeed.ASK, late);
    assertThat(log.state().apps()).doesNotContainKey("late");
    assertThat(log.status("late-1").state()).isEqualTo(CommandStatus.State.REFUSED);
  }

  @Test
  void malformedMessagesAreRefusedWithWhatIsWrong() {
    assertThatThrownBy(() -> FollowWire.decodeUpdate(new byte[0])).isInstanceOf(HiveException.class).hasMessageContaining("ends too early");
    assertThatThrownBy(() -> FollowWire.decodeUpdate(new byte[] {9})).hasMessageContaining("version 9");
    byte[] update = FollowWire.encode(new FollowWire.Update(3, 5, "l", List.of(new FollowWire.Change(4, new byte[] {1, 2})), null));
    assertThat(FollowWire.decodeUpdate(update).changes()).hasSize(1);
    byte[] backwards = FollowWire.encode(new FollowWire.Update(3, 5, "l", List.of(new FollowWire.Change(2, new byte[] {1})), null));
    assertThatThrownBy(() -> FollowWire.decodeUpdate(backwards)).hasMessageContaining("not after 3");
    byte[] truncated = java.util.Arrays.copyOf(update, update.length - 1);
    assertThatThrownBy(() -> FollowWire.decodeUpdate(truncated)).hasMessageContaining("bytes");
    byte[] trailing = java.util.Arrays.copyOf(update, update.length + 1);
    assertThatThrownBy(() -> FollowWire.decodeUpdate(trailing)).hasMessageContaining("after its end");
    byte[] badPort = FollowWire.encode(new FollowWire.Subscribe(1, "h", 1));
    badPort[badPort.length - 1] = 0;
    assertThatThrownBy(() -> FollowWire.decodeSubscribe(badPort)).hasMessageContaining("port 0");
    assertThatThrownBy(() -> client.handle("s1", "hive.follow.other", new byte[0])).hasMessageContaining("not hive.follow.other");
    byte[] redirect = FollowWire.encode(FollowWire.Update.redirect(7, "l", 0, List.of(new DiscoveredPeer("c4", "10.0.0.4", 7946))));
    assertThat(FollowWire.decodeUpdate(redirect).redirect()).containsExactly(new DiscoveredPeer("c4", "10.0.0.4", 7946));
    byte[] tooDeep = FollowWire.encode(new FollowWire.Update(3, 5, "l", FollowWire.MAX_HOPS + 1, List.of(), null, List.of()));
    assertThatThrownBy(() -> FollowWire.decodeUpdate(tooDeep)).hasMessageContaining("relays away from a server; at most " + FollowWire.MAX_HOPS);
    byte[] unknownKind = update.clone();
    unknownKind[1] = 7;
    assertThatThrownBy(() -> FollowWire.decodeUpdate(unknownKind)).hasMessageContaining("update kind 7");
    byte[] noRelays = redirect.clone();
    noRelays[redirect.length - (2 + "c4".length()) - (2 + "10.0.0.4".length()) - 4 - 1] = 0;
    assertThatThrownBy(() -> FollowWire.decodeUpdate(noRelays)).hasMessageContaining("a redirect to 0 relays");
    FollowedLog following = new FollowedLog(network.transport("c2"), "10.0.0.3", 7946, List::of, Clock.systemUTC(), Duration.ofSeconds(3));
    assertThatThrownBy(() -> following.handle("c9", ChangeFeed.SUBSCRIBE, FollowWire.encode(new FollowWire.Subscribe(-1, "10.0.0.9", 7946))))
        .hasMessageContaining("no healthy server to relay from");
  }
}
