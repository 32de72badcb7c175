package dev.hive.core.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hive.api.ConflictException;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.NotFoundException;
import dev.hive.core.security.ApiTokens;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** API tokens in the replicated state: hashed, unique by name, the bootstrap one made once. */
class TokenStateTest {
  private final StateCodec codec = new StateCodec();

  private static TokenRecord token(String name, String role, String secret, long expires) {
    return new TokenRecord(name, role, ApiTokens.sha256(secret), 1_000, expires);
  }

  @Test
  void theBootstrapTokenIsCreatedOnceEvenAfterItIsRevoked() {
    String secret = ApiTokens.newSecret();
    ClusterState s = StateMachine.apply(ClusterState.EMPTY, new Command.CreateToken(token("bootstrap", "admin", secret, 0), true));
    assertThat(s.bootstrapTokenIssued()).isTrue();
    assertThat(ApiTokens.find(s, secret, 2_000)).hasValueSatisfying(t -> assertThat(t.allows("admin")).isTrue());
    ClusterState revoked = StateMachine.apply(s, new Command.RevokeToken("bootstrap"));
    assertThat(ApiTokens.find(revoked, secret, 2_000)).isEmpty();
    assertThatThrownBy(() -> StateMachine.apply(revoked, new Command.CreateToken(token("bootstrap", "admin", ApiTokens.newSecret(), 0), true)))
        .isInstanceOf(ConflictException.class);
    assertThatThrownBy(() -> StateMachine.apply(revoked, new Command.RevokeToken("bootstrap"))).isInstanceOf(NotFoundException.class);
  }

  @Test
  void namesAreUniqueRolesRankAndExpiryEnds() {
    String secret = ApiTokens.newSecret();
    ClusterState s = StateMachine.apply(ClusterState.EMPTY, new Command.CreateToken(token("ci", "operate", secret, 5_000), false));
    assertThatThrownBy(() -> StateMachine.apply(s, new Command.CreateToken(token("ci", "read", ApiTokens.newSecret(), 0), false)))
        .isInstanceOf(ConflictException.class).hasMessageContaining("hive token revoke ci");
    TokenRecord ci = ApiTokens.find(s, secret, 4_999).orElseThrow();
    assertThat(ci.allows("read")).isTrue();
    assertThat(ci.allows("operate")).isTrue();
    assertThat(ci.allows("admin")).isFalse();
    assertThat(ApiTokens.find(s, secret, 5_000)).isEmpty();
    assertThat(ApiTokens.find(s, secret.substring(0, secret.length() - 1) + "x", 0)).isEmpty();
    assertThat(ApiTokens.find(s, "not a token", 0)).isEmpty();
  }

  @Test
  void aSnapshotAndTheLogKeepTokensButNeverASecret() {
    String secret = ApiTokens.newSecret();
    Command create = new Command.CreateToken(token("ci", "read", secret, 0), true);
    byte[] logged = codec.encode(create);
    assertThat(new String(logged, java.nio.charset.StandardCharsets.UTF_8)).doesNotContain(secret);
    assertThat(codec.decodeCommand(logged)).isEqualTo(create);
    ClusterState s = StateMachine.apply(ClusterState.EMPTY, create);
    ClusterState back = codec.decodeState(codec.encode(s));
    assertThat(back.tokens()).isEqualTo(s.tokens());
    assertThat(back.bootstrapTokenIssued()).isTrue();
    assertThat(codec.decodeState(codec.encode(ClusterState.EMPTY)).bootstrapTokenIssued()).isFalse();
  }

  @Test
  void badNamesRolesAndTtlsAreRefusedClearly() {
    assertThatThrownBy(() -> TokenRecord.checkName("Bad Name")).isInstanceOf(InvalidSpecException.class).hasMessageContaining("e.g. ci");
    assertThatThrownBy(() -> TokenRecord.checkRole("root")).isInstanceOf(InvalidSpecException.class).hasMessageContaining("read, operate or admin");
    assertThatThrownBy(() -> ApiTokens.parseTtl("30 days")).isInstanceOf(InvalidSpecException.class).hasMessageContaining("30d");
    assertThatThrownBy(() -> ApiTokens.parseTtl("0d")).isInstanceOf(InvalidSpecException.class);
    assertThat(ApiTokens.parseTtl("30d")).isEqualTo(Duration.ofDays(30));
    assertThat(ApiTokens.parseTtl("90m")).isEqualTo(Duration.ofMinutes(90));
  }
}
