package dev.hive.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class AppSpecTest {
  @Test
  void aValidSpecKeepsWhatItWasGiven() {
    AppSpec spec =
        AppSpec.builder("web")
            .command("python3 -m http.server $PORT")
            .port(8080)
            .port(PortSpec.parse("admin:9090"))
            .env("MODE", "prod")
            .replicas(3)
            .cpus(0.5)
            .memoryBytes(256L << 20)
            .healthCheck(HealthCheck.http("/health").withInterval(Duration.ofSeconds(1)).withThresholds(2, 4))
            .restartPolicy(RestartPolicy.ON_FAILURE)
            .build();
    assertThat(spec.ports()).extracting(PortSpec::envName).containsExactly("PORT_8080", "PORT_ADMIN");
    assertThat(spec.healthCheck().healthyThreshold()).isEqualTo(2);
    assertThat(spec.toBuilder().build()).isEqualTo(spec);
    assertThat(spec.toBuilder().replicas(1).build()).isNotEqualTo(spec);
    assertThatThrownBy(() -> spec.env().put("X", "y")).isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void everyBadInputNamesItsField() {
    assertField(() -> AppSpec.builder(null), "name");
    assertField(() -> AppSpec.builder("Web_1"), "name");
    assertField(() -> AppSpec.builder("-web"), "name");
    assertField(() -> AppSpec.builder("web").replicas(-1), "replicas");
    assertField(() -> AppSpec.builder("web").replicas(AppSpec.MAX_REPLICAS + 1), "replicas");
    assertField(() -> AppSpec.builder("web").port(0), "port");
    assertField(() -> AppSpec.builder("web").port(70000), "port");
    assertField(() -> AppSpec.builder("web").port(80).port(80), "port");
    assertField(() -> PortSpec.parse("http:eighty"), "port");
    assertField(() -> AppSpec.builder("web").env("PORT", "1"), "env");
    assertField(() -> AppSpec.builder("web").env("1BAD", "1"), "env");
    assertField(() -> AppSpec.builder("web").cpus(-1), "cpus");
    assertField(() -> AppSpec.builder("web").cpus(Double.NaN), "cpus");
    assertField(() -> AppSpec.builder("web").memoryBytes(1024), "memory");
    assertField(() -> AppSpec.builder("web").command("  "), "command");
    assertField(() -> AppSpec.builder("web").runtime("Docker!"), "runtime");
    assertField(() -> AppSpec.builder("web").build(), "command");
    assertField(() -> AppSpec.builder("web").image("b").command("a").args(java.util.List.of("x")).build(), "command");
    assertField(() -> AppSpec.builder("web").command("a").args(java.util.List.of("x")).build(), "args");
    assertField(() -> AppSpec.builder("web").image("Local Host/busybox"), "image");
    assertField(() -> AppSpec.builder("web").image("localhost/BusyBox:latest"), "image");
    assertField(() -> AppSpec.builder("web").image("busybox:"), "image");
    assertField(() -> AppSpec.builder("web").label("app", "not valid!"), "label");
    assertField(() -> AppSpec.builder("web").service("Web", 80), "service");
    assertField(() -> AppSpec.builder("web").service("web", 70000), "servicePort");
    assertThatThrownBy(() -> AppSpec.builder("web").service("webapp.local", 0)).hasMessageContaining("give one DNS label");
    assertThatThrownBy(() -> AppSpec.builder("web").service("-web", 0)).hasMessageContaining("a service name is a DNS label");
    assertField(() -> AppSpec.builder("web").command("true").service("web", 80).build(), "port");
    assertField(() -> AppSpec.builder("web").command("a").healthCheck(HealthCheck.tcp()).build(), "port");
    assertField(() -> HealthCheck.http("no-slash"), "health-http");
    assertField(() -> HealthCheck.exec(List.of()), "health-exec");
    assertField(() -> HealthCheck.tcp().withInterval(Duration.ofMillis(1)), "health-interval");
    assertField(() -> RestartPolicy.parse("sometimes"), "restart");
  }

  private static void assertField(Runnable action, String field) {
    assertThatThrownBy(action::run).isInstanceOfSatisfying(InvalidSpecException.class, e -> assertThat(e.field()).isEqualTo(field));
  }
}
