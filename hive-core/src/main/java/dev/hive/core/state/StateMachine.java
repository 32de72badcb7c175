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
 * commands that applied. Commands from the placement loop (assign, unassign, report) skip slots
 * that changed since they were computed instead of failing, so a stale decision never moves a
 * slot that another decision already moved.
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
    SortedMap<String, VmRecord> vms = new TreeMap<>(state.vms());
    SortedMap<String, MigrationRecord> migrations = new TreeMap<>(state.migrations());
    SortedMap<String, TokenRecord> tokens = new TreeMap<>(state.tokens());
    boolean bootstrapTokenIssued = state.bootstrapTokenIssued();
    if (command instanceof Command.RegisterNode c) {
      NodeRecord before = nodes.get(c.node().id());
      nodes.put(c.node().id(), before == null ? c.node() : c.node().withDraining(before.draining()));
    } else if (command instanceof Command.DeployApp c) {
      String name = c.spec().name();
      if (apps.containsKey(name)) {
        throw new ConflictException("app '" + name + "' already exists; scale it with `hive app scale --name " + name
            + "` or remove it with `hive app rm --name " + name + "` first");
      }
      checkServiceFree(apps, c.spec());
      SortedMap<Integer, Slot> slots = new TreeMap<>();
      for (int i = 0; i < c.spec().replicas(); i++) {
        slots.put(i, Slot.unassigned(0));
      }
      apps.put(name, new AppRecord(c.spec(), 0, c.atMillis(), slots, ""));
    } else if (command instanceof Command.ScaleApp c) {
      AppRecord app = require(apps, c.app());
      AppSpec.checkReplicas(c.replicas());
      SortedMap<Integer, Slot> slots = new TreeMap<>(app.slots());
      for (int i = 0; i < c.replicas(); i++) {
        slots.putIfAbsent(i, Slot.unassigned(app.generation()));
      }
      slots.tailMap(c.replicas()).clear();
      AppSpec spec = app.spec().toBuilder().replicas(c.replicas()).build();
      apps.put(app.name(), app.with(spec, app.generation(), slots, app.pendingReason()));
    } else if (command instanceof Command.RestartApp c) {
      AppRecord app = require(apps, c.app());
      apps.put(app.name(), app.with(app.spec(), app.generation() + 1, app.slots(), app.pendingReason()));
    } else if (command instanceof Command.DeleteApp c) {
      require(apps, c.app());
      apps.remove(c.app());
    } else if (command instanceof Command.AssignSlots c) {
      AppRecord app = require(apps, c.app());
      SortedMap<Integer, Slot> slots = new TreeMap<>(app.slots());
      for (Map.Entry<Integer, String> a : c.assignments().entrySet()) {
        Slot slot = slots.get(a.getKey());
        if (slot == null) {
          throw new InvalidSpecException("ordinal", "app '" + app.name() + "' has no slot " + a.getKey() + " (it has " + slots.size() + ")");
        }
        if (!nodes.containsKey(a.getValue())) {
          throw new NotFoundException("node '" + a.getValue() + "' is not a member of the cluster");
        }
        if (!slot.assigned()) {
          slots.put(a.getKey(), slot.withNode(a.getValue()));
        }
      }
      apps.put(app.name(), app.with(app.spec(), app.generation(), slots, app.pendingReason()));
    } else if (command instanceof Command.UnassignSlots c) {
      AppRecord app = require(apps, c.app());
      SortedMap<Integer, Slot> slots = new TreeMap<>(app.slots());
      c.from().forEach((ordinal, node) -> {
        Slot slot = slots.get(ordinal);
        if (slot != null && slot.node().equals(node)) {
          slots.put(ordinal, slot.released(c.avoid()));
        }
      });
      apps.put(app.name(), app.with(app.spec(), app.generation(), slots, app.pendingReason()));
    } else if (command instanceof Command.RestartSlot c) {
      AppRecord app = require(apps, c.app());
      Slot slot = app.slots().get(c.ordinal());
      if (slot == null) {
        throw new InvalidSpecException("ordinal", "app '" + app.name() + "' has no slot " + c.ordinal());
      }
      if (c.generation() > app.generation()) {
        throw new InvalidSpecException("generation", c.generation() + " is beyond the app's generation " + app.generation());
      }
      if (slot.generation() < c.generation()) {
        SortedMap<Integer, Slot> slots = new TreeMap<>(app.slots());
        slots.put(c.ordinal(), slot.withGeneration(c.generation()));
        apps.put(app.name(), app.with(app.spec(), app.generation(), slots, app.pendingReason()));
      }
    } else if (command instanceof Command.ReportReady c) {
      Map<String, SortedMap<Integer, Slot>> changed = new TreeMap<>();
      c.readyGenerations().forEach((slotKey, readyGeneration) -> {
        int slash = slotKey.lastIndexOf('/');
        AppRecord app = slash < 0 ? null : apps.get(slotKey.substring(0, slash));
        if (app == null) {
          return;
        }
        int ordinal;
        try {
          ordinal = Integer.parseInt(slotKey.substring(slash + 1));
        } catch (NumberFormatException e) {
          return;
        }
        SortedMap<Integer, Slot> slots = changed.computeIfAbsent(app.name(), a -> new TreeMap<>(app.slots()));
        Slot slot = slots.get(ordinal);
        if (slot != null && slot.node().equals(c.node())) {
          boolean ready = readyGeneration >= slot.generation();
          if (ready != slot.ready()) {
            slots.put(ordinal, slot.withReady(ready));
          }
        }
      });
      changed.forEach((name, slots) -> {
        AppRecord app = apps.get(name);
        apps.put(name, app.with(app.spec(), app.generation(), slots, app.pendingReason()));
      });
    } else if (command instanceof Command.SetDraining c) {
      NodeRecord node = nodes.get(c.node());
      if (node == null) {
        throw new NotFoundException("there is no node '" + c.node() + "'; `hive node ls` lists them");
      }
      nodes.put(node.id(), node.withDraining(c.draining()));
    } else if (command instanceof Command.SetPendingReason c) {
      AppRecord app = apps.get(c.app());
      if (app != null) {
        apps.put(app.name(), app.with(app.spec(), app.generation(), app.slots(), c.reason()));
      }
    } else if (command instanceof Command.CreateVm c) {
      if (vms.containsKey(c.spec().name())) {
        throw new ConflictException("a VM named '" + c.spec().name() + "' exists; choose another name or remove it with `hive vm rm --name "
            + c.spec().name() + "`");
      }
      if (!nodes.containsKey(c.node())) {
        throw new NotFoundException("node '" + c.node() + "' is not a member of the cluster");
      }
      vms.put(c.spec().name(), new VmRecord(c.spec(), c.node(), c.atMillis(), ""));
    } else if (command instanceof Command.DeleteVm c) {
      VmRecord vm = requireVm(vms, c.vm());
      if (!vm.migration().isEmpty()) {
        throw new ConflictException("VM '" + c.vm() + "' is being migrated (" + vm.migration() + "); remove it when that has ended");
      }
      vms.remove(c.vm());
    } else if (command instanceof Command.StartMigration c) {
      MigrationRecord m = c.migration();
      if (!migrations.containsKey(m.id())) {
        VmRecord vm = requireVm(vms, m.vm());
        if (!vm.migration().isEmpty()) {
          throw new ConflictException("VM '" + m.vm() + "' is already being migrated (" + vm.migration() + "); wait for it or cancel it with "
              + "`hive vm cancel " + vm.migration() + "`");
        }
        if (!vm.node().equals(m.source())) {
          throw new ConflictException("VM '" + m.vm() + "' is on " + vm.node() + ", not on " + m.source());
        }
        vms.put(vm.name(), vm.with(vm.node(), m.id()));
        migrations.put(m.id(), m);
      }
    } else if (command instanceof Command.FinishMigration c) {
      MigrationRecord m = migrations.get(c.id());
      if (m == null) {
        throw new NotFoundException("there is no migration '" + c.id() + "'");
      }
      if (m.state() == dev.hive.api.MigrationState.RUNNING) {
        if (c.state() == dev.hive.api.MigrationState.RUNNING) {
          throw new InvalidSpecException("state", "a migration cannot finish as RUNNING");
        }
        migrations.put(m.id(), new MigrationRecord(m.id(), m.vm(), m.mode(), m.source(), m.target(), c.state(), m.startedAtMillis(), c.atMillis(),
            c.totalMs(), c.downtimeMs(), c.bytes(), c.error()));
        VmRecord vm = vms.get(m.vm());
        if (vm != null && vm.migration().equals(m.id())) {
          vms.put(vm.name(), vm.with(c.state() == dev.hive.api.MigrationState.SUCCEEDED ? m.target() : vm.node(), ""));
        }
      }
    } else if (command instanceof Command.CreateToken c) {
      if (c.bootstrap() && bootstrapTokenIssued) {
        throw new ConflictException("the cluster's bootstrap token was created already; create more with `hive token create`");
      }
      if (tokens.containsKey(c.token().name())) {
        throw new ConflictException("a token named '" + c.token().name() + "' exists; revoke it with `hive token revoke "
            + c.token().name() + "` or choose another name");
      }
      tokens.put(c.token().name(), c.token());
      bootstrapTokenIssued |= c.bootstrap();
    } else if (command instanceof Command.RevokeToken c) {
      if (tokens.remove(c.name()) == null) {
        throw new NotFoundException("there is no token named '" + c.name() + "'; `hive token ls` lists them");
      }
    } else if (command instanceof Command.SettleRequest) {
      throw new IllegalArgumentException("a request is settled by the RequestLedger, not applied to the state");
    } else {
      throw new IllegalArgumentException("unknown command " + command);
    }
    return new ClusterState(state.index() + 1, nodes, apps, vms, migrations, tokens, bootstrapTokenIssued);
  }

  /**
   * A service name and the port its proxy listens on belong to one app: two would split DNS
   * answers and fight over the listening socket on every node.
   */
  private static void checkServiceFree(Map<String, AppRecord> apps, AppSpec spec) {
    if (spec.service() == null) {
      return;
    }
    int port = ServicePorts.listenPort(spec);
    for (AppRecord other : apps.values()) {
      AppSpec o = other.spec();
      if (o.service() == null) {
        continue;
      }
      if (o.service().equals(spec.service())) {
        throw new ConflictException("service '" + spec.service() + "' is already app '" + other.name() + "''s; choose another --service name"
            + " or remove that app first");
      }
      if (ServicePorts.listenPort(o) == port) {
        throw new ConflictException("service port " + port + " is already taken by service '" + o.service() + "' (app '" + other.name()
            + "'); choose another with --service-port");
      }
    }
  }

  private static VmRecord requireVm(Map<String, VmRecord> vms, String name) {
    VmRecord vm = vms.get(name);
    if (vm == null) {
      throw new NotFoundException("there is no VM named '" + name + "'; `hive vm ls` lists them");
    }
    return vm;
  }

  private static AppRecord require(Map<String, AppRecord> apps, String name) {
    AppRecord app = apps.get(name);
    if (app == null) {
      throw new NotFoundException("there is no app named '" + name + "'; `hive app ls` lists the apps");
    }
    return app;
  }
}
