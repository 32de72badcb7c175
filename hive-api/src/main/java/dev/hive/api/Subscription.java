package dev.hive.api;

/** A registration for events; {@link #close()} unsubscribes and may be called more than once. */
public interface Subscription extends AutoCloseable {
  @Override
  void close();
}
