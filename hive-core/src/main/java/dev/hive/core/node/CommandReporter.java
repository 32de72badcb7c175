package dev.hive.core.node;

import dev.hive.core.consensus.CommandLog;
import dev.hive.core.state.Command;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Submits the reconciler's reports off its thread: a node cut off from the majority must keep
 * reconciling while its writes wait for a leader. Reports coalesce -- only the latest readiness
 * report waits, and a release is queued once -- so a long partition queues nothing unbounded;
 * what does not land is reported again by a later pass, which compares with the state anew.
 *
 * <p>A readiness report (one per node, naming every instance whose readiness changed) goes at
 * most once per {@link #REPORT_INTERVAL}: on a change when none went in the last interval, else
 * at its end. Ten thousand clients then cost the servers at most ten thousand writes a second,
 * whatever their instances do.
 */
final class CommandReporter implements Consumer<Command>, AutoCloseable {
  static final Duration REPORT_INTERVAL = Duration.ofSeconds(1);

  private static final Logger log = LoggerFactory.getLogger(CommandReporter.class);

  private final CommandLog commands;
  private final ScheduledExecutorService worker;
  private final Clock clock;
  private final Set<Command> queued = new LinkedHashSet<>();
  private Command.ReportReady latestReport;
  private long lastReportMillis = Long.MIN_VALUE / 2;
  private boolean running;
  private boolean reportScheduled;

  CommandReporter(CommandLog commands, ScheduledExecutorService worker, Clock clock) {
    this.commands = commands;
    this.worker = worker;
    this.clock = clock;
  }

  @Override
  public synchronized void accept(Command command) {
    if (command instanceof Command.ReportReady report) {
      latestReport = report;
    } else {
      queued.add(command);
    }
    startDrain();
  }

  private synchronized void startDrain() {
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
        long wait = lastReportMillis + REPORT_INTERVAL.toMillis() - clock.millis();
        if (!queued.isEmpty()) {
          next = queued.iterator().next();
          queued.remove(next);
        } else if (latestReport != null && wait <= 0) {
          next = latestReport;
          latestReport = null;
          lastReportMillis = clock.millis();
        } else {
          running = false;
          if (latestReport != null && !reportScheduled) {
            reportScheduled = true;
            try {
              worker.schedule(() -> {
                synchronized (this) {
                  reportScheduled = false;
                }
                startDrain();
              }, wait, TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException e) {
              reportScheduled = false;
            }
          }
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
