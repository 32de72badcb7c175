package dev.hive.spi;

import java.lang.reflect.Method;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Threads for blocking I/O, one per connection or stream, for transports and other plugins that
 * read with blocking calls: on JDK 21 and later each is a virtual thread, so that a node's
 * platform threads do not grow with its peers; on JDK 17 (where Hive also runs) each is a daemon
 * platform thread, as before. The choice is made once, at run time, by what the JDK offers.
 */
public final class IoThreads {
  private static final Method OF_VIRTUAL = lookup();

  private IoThreads() {}

  private static Method lookup() {
    try {
      return Thread.class.getMethod("ofVirtual");
    } catch (NoSuchMethodException e) {
      return null;
    }
  }

  /** Returns true when this JDK has virtual threads, which {@link #perTask} then uses. */
  public static boolean virtual() {
    return OF_VIRTUAL != null;
  }

  /**
   * Returns an executor that starts a new thread named {@code name-N} for each task: a virtual
   * thread where the JDK has them, else a daemon platform thread.
   */
  public static ExecutorService perTask(String name) {
    ThreadFactory factory = factory(name);
    if (OF_VIRTUAL != null) {
      try {
        return (ExecutorService) Executors.class.getMethod("newThreadPerTaskExecutor", ThreadFactory.class).invoke(null, factory);
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException("this JDK has Thread.ofVirtual but not Executors.newThreadPerTaskExecutor", e);
      }
    }
    return Executors.newCachedThreadPool(factory);
  }

  /** Returns a factory of threads named {@code name-N}: virtual where the JDK has them, else daemon platform threads. */
  public static ThreadFactory factory(String name) {
    if (OF_VIRTUAL != null) {
      try {
        Object builder = OF_VIRTUAL.invoke(null);
        Class<?> builderType = Class.forName("java.lang.Thread$Builder");
        builder = builderType.getMethod("name", String.class, long.class).invoke(builder, name + "-", 1L);
        return (ThreadFactory) builderType.getMethod("factory").invoke(builder);
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException("this JDK has Thread.ofVirtual but not the rest of the virtual thread API", e);
      }
    }
    AtomicInteger count = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, name + "-" + count.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
