package dev.hive.core.node;

import dev.hive.api.HiveEvent;
import dev.hive.api.Subscription;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Delivers events in order on one thread, and keeps the last few for the API. */
final class EventBus {
  private static final Logger log = LoggerFactory.getLogger(EventBus.class);
  private static final int RECENT = 500;

  private final ExecutorService delivery;
  private final List<Consumer<HiveEvent>> listeners = new CopyOnWriteArrayList<>();
  private final Deque<HiveEvent> recent = new ArrayDeque<>();

  EventBus(ExecutorService delivery) {
    this.delivery = delivery;
  }

  void publish(HiveEvent event) {
    synchronized (recent) {
      recent.addLast(event);
      if (recent.size() > RECENT) {
        recent.removeFirst();
      }
    }
    log.debug("{}", event);
    try {
      delivery.execute(
          () -> {
            for (Consumer<HiveEvent> listener : listeners) {
              try {
                listener.accept(event);
              } catch (RuntimeException e) {
                log.warn("event listener failed on {}", event, e);
              }
            }
          });
    } catch (RejectedExecutionException e) {
      // Closed: events after close are dropped.
    }
  }

  Subscription subscribe(Consumer<HiveEvent> listener) {
    listeners.add(listener);
    return () -> listeners.remove(listener);
  }

  List<HiveEvent> recent() {
    synchronized (recent) {
      return new ArrayList<>(recent);
    }
  }
}
