package dev.hive.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where the CLI takes its secrets from, and the warning when one is put where `ps` shows it. */
class ApiCredentialsTest {
  @TempDir Path dir;

  @Test
  void theJoinTokenComesFromAFileTheEnvironmentOrAWarnedFlag() throws Exception {
    StringWriter err = new StringWriter();
    PrintWriter w = new PrintWriter(err, true);
    Path file = dir.resolve("token");
    Files.writeString(file, "hive-from-file-0123456789\n");
    assertThat(ApiCredentials.joinToken(null, file, Map.of("HIVE_JOIN_TOKEN", "hive-env"), w)).isEqualTo("hive-from-file-0123456789");
    assertThat(ApiCredentials.joinToken(null, null, Map.of("HIVE_JOIN_TOKEN", "hive-env"), w)).isEqualTo("hive-env");
    assertThat(err.toString()).isEmpty();
    assertThat(ApiCredentials.joinToken("hive-flag", null, Map.of(), w)).isEqualTo("hive-flag");
    assertThat(err.toString()).contains("`ps`").contains("--token-file");
    assertThat(ApiCredentials.joinToken(null, null, Map.of(), w)).isNull();
    assertThatThrownBy(() -> ApiCredentials.joinToken("a", file, Map.of(), w)).hasMessageContaining("both");
    assertThatThrownBy(() -> ApiCredentials.joinToken(null, dir.resolve("missing"), Map.of(), w)).hasMessageContaining("cannot read --token-file");
    Files.writeString(file, "\n");
    assertThatThrownBy(() -> ApiCredentials.joinToken(null, file, Map.of(), w)).hasMessageContaining("empty");
  }

  @Test
  void anApiTokenTheUserGaveIsAlwaysSentOneFoundInADataDirOnlyWhenAsked() throws Exception {
    assertThat(ApiCredentials.find("hive_flag", Map.of("HIVE_API_TOKEN", "hive_env"))).satisfies(t -> {
      assertThat(t.secret()).isEqualTo("hive_flag");
      assertThat(t.chosen()).isTrue();
    });
    assertThat(ApiCredentials.find(null, Map.of("HIVE_API_TOKEN", "hive_env")).secret()).isEqualTo("hive_env");
    Files.writeString(dir.resolve("api-token"), "hive_file\n");
    ApiCredentials.Token fromFile = ApiCredentials.find(null, Map.of("HIVE_DATA_DIR", dir.toString()));
    assertThat(fromFile.secret()).isEqualTo("hive_file");
    assertThat(fromFile.chosen()).isFalse();
    assertThat(fromFile.source()).endsWith("api-token");
  }
}
