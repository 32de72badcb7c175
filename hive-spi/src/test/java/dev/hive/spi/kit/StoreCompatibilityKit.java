package dev.hive.spi.kit;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hive.api.InvalidSpecException;
import dev.hive.spi.Store;
import dev.hive.spi.StoreEntry;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What every {@link Store} must do. A store's test extends this class and implements {@link
 * #openStore(Path)}; opening twice on one directory must see the first one's writes when the store
 * is {@link Store#durable()}.
 */
public abstract class StoreCompatibilityKit {
  @TempDir protected Path dataDir;
  protected Store store;

  /** Opens the store under test on {@code dataDir}. */
  protected abstract Store openStore(Path dataDir);

  @BeforeEach
  void open() {
    store = openStore(dataDir);
  }

  @AfterEach
  void closeStore() {
    store.close();
  }

  private static byte[] bytes(String s) {
    return s.getBytes(UTF_8);
  }

  @Test
  void putThenGetReturnsTheValueAndItsRevision() {
    assertThat(store.revision()).isZero();
    long r1 = store.put("apps", "web", bytes("one"));
    long r2 = store.put("apps", "web", bytes("two"));
    assertThat(r2).isGreaterThan(r1);
    StoreEntry entry = store.get("apps", "web").orElseThrow();
    assertThat(entry.valueAsString()).isEqualTo("two");
    assertThat(entry.revision()).isEqualTo(r2);
    assertThat(store.revision()).isEqualTo(r2);
    assertThat(store.get("apps", "absent")).isEmpty();
  }

  @Test
  void listIsOrderedByKeyAndNamespacesAreSeparate() {
    store.put("log", "00000000000000000002", bytes("b"));
    store.put("log", "00000000000000000001", bytes("a"));
    store.put("log", "00000000000000000010", bytes("c"));
    store.put("other", "00000000000000000001", bytes("x"));
    assertThat(store.list("log")).extracting(StoreEntry::valueAsString).containsExactly("a", "b", "c");
    assertThat(store.list("other")).hasSize(1);
    assertThat(store.list("empty")).isEmpty();
  }

  @Test
  void deleteSaysWhetherTheKeyExisted() {
    store.put("apps", "web", bytes("x"));
    assertThat(store.delete("apps", "web")).isTrue();
    assertThat(store.delete("apps", "web")).isFalse();
    assertThat(store.get("apps", "web")).isEmpty();
  }

  @Test
  void aFailedTransactionWritesNothing() {
    store.put("apps", "kept", bytes("before"));
    long before = store.revision();
    assertThatThrownBy(
            () ->
                store.inTransaction(
                    tx -> {
                      tx.put("apps", "kept", bytes("changed"));
                      tx.put("apps", "new", bytes("new"));
                      tx.delete("apps", "kept");
                      throw new IllegalStateException("boom");
                    }))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("boom");
    assertThat(store.get("apps", "kept").orElseThrow().valueAsString()).isEqualTo("before");
    assertThat(store.get("apps", "new")).isEmpty();
    assertThat(store.revision()).isEqualTo(before);
  }

  @Test
  void aTransactionSeesItsOwnWritesAndCommitsThemAll() {
    String seen =
        store.inTransaction(
            tx -> {
              tx.put("a", "1", bytes("x"));
              tx.put("b", "2", bytes("y"));
              return tx.get("a", "1").orElseThrow().valueAsString();
            });
    assertThat(seen).isEqualTo("x");
    assertThat(store.get("a", "1")).isPresent();
    assertThat(store.get("b", "2")).isPresent();
  }

  @Test
  void malformedNamesAndValuesAreRefusedAndNothingIsWritten() {
    assertThatThrownBy(() -> store.put("", "k", bytes("v"))).isInstanceOf(InvalidSpecException.class);
    assertThatThrownBy(() -> store.put("ns", null, bytes("v"))).isInstanceOf(InvalidSpecException.class);
    assertThatThrownBy(() -> store.put("ns", "k\0", bytes("v"))).isInstanceOf(InvalidSpecException.class);
    assertThatThrownBy(() -> store.put("ns", "k", null)).isInstanceOf(InvalidSpecException.class);
    assertThatThrownBy(() -> store.put("ns", "k", new byte[16 * 1024 * 1024 + 1]))
        .isInstanceOf(InvalidSpecException.class)
        .hasMessageContaining("16 MiB");
    assertThat(store.revision()).isZero();
    assertThat(store.list("ns")).isEmpty();
  }

  @Test
  void valuesAreCopiedInAndOut() {
    byte[] value = bytes("abc");
    store.put("ns", "k", value);
    value[0] = 'z';
    byte[] read = store.get("ns", "k").orElseThrow().value();
    read[1] = 'z';
    assertThat(store.get("ns", "k").orElseThrow().valueAsString()).isEqualTo("abc");
  }

  @Test
  void concurrentWritersGetDistinctRevisionsAndLoseNothing() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(4);
    Set<Long> revisions = ConcurrentHashMap.newKeySet();
    List<Future<?>> futures = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      int thread = t;
      futures.add(
          pool.submit(
              () -> {
                for (int i = 0; i < 50; i++) {
                  revisions.add(store.put("ns", thread + "-" + i, bytes("v")));
                }
              }));
    }
    for (Future<?> f : futures) {
      f.get();
    }
    pool.shutdown();
    assertThat(revisions).hasSize(200);
    assertThat(store.list("ns")).hasSize(200);
  }

  @Test
  void aDurableStoreKeepsItsWritesAcrossReopen() {
    long revision = store.put("apps", "web", bytes("kept"));
    store.inTransaction(tx -> tx.put("apps", "db", bytes("also")));
    store.close();
    store = openStore(dataDir);
    if (store.durable()) {
      assertThat(store.get("apps", "web").orElseThrow().valueAsString()).isEqualTo("kept");
      assertThat(store.get("apps", "db")).isPresent();
      assertThat(store.revision()).isGreaterThan(revision);
    } else {
      assertThat(store.list("apps")).isEmpty();
    }
  }
}
