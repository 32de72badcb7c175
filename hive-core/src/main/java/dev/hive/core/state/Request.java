package dev.hive.core.state;

/**
 * A command as it travels through a log: with the id that makes it apply at most once, the
 * deadline after which it must never apply, and the time the log's head (the leader) took it.
 *
 * @param id the request id, unique per write (a caller's idempotency key, or a random one); null
 *     for entries written before requests had ids, which the ledger does not record
 * @param deadlineMillis the epoch millisecond after which the command is refused instead of applied
 * @param stampMillis when the log's head appended it (the leader's clock); 0 until then
 * @param digest what the command says, without its timestamps ({@link StateCodec#digest}): a
 *     reused id with another digest is another request, and is refused
 * @param command the change
 */
public record Request(String id, long deadlineMillis, long stampMillis, String digest, Command command) {
  /** Returns this request as appended at {@code millis}. */
  public Request stamped(long millis) {
    return new Request(id, deadlineMillis, millis, digest, command);
  }

  /** Returns true when the log's head took it after its deadline. */
  public boolean expired() {
    return stampMillis > deadlineMillis;
  }
}
