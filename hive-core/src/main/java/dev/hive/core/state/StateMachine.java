package dev.hive.core.state;

import dev.hive.api.AppSpec;
import dev.hive.api.ConflictException;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.NotFoundException;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Applies commands to the cluster state: pure code, no I/O, no clock. A command that does not fit
 * the state is refused with an exception and the state is unchanged, so that a log only ever holds
 * commands that applied.
 */
public final class StateMachine {
  private StateMachine() {}

  /**
   * Returns the state after {@code command}, with its index one higher.
   *
   * @throws NotFoundException if the command names an app or node that does not exist
   * @throws ConflictException if it deploys an app whose name is taken
   * @throws InvalidSpecException if it carries an invalid value
   */
  public static ClusterState apply(ClusterState state, Command command) {
    SortedMap<String, NodeRecord> nodes = new TreeMap<>(state.nodes());
    SortedMap<String, AppRecord> apps = new TreeMap<>(state.apps());
    if (command instanceof Command.RegisterNode c) {
      nodes.put(c.node().id(), c.node());
    } else if (command instanceof Command.DeployApp c) {
      String name = c.spec().name();
      if (apps.containsKey(name)) {
        throw new ConflictException("app '" + name + "' already exists; scale it with `hive app scale --name " + name
            + "` or remove it with `hive app rm --name " + name + "` first");
      }
      SortedMap<Integer, String> slots = new TreeMap<>();
      for (int i = 0; i < c.spec().replicas(); i++) {
        slots.put(i, "");
      }
      apps.put(name, new AppRecord(c.spec(), 0, c.atMillis(), slots));
    } else if (command instanceof Command.ScaleApp c) {
      AppRecord app = require(apps, c.app());
      AppSpec.checkReplicas(c.replicas());
      SortedMap<Integer, String> slots = new TreeMap<>(app.slots());
      for (int i = 0; i < c.replicas(); i++) {
        slots.putIfAbsent(i, "");
      }
      slots.tailMap(c.replicas()).clear();
      AppSpec spec = app.spec().toBuilder().replicas(c.replicas()).build();
      apps.put(app.name(), new AppRecord(spec, app.generation(), app.createdAtMillis(), slots));
    } else if (command instanceof Command.RestartApp c) {
      AppRecord app = require(apps, c.app());
      apps.put(app.name(), new AppRecord(app.spec(), app.generation() + 1, app.createdAtMillis(), app.slots()));
    } else if (command instanceof Command.DeleteApp c) {
      require(apps, c.app());
      apps.remove(c.app());
    } else if (command instanceof Command.AssignSlots c) {
      AppRecord app = require(apps, c.app());
      SortedMap<Integer, String> slots = new TreeMap<>(app.slots());
      for (Map.Entry<Integer, String> a : c.assignments().entrySet()) {
        if (!slots.containsKey(a.getKey())) {
          throw new InvalidSpecException("ordinal", "app '" + app.name() + "' has no slot " + a.getKey() + " (it has " + slots.size() + ")");
        }
        if (!nodes.containsKey(a.getValue())) {
          throw new NotFoundException("node '" + a.getValue() + "' is not a member of the cluster");
        }
        slots.put(a.getKey(), a.getValue());
      }
      apps.put(app.name(), new AppRecord(app.spec(), app.generation(), app.createdAtMillis(), slots));
    } else {
      throw new IllegalArgumentException("unknown command " + command);
    }
    return new ClusterState(state.index() + 1, nodes, apps);
  }

  private static AppRecord require(Map<String, AppRecord> apps, String name) {
    AppRecord app = apps.get(name);
    if (app == null) {
      throw new NotFoundException("there is no app named '" + name + "'; `hive app ls` lists the apps");
    }
    return app;
  }
}
