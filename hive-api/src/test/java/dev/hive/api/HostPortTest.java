package dev.hive.api;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Seeds and `hive join` hosts: what passes as host[:port] and what is refused, naming it. */
class HostPortTest {
  @Test
  void hostsAndAddressesPass() {
    for (String ok : List.of("h1", "h1:7946", "node-2.example.com:7946", "10.0.0.1", "10.0.0.1:1", "[::1]:7946", "::1", "fe80::1", "my_service:7946")) {
      assertThatCode(() -> Hive.builder().seeds(List.of(ok))).as(ok).doesNotThrowAnyException();
    }
  }

  @Test
  void whatIsNotHostPortIsRefusedByName() {
    // "::::::" used to pass and be dialled.
    for (String bad : List.of("::::::", "a b", "h1:0", "h1:99999", "h1:port", ":7946", "-bad-", "bad..name", "[::1", "[::1]x", "[zz::]:1",
        "evil.example/path:1", "")) {
      assertThatThrownBy(() -> Hive.builder().seeds(List.of(bad))).as(bad).isInstanceOf(InvalidSpecException.class)
          .satisfies(e -> org.assertj.core.api.Assertions.assertThat(((InvalidSpecException) e).field()).isEqualTo("seeds"));
    }
  }
}
