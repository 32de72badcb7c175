package dev.hive.core.manifest;

import static dev.hive.core.fuzz.Refusal.decodesOrRefuses;
import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.hive.api.InvalidSpecException;
import java.nio.charset.StandardCharsets;

/**
 * Kubernetes manifests as {@code hive app apply} and the workload routes receive them: any bytes
 * read as YAML either give apps or are refused with an {@link InvalidSpecException} naming the
 * document, position or field. The route decodes the body as UTF-8, so the target does too.
 */
class KubernetesManifestsFuzzTest {
  @FuzzTest
  @DictionaryEntries({"apiVersion: apps/v1", "apiVersion: v1", "kind: Deployment", "kind: StatefulSet", "kind: Service",
      "metadata:", "name: web", "spec:", "replicas:", "selector:", "matchLabels:", "template:", "containers:", "- name: ",
      "image: ", "command:", "args:", "env:", "value:", "ports:", "containerPort:", "hostPort:", "resources:", "limits:", "requests:",
      "cpu:", "memory:", "readinessProbe:", "livenessProbe:", "httpGet:", "tcpSocket:", "exec:", "path:", "port:", "targetPort:",
      "nodeSelector:", "tolerations:", "key:", "operator:", "effect:", "affinity:", "podAntiAffinity:",
      "requiredDuringSchedulingIgnoredDuringExecution:", "topologyKey: kubernetes.io/hostname", "labels:", "---", "500m", "128Mi"})
  void read(byte[] bytes) {
    String yaml = new String(bytes, StandardCharsets.UTF_8);
    KubernetesManifests.Result result = decodesOrRefuses(bytes, InvalidSpecException.class,
        () -> KubernetesManifests.read(yaml, KubernetesManifests.Accept.ANY));
    if (result != null) {
      assertThat(result.apps()).isNotEmpty();
    }
  }
}
