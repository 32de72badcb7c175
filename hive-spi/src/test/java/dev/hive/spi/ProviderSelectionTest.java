package dev.hive.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hive.api.HiveException;
import dev.hive.api.UnavailableException;
import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProviderSelectionTest {
  @TempDir Path dir;

  /** A runtime provider whose applicability and outcome the test decides. */
  public static class FakeProvider implements WorkloadRuntimeProvider {
    private final String name;
    private final int priority;
    private final boolean applicable;
    private final String failure;

    public FakeProvider() {
      this("found", 5, true, null);
    }

    FakeProvider(String name, int priority, boolean applicable, String failure) {
      this.name = name;
      this.priority = priority;
      this.applicable = applicable;
      this.failure = failure;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public int priority() {
      return priority;
    }

    @Override
    public boolean isApplicable() {
      return applicable;
    }

    @Override
    public String notApplicableReason() {
      return name + " socket missing";
    }

    @Override
    public WorkloadRuntime create(ProviderConfig config) {
      if (failure != null) {
        throw new HiveException(failure);
      }
      return null; // the selection under test never uses the runtime itself
    }
  }

  private ProviderConfig config() {
    return new ProviderConfig(dir, "hive", "n1", Clock.systemUTC(), Map.of());
  }

  private ProviderSelection<WorkloadRuntimeProvider> selection(List<WorkloadRuntimeProvider> given, ClassLoader loader) {
    return ProviderSelection.load("runtime", WorkloadRuntimeProvider.class, given, loader);
  }

  private static ClassLoader emptyLoader() {
    return new URLClassLoader(new URL[0], null);
  }

  @Test
  void anExplicitNameWinsOverPriority() {
    var s = selection(List.of(new FakeProvider("high", 100, true, null), new FakeProvider("low", 1, true, null)), emptyLoader());
    assertThat(s.select("low", config(), WorkloadRuntime.class).providerName()).isEqualTo("low");
    assertThat(s.select(null, config(), WorkloadRuntime.class).providerName()).isEqualTo("high");
  }

  @Test
  void inapplicableAndFailingProvidersAreSkippedInPriorityOrder() {
    var s =
        selection(
            List.of(
                new FakeProvider("podman", 100, false, null),
                new FakeProvider("docker", 90, true, "daemon not reachable at /var/run/docker.sock"),
                new FakeProvider("process", 10, true, null)),
            emptyLoader());
    assertThat(s.select(null, config(), WorkloadRuntime.class).providerName()).isEqualTo("process");
  }

  @Test
  void whenNoneWorksOneExceptionListsEveryAttemptAndWhy() {
    var s =
        selection(
            List.of(new FakeProvider("podman", 100, false, null), new FakeProvider("docker", 90, true, "daemon not reachable at /var/run/docker.sock")),
            emptyLoader());
    assertThatThrownBy(() -> s.select(null, config(), WorkloadRuntime.class))
        .isInstanceOf(UnavailableException.class)
        .hasMessageContaining("no runtime could be created")
        .hasMessageContaining("podman: not applicable: podman socket missing")
        .hasMessageContaining("docker: daemon not reachable at /var/run/docker.sock");
  }

  @Test
  void anUnknownOrFailingNameIsAClearError() {
    var s = selection(List.of(new FakeProvider("process", 10, true, null), new FakeProvider("docker", 9, true, "no socket")), emptyLoader());
    assertThatThrownBy(() -> s.select("nope", config(), WorkloadRuntime.class))
        .isInstanceOf(UnavailableException.class)
        .hasMessageContaining("there is no runtime named 'nope'; known: process, docker");
    assertThatThrownBy(() -> s.select("docker", config(), WorkloadRuntime.class))
        .isInstanceOf(UnavailableException.class)
        .hasMessageContaining("the runtime 'docker' is not available")
        .hasMessageContaining("no socket");
  }

  @Test
  void aBrokenProviderJarIsReportedAndDoesNotStopTheOthers() throws IOException {
    Path services = dir.resolve("jar/META-INF/services");
    Files.createDirectories(services);
    Files.writeString(
        services.resolve(WorkloadRuntimeProvider.class.getName()),
        "com.example.MissingProvider\n" + FakeProvider.class.getName() + "\n");
    try (URLClassLoader loader = new URLClassLoader(new URL[] {dir.resolve("jar").toUri().toURL()}, getClass().getClassLoader())) {
      var s = selection(List.of(), loader);
      assertThat(s.names()).containsExactly("found");
      assertThat(s.broken()).singleElement().asString().contains("com.example.MissingProvider");
      assertThat(s.select(null, config(), WorkloadRuntime.class).providerName()).isEqualTo("found");
    }
  }

  @Test
  void aProviderHandedOverShadowsAFoundOneOfTheSameName() throws IOException {
    Path services = dir.resolve("jar/META-INF/services");
    Files.createDirectories(services);
    Files.writeString(services.resolve(WorkloadRuntimeProvider.class.getName()), FakeProvider.class.getName() + "\n");
    try (URLClassLoader loader = new URLClassLoader(new URL[] {dir.resolve("jar").toUri().toURL()}, getClass().getClassLoader())) {
      var s = selection(List.of(new FakeProvider("found", 1, true, "the handed-over one")), loader);
      assertThatThrownBy(() -> s.select("found", config(), WorkloadRuntime.class)).hasMessageContaining("the handed-over one");
    }
  }
}
