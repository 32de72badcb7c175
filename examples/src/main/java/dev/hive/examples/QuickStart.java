package dev.hive.examples;

import dev.hive.api.App;
import dev.hive.api.AppSpec;
import dev.hive.api.Cluster;
import dev.hive.api.HealthCheck;
import dev.hive.api.Hive;
import dev.hive.api.Instance;
import java.nio.file.Files;
import java.time.Duration;

/** The README's quick start, compiled and run by QuickStartTest: keep the two in step. */
public final class QuickStart {
  private QuickStart() {}

  public static void main(String[] args) throws Exception {
    try (Cluster cluster = Hive.builder().dataDir(Files.createTempDirectory("hive-quickstart")).start()) {
      App web = cluster.apps().deploy(AppSpec.builder("web")
          .command("python3 -m http.server $PORT --bind 127.0.0.1")
          .port(8080)
          .replicas(3)
          .healthCheck(HealthCheck.http("/"))
          .build());
      web.awaitHealthy(Duration.ofSeconds(60));
      for (Instance i : web.instances()) {
        System.out.println(i.id() + " " + i.state() + " http://127.0.0.1:" + i.hostPorts().get("8080"));
      }
      cluster.apps().delete("web");
    }
  }
}
