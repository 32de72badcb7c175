package dev.hive.core.runtime.process;

import dev.hive.spi.PortBinding;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the process runtime writes to {@code workloads/<id>.json} so that a new agent on the same
 * data dir can find, check and adopt a process: the pid together with the process's start time,
 * so that a pid the kernel has since given to another process is never taken for it.
 */
final class ProcessRecord {
  public String id;
  public String command;
  /** 0 while the process is being started: the record is written first, so a later agent finds it by {@link #launch}. */
  public long pid;
  /** A token unique to this start, in the process's environment as {@code HIVE_WORKLOAD_LAUNCH}. */
  public String launch;
  /** The process's start time from the kernel, in epoch milliseconds. */
  public long processStartMillis;
  public long startedAtMillis;
  public Map<String, String> labels = new LinkedHashMap<>();
  public List<PortBinding> ports = List.of();
  public boolean running;
  public Integer exitCode;
  public String reason = "";
  /** True when the process leads its own process group (started through setsid). */
  public boolean groupLeader;
}
