package dev.hive.core.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hive.api.InvalidSpecException;
import dev.hive.api.NodeState;
import dev.hive.core.sim.VirtualClock;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ServiceCatalogTest {
  private final VirtualClock clock = new VirtualClock(java.time.Instant.parse("2026-01-01T00:00:00Z"));

  @Test
  void aPushRoundTripsAndOnlyNewerVersionsReplaceWhatANodePublished() {
    ServiceCatalog a = new ServiceCatalog("a", clock);
    ServiceCatalog b = new ServiceCatalog("b", clock);
    a.define(ServiceDnsTest.withApps(ServiceDnsTest.web("web", 8080)));
    b.define(ServiceDnsTest.withApps(ServiceDnsTest.web("web", 8080)));
    assertThat(a.publishLocal(List.of(new ServiceEndpoint("web", "web-app", "i1", "a", "10.0.0.1", 30001)))).isTrue();
    assertThat(a.publishLocal(List.of(new ServiceEndpoint("web", "web-app", "i1", "a", "10.0.0.1", 30001)))).as("unchanged").isFalse();
    ServiceCatalog.Update first = ServiceCatalog.decode(a.encodeLocal());
    b.accept(first);
    assertThat(b.endpoints("web")).extracting(ServiceEndpoint::address).containsExactly("10.0.0.1:30001");
    a.publishLocal(List.of());
    b.accept(ServiceCatalog.decode(a.encodeLocal()));
    assertThat(b.endpoints("web")).isEmpty();
    b.accept(first);
    assertThat(b.endpoints("web")).as("a stale push changes nothing").isEmpty();
  }

  @Test
  void nodesThatAreGoneOrUnlistedAndSilentAreForgottenButLiveOnesAreKeptHoweverOld() {
    ServiceCatalog c = new ServiceCatalog("a", clock);
    c.define(ServiceDnsTest.withApps(ServiceDnsTest.web("web", 8080)));
    c.accept(new ServiceCatalog.Update("b", 1, List.of(new ServiceEndpoint("web", "web-app", "i1", "b", "10.0.0.2", 30001))));
    c.accept(new ServiceCatalog.Update("c", 1, List.of(new ServiceEndpoint("web", "web-app", "i2", "c", "10.0.0.3", 30001))));
    c.accept(new ServiceCatalog.Update("d", 1, List.of(new ServiceEndpoint("web", "web-app", "i3", "d", "10.0.0.4", 30001))));
    c.forget(Map.of("b", NodeState.DEAD, "c", NodeState.ALIVE), Duration.ofSeconds(10));
    assertThat(c.endpoints("web")).as("b is DEAD; d is not listed yet, but pushed just now").extracting(ServiceEndpoint::node).containsExactly("c", "d");
    clock.advance(Duration.ofSeconds(11));
    c.forget(Map.of("c", NodeState.ALIVE), Duration.ofSeconds(10));
    assertThat(c.endpoints("web")).as("c pushes only on change; d is still not listed").extracting(ServiceEndpoint::node).containsExactly("c");
    c.forget(Map.of("c", NodeState.LEFT), Duration.ofSeconds(10));
    assertThat(c.endpoints("web")).isEmpty();
  }

  @Test
  void endpointsOfAnAppThatNoLongerProvidesTheServiceAreNotListed() {
    ServiceCatalog c = new ServiceCatalog("a", clock);
    c.define(ServiceDnsTest.withApps(ServiceDnsTest.web("web", 8080)));
    c.accept(new ServiceCatalog.Update("b", 1, List.of(new ServiceEndpoint("web", "old-app", "i1", "b", "10.0.0.2", 30001))));
    assertThat(c.endpoints("web")).isEmpty();
    assertThat(c.endpoints("unknown")).isEmpty();
  }

  @Test
  void malformedPushesAreRefusedWithWhatWasWrong() {
    for (String bad : List.of("not json", "{}", "{\"node\":\"b\",\"version\":1}",
        "{\"node\":\"b\",\"version\":1,\"endpoints\":[{\"service\":\"Bad_Name\",\"app\":\"x\",\"instance\":\"i\",\"host\":\"h\",\"port\":1}]}",
        "{\"node\":\"b\",\"version\":1,\"endpoints\":[{\"service\":\"web\",\"app\":\"x\",\"instance\":\"i\",\"host\":\"h\",\"port\":70000}]}")) {
      assertThatThrownBy(() -> ServiceCatalog.decode(bad.getBytes(StandardCharsets.UTF_8))).as(bad).isInstanceOf(InvalidSpecException.class)
          .hasMessageContaining("endpoints");
    }
  }
}
