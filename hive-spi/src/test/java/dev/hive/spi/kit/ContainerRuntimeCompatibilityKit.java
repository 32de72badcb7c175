package dev.hive.spi.kit;

import dev.hive.spi.WorkloadSpec;

/**
 * The runtime kit for a container runtime, its workloads written as shell commands run inside a
 * busybox image ({@code localhost/busybox:latest} from {@code scripts/setup-containers.sh}, whose
 * working directory {@code /var/www} holds an {@code index.html}).
 */
public abstract class ContainerRuntimeCompatibilityKit extends WorkloadRuntimeCompatibilityKit {
  /** The image every workload runs in. */
  protected static final String IMAGE = "localhost/busybox:latest";

  @Override
  protected WorkloadSpec.Builder printsMessageThenRuns(String id) {
    return WorkloadSpec.builder(id).image(IMAGE).command("echo $KIT_MESSAGE; exec sleep 600");
  }

  @Override
  protected WorkloadSpec.Builder exitsWith(String id, int code) {
    return WorkloadSpec.builder(id).image(IMAGE).command("exit " + code);
  }

  @Override
  protected WorkloadSpec.Builder ignoresSigterm(String id) {
    return WorkloadSpec.builder(id).image(IMAGE).command("trap '' TERM; echo trapped; while true; do sleep 1; done");
  }

  @Override
  protected WorkloadSpec.Builder servesHttp(String id) {
    return WorkloadSpec.builder(id).image(IMAGE).command("exec httpd -f -p 8080 -h /var/www");
  }

  @Override
  protected WorkloadSpec.Builder cannotStart(String id) {
    return WorkloadSpec.builder(id).image("localhost/hive-kit-no-such-image:latest");
  }

  @Override
  protected boolean execsInside() {
    return true;
  }
}
