package dev.hive.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Runs the README's quick start as written. */
class QuickStartTest {
  @Test
  void theQuickStartRunsThreeHealthyInstances() throws Exception {
    PrintStream original = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      QuickStart.main(new String[0]);
    } finally {
      System.setOut(original);
    }
    String output = captured.toString(StandardCharsets.UTF_8);
    assertThat(output.lines()).hasSize(3).allMatch(l -> l.matches("web-\\d-[0-9a-f]{6} HEALTHY http://127\\.0\\.0\\.1:\\d+"));
  }
}
