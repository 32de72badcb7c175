package dev.hive.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hive.examples.harness.ClusterOps;
import dev.hive.examples.harness.DaemonProcess;
import dev.hive.examples.harness.DaemonProcess.CliResult;
import dev.hive.spi.kit.RequiredRuntime;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Kubernetes manifests run as container apps: a Deployment, a StatefulSet with an exec probe and a
 * Service applied with {@code hive app apply -f}, a Deployment posted to Beemesh's route; and the
 * bad inputs (malformed YAML, a CronJob, a body that is not YAML, a host port that is taken), each
 * a clear error that leaves nothing behind.
 */
class ManifestIT {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final Duration PATIENCE = Duration.ofSeconds(90);
  private final String cluster = "mit-" + UUID.randomUUID().toString().substring(0, 8);
  private final Path dir = Path.of("target", "manifest-it", cluster).toAbsolutePath();
  private DaemonProcess daemon;

  static final String MANIFEST = """
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web}
      spec:
        replicas: 2
        selector: {matchLabels: {app: web}}
        template:
          metadata: {labels: {app: web}}
          spec:
            containers:
              - name: httpd
                image: localhost/busybox:latest
                command: [httpd]
                args: ["-f", "-p", "8080"]
                ports: [{name: http, containerPort: 8080}]
                readinessProbe:
                  httpGet: {path: /, port: 8080}
                  periodSeconds: 1
                securityContext: {runAsNonRoot: true}
      ---
      apiVersion: apps/v1
      kind: StatefulSet
      metadata: {name: db}
      spec:
        serviceName: db
        replicas: 2
        selector: {matchLabels: {app: db}}
        template:
          metadata: {labels: {app: db}}
          spec:
            containers:
              - name: db
                image: localhost/busybox:latest
                command: ["sh", "-c", "touch /tmp/ready; exec sleep 3600"]
                livenessProbe:
                  exec: {command: [test, -f, /tmp/ready]}
                  periodSeconds: 1
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: frontend}
      spec:
        selector: {app: web}
        ports: [{port: 80}]
      """;

  @AfterEach
  void removeEverything() throws Exception {
    if (daemon != null) {
      daemon.close();
    }
    for (String runtime : List.of("podman", "docker")) {
      if (ContainerAppIT.cliWorks(runtime)) {
        for (String name : ContainerAppIT.containerCli(runtime, "ps", "-a", "--filter", "label=dev.hive.cluster=" + cluster, "--format", "{{.Names}}")) {
          ContainerAppIT.containerCli(runtime, "rm", "-f", name);
        }
      }
    }
  }

  private List<JsonNode> healthy(String app) throws Exception {
    List<JsonNode> out = new ArrayList<>();
    for (JsonNode i : ClusterOps.instances(daemon)) {
      if (i.path("app").asText().equals(app) && i.path("healthy").asBoolean()) {
        out.add(i);
      }
    }
    return out;
  }

  private HttpResponse<String> post(String path, String body, String contentType) throws Exception {
    HttpRequest request = HttpRequest.newBuilder(URI.create(daemon.api() + path)).header("Content-Type", contentType)
        .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    return HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void deploymentsAndStatefulSetsRunWithTheirNamesAndProbesAndBadManifestsChangeNothing() throws Exception {
    RequiredRuntime.require("a container runtime", ContainerAppIT.cliWorks("podman") || ContainerAppIT.cliWorks("docker"), "neither podman nor docker answers");
    Files.createDirectories(dir);
    daemon = new DaemonProcess(dir.resolve("n1"), "--cluster", cluster).start();

    Path file = dir.resolve("apps.yaml");
    Files.writeString(file, MANIFEST);
    CliResult applied = daemon.cli("app", "apply", "-f", file.toString());
    assertThat(applied.code()).as(applied.err()).isZero();
    assertThat(applied.out()).contains("web created", "db created", "service frontend");
    assertThat(applied.err()).contains("warning:", "securityContext");

    HttpResponse<String> beemesh = post("/v1/workloads/stateless", MANIFEST.substring(0, MANIFEST.indexOf("---")).replace("name: web", "name: api")
        .replace("app: web", "app: api"), "application/yaml");
    assertThat(beemesh.statusCode()).as(beemesh.body()).isEqualTo(201);

    await().atMost(PATIENCE).ignoreExceptions().until(() -> healthy("web").size() == 2 && healthy("db").size() == 2 && healthy("api").size() == 2);
    assertThat(healthy("db")).extracting(i -> i.path("id").asText()).containsExactlyInAnyOrder("db-0", "db-1");
    JsonNode web = daemon.getJson("/api/v1/apps/web");
    assertThat(web.path("service").asText()).isEqualTo("frontend");
    assertThat(web.path("healthCheck").path("type").asText()).isEqualTo("http");
    assertThat(daemon.getJson("/api/v1/apps/db").path("healthCheck").path("type").asText()).isEqualTo("exec");
    // Applying the same file again changes nothing.
    CliResult again = daemon.cli("app", "apply", "-f", file.toString());
    assertThat(again.out()).contains("web unchanged", "db unchanged");

    // Bad inputs: each refused with what was wrong, and no app appears.
    Files.writeString(file, "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: [broken\n");
    CliResult malformed = daemon.cli("app", "apply", "-f", file.toString());
    assertThat(malformed.code()).isNotZero();
    assertThat(malformed.err()).containsPattern("line \\d+, column \\d+");
    Files.writeString(file, MANIFEST.replace("name: web", "name: web2") + "---\napiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly}\n");
    CliResult cron = daemon.cli("app", "apply", "-f", file.toString());
    assertThat(cron.code()).isNotZero();
    assertThat(cron.err()).contains("kind CronJob (batch/v1) is not something Hive runs");
    HttpResponse<String> json = post("/v1/workloads/stateful", "{\"kind\":\"StatefulSet\"}", "application/json");
    assertThat(json.statusCode()).isEqualTo(400);
    assertThat(json.body()).contains("Content-Type: application/yaml");
    assertThat(MAPPER.readTree(daemon.cli("--output", "json", "app", "ls").out()).findValuesAsText("name")).doesNotContain("web2", "nightly");

    // A host port that is taken: the instance fails saying so, and no container is left for it.
    try (ServerSocket taken = new ServerSocket(0)) {
      CliResult deploy = daemon.cli("app", "deploy", "--name", "taken", "--image", ContainerAppIT.IMAGE, "--command", "httpd -f -p 8080",
          "--port", "http:8080@" + taken.getLocalPort());
      assertThat(deploy.code()).as(deploy.err()).isZero();
      await().atMost(PATIENCE).ignoreExceptions().until(() -> ClusterOps.instances(daemon).findValuesAsText("reason").stream()
          .anyMatch(r -> r.contains("address already in use")));
      CliResult rm = daemon.cli("app", "rm", "--name", "taken");
      assertThat(rm.code()).as(rm.err()).isZero();
    }
  }
}
