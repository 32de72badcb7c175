package dev.hive.core.node;

import dev.hive.core.consensus.CommandLog;
import dev.hive.core.state.Command;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Submits the reconciler's reports off its thread: a node cut off from the majority must keep
 * reconciling while its writes wait for a leader. Reports coalesce -- only the latest readiness
 * report waits, and a release is queued once -- so a long partition queues nothing unbounded;
 * what does not land is reported again by a later pass, which compares with the state anew.
 */
final class CommandReporter implements Consumer<Command>, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CommandReporter.class);

  private final CommandLog commands;
  private final ExecutorService worker;
  private final Set<Command> queued = new LinkedHashSet<>();
  private Command.ReportReady latestReport;
  private boolean running;

  CommandReporter(CommandLog commands, ExecutorService worker) {
    this.commands = commands;
    this.worker = worker;
  }

  @Override
  public synchronized void accept(Command command) {
    if (command instanceof Command.ReportReady report) {
      latestReport = report;
    } else {
      queued.add(command);
    }
    if (!running) {
      running = true;
      try {
        worker.execute(this::drain);
      } catch (RejectedExecutionException e) {
        running = false;
      }
    }
  }

  private void drain() {
    while (true) {
      Command next;
      synchronized (this) {
        if (!queued.isEmpty()) {
          next = queued.iterator().next();
          queued.remove(next);
        } else if (latestReport != null) {
          next = latestReport;
          latestReport = null;
        } else {
          running = false;
          return;
        }
      }
      try {
        commands.submit(next);
      } catch (RuntimeException e) {
        log.debug("report not accepted now, a later pass sends it again: {}", e.getMessage());
      }
    }
  }

  @Override
  public void close() {
    worker.shutdownNow();
  }
}
