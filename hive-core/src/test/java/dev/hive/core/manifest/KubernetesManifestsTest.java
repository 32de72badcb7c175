package dev.hive.core.manifest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hive.api.AppSpec;
import dev.hive.api.HealthCheck;
import dev.hive.api.InvalidSpecException;
import dev.hive.core.manifest.KubernetesManifests.Accept;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class KubernetesManifestsTest {
  static final String DEPLOYMENT_AND_SERVICE = """
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: web
        annotations: {team: a}
      spec:
        replicas: 3
        selector:
          matchLabels: {app: web}
        template:
          metadata:
            labels: {app: web, tier: front}
          spec:
            nodeSelector: {zone: a}
            tolerations:
              - {key: dedicated, operator: Equal, value: web, effect: NoSchedule}
            affinity:
              podAntiAffinity:
                requiredDuringSchedulingIgnoredDuringExecution:
                  - labelSelector: {matchLabels: {app: web}}
                    topologyKey: kubernetes.io/hostname
            containers:
              - name: httpd
                image: localhost/busybox:latest
                command: [httpd]
                args: ["-f", "-p", "8080"]
                env:
                  - {name: MODE, value: prod}
                  - name: SECRET
                    valueFrom: {secretKeyRef: {name: s, key: k}}
                ports:
                  - {name: http, containerPort: 8080}
                resources:
                  requests: {cpu: 250m, memory: 64Mi}
                  limits: {cpu: 500m, memory: 64Mi}
                readinessProbe:
                  httpGet: {path: /, port: 8080}
                  periodSeconds: 2
                securityContext: {runAsUser: 1000}
              - name: sidecar
                image: localhost/busybox:latest
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: frontend}
      spec:
        selector: {app: web}
        ports: [{port: 80, targetPort: 8080}]
      """;

  @Test
  void aDeploymentBecomesAnAppAndEveryFieldLeftOutIsNamed() {
    KubernetesManifests.Result result = KubernetesManifests.read(DEPLOYMENT_AND_SERVICE, Accept.ANY);
    assertThat(result.apps()).hasSize(1);
    AppSpec web = result.apps().get(0);
    assertThat(web.name()).isEqualTo("web");
    assertThat(web.replicas()).isEqualTo(3);
    assertThat(web.image()).isEqualTo("localhost/busybox:latest");
    assertThat(web.entrypoint()).containsExactly("httpd");
    assertThat(web.args()).containsExactly("-f", "-p", "8080");
    assertThat(web.env()).containsExactly(Map.entry("MODE", "prod"));
    assertThat(web.ports()).extracting(p -> p.name() + ":" + p.port()).containsExactly("http:8080");
    assertThat(web.cpus()).isEqualTo(0.5);
    assertThat(web.memoryBytes()).isEqualTo(64L * 1024 * 1024);
    assertThat(web.healthCheck().type()).isEqualTo(HealthCheck.Type.HTTP);
    assertThat(web.healthCheck().interval()).isEqualTo(Duration.ofSeconds(2));
    assertThat(web.constraints()).containsExactly(Map.entry("zone", "a"));
    assertThat(web.tolerations()).containsExactly("dedicated=web");
    assertThat(web.antiAffinity()).isTrue();
    assertThat(web.labels()).containsEntry("app", "web").containsEntry("tier", "front");
    assertThat(web.stateful()).isFalse();
    assertThat(web.service()).isEqualTo("frontend");
    assertThat(web.servicePort()).isEqualTo(80);
    assertThat(String.join("\n", result.warnings()))
        .contains("metadata.annotations", "SECRET uses valueFrom", "containers[0].securityContext", "container sidecar is ignored",
            "cpu request 250m differs from its limit 500m");
  }

  @Test
  void aStatefulSetIsAStatefulAppWithAnExecProbe() {
    String yaml = """
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
                    failureThreshold: 5
        """;
    AppSpec db = KubernetesManifests.read(yaml, Accept.STATEFUL).apps().get(0);
    assertThat(db.stateful()).isTrue();
    assertThat(db.replicas()).isEqualTo(2);
    assertThat(db.healthCheck().type()).isEqualTo(HealthCheck.Type.EXEC);
    assertThat(db.healthCheck().command()).containsExactly("test", "-f", "/tmp/ready");
    assertThat(db.healthCheck().unhealthyThreshold()).isEqualTo(5);
  }

  @Test
  void malformedYamlSaysWhere() {
    assertThatThrownBy(() -> KubernetesManifests.read("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: [web\n", Accept.ANY))
        .isInstanceOf(InvalidSpecException.class)
        .hasMessageContaining("malformed YAML at line")
        .hasMessageMatching("(?s).*line \\d+, column \\d+.*");
  }

  @Test
  void aKindHiveDoesNotRunIsRefusedByName() {
    String cron = "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly}\nspec: {schedule: '0 0 * * *'}\n";
    assertThatThrownBy(() -> KubernetesManifests.read(DEPLOYMENT_AND_SERVICE + "---\n" + cron, Accept.ANY))
        .isInstanceOf(InvalidSpecException.class)
        .hasMessageContaining("kind CronJob (batch/v1) is not something Hive runs");
  }

  @Test
  void badImagesAndWrongRoutesAreRefused() {
    String badImage = DEPLOYMENT_AND_SERVICE.replaceFirst("image: localhost/busybox:latest", "image: Local/BusyBox");
    assertThatThrownBy(() -> KubernetesManifests.read(badImage, Accept.ANY)).hasMessageContaining("not a valid image reference");
    assertThatThrownBy(() -> KubernetesManifests.read(DEPLOYMENT_AND_SERVICE, Accept.STATEFUL)).hasMessageContaining("/v1/workloads/stateless");
    assertThatThrownBy(() -> KubernetesManifests.read("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n", Accept.ANY))
        .hasMessageContaining("no Deployment or StatefulSet");
    assertThatThrownBy(() -> KubernetesManifests.read(DEPLOYMENT_AND_SERVICE.replace("apps/v1", "apps/v1beta1"), Accept.ANY))
        .hasMessageContaining("Hive reads apps/v1");
  }

  @Test
  void quantitiesReadAsKubernetesWritesThem() {
    assertThat(KubernetesManifests.cpu("250m")).isEqualTo(0.25);
    assertThat(KubernetesManifests.cpu("2")).isEqualTo(2.0);
    assertThat(KubernetesManifests.memory("1Gi")).isEqualTo(1L << 30);
    assertThat(KubernetesManifests.memory("256M")).isEqualTo(256_000_000L);
    assertThat(KubernetesManifests.memory("1024")).isEqualTo(1024L);
    assertThatThrownBy(() -> KubernetesManifests.memory("lots")).hasMessageContaining("not a memory quantity");
  }
}
