package dev.hive.examples;

import dev.hive.examples.harness.DaemonProcess;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** `hive demo --exit-after 0` from the launcher jar: the README's first command. */
class DemoIT {
  @Test
  void theDemoDeploysScalesHealsAndCleansUp() throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process demo = new ProcessBuilder(java, "-jar", DaemonProcess.HIVE_JAR.toString(), "demo", "--exit-after", "0").redirectErrorStream(true).start();
    String output = new String(demo.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(demo.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(demo.exitValue()).as(output).isZero();
    assertThat(output).contains("== scaling 'hello' to 3").contains("killed by signal 9").contains("== healed:").contains("after 1 restart(s)");
    assertThat(output.lines().filter(l -> l.contains("HEALTHY") && l.contains("-> 200 hello from"))).hasSizeGreaterThanOrEqualTo(8);
    assertThat(ProcessHandle.allProcesses().filter(p -> p.info().commandLine().orElse("").contains("HelloServer"))).isEmpty();
  }
}
