package dev.hive.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.hive.api.App;
import dev.hive.api.AppSpec;
import dev.hive.api.Cluster;
import dev.hive.api.ConflictException;
import dev.hive.api.Hive;
import dev.hive.api.HiveEvent;
import dev.hive.api.InstanceState;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.NotFoundException;
import dev.hive.api.Subscription;
import dev.hive.api.UnavailableException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The public API on hive-core's embedded defaults, in this JVM. */
class EmbeddedClusterTest {
  @TempDir Path dir;

  @Test
  void deployScaleAndDeleteThroughTheApiWithEvents() {
    try (Cluster cluster = Hive.builder().dataDir(dir).nodeName("embedded").start()) {
      assertThat(cluster.localNode().name()).isEqualTo("embedded");
      assertThat(cluster.localNode().runtimes()).containsExactly("process");
      List<HiveEvent> events = new CopyOnWriteArrayList<>();
      Subscription subscription = cluster.subscribe(events::add);

      App app = cluster.apps().deploy(AppSpec.builder("sleeper").command("sleep 600").replicas(2).build());
      app.awaitHealthy(Duration.ofSeconds(30));
      assertThat(app.instances()).extracting(i -> i.state()).containsOnly(InstanceState.RUNNING);
      assertThat(app.spec().runtime()).isEqualTo("process");
      await().atMost(Duration.ofSeconds(10)).until(() -> events.stream().anyMatch(e -> e.type() == HiveEvent.Type.APP_DEPLOYED));
      assertThat(events).anyMatch(e -> e.type() == HiveEvent.Type.INSTANCE_STATE_CHANGED && e.state() == InstanceState.RUNNING);

      assertThatThrownBy(() -> cluster.apps().deploy(AppSpec.builder("sleeper").command("sleep 1").build())).isInstanceOf(ConflictException.class);
      assertThatThrownBy(() -> cluster.apps().deploy(AppSpec.builder("img").image("localhost/busybox:latest").build()))
          .isInstanceOfSatisfying(InvalidSpecException.class, e -> assertThat(e.field()).isEqualTo("image"));
      assertThatThrownBy(() -> cluster.apps().deploy(AppSpec.builder("other").command("sleep 1").runtime("nope").build()))
          .isInstanceOfSatisfying(InvalidSpecException.class, e -> assertThat(e.getMessage()).contains("no runtime named 'nope'"));
      assertThat(cluster.apps().list()).extracting(App::name).containsExactly("sleeper");

      subscription.close();
      int seen = events.size();
      app.scale(1).awaitHealthy(Duration.ofSeconds(30));
      cluster.apps().delete("sleeper");
      assertThat(events).hasSize(seen);
      assertThat(cluster.apps().get("sleeper")).isEmpty();
      assertThatThrownBy(() -> cluster.apps().delete("sleeper")).isInstanceOf(NotFoundException.class);
      assertThat(cluster.health().healthy()).isTrue();
    }
  }

  @Test
  void aSecondNodeOnTheSameDataDirIsRefusedAndAClosedClusterSaysSo() {
    Cluster first = Hive.builder().dataDir(dir).start();
    try {
      assertThatThrownBy(() -> Hive.builder().dataDir(dir).start())
          .isInstanceOf(UnavailableException.class)
          .hasMessageContaining("in use by another Hive node");
    } finally {
      first.close();
    }
    assertThatThrownBy(() -> first.apps().deploy(AppSpec.builder("late").command("sleep 1").build())).isInstanceOf(UnavailableException.class);
    assertThatThrownBy(first::apiUrl).isInstanceOf(UnavailableException.class);
    try (Cluster again = Hive.builder().dataDir(dir).start()) {
      assertThat(again.localNode().id()).isEqualTo(first.localNode().id());
    }
  }
}
