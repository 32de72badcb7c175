#!/usr/bin/env bash
# Installs and starts the container runtimes Hive's docker and podman tests drive, and gives both
# the local image localhost/busybox:latest, built from Debian's busybox-static without a registry.
#
#   scripts/setup-containers.sh          install what is missing, start what is not running
#   scripts/setup-containers.sh stop     stop the daemons this script started
#
# What this host needs, and why (facts of Debian 12 in a container without systemd):
#   podman      hard RLIMIT_NOFILE is below podman's default ulimits and CAP_SYS_RESOURCE is
#               absent, so containers.conf sets default_ulimits to the hard limits; crun refuses
#               hybrid cgroups whose v2 root owns a controller, so such controllers are mounted
#               as v1 hierarchies or runc is used; cgroupfs and a file events log, no systemd.
#   podman API  `podman system service` on /run/podman/podman.sock (libpod + Docker-compatible).
#   docker      Debian's docker.io started by hand; --iptables=false leaves the host firewall alone
#               (published ports go through docker-proxy).
#
# Exit status: 0 when both runtimes answer; 2 when this machine cannot have them (not root, no
# apt); 1 when setting them up failed. Re-running it is harmless.
set -euo pipefail

IMAGE=localhost/busybox:latest
PODMAN_SOCK=/run/podman/podman.sock
DOCKER_SOCK=/var/run/docker.sock
LOG_DIR=/var/log/hive-setup
PID_DIR=/run/hive-setup

log() { echo "setup-containers: $*"; }

if [ "${1:-}" = stop ]; then
  for pidfile in "$PID_DIR"/*.pid; do
    [ -e "$pidfile" ] || continue
    kill -TERM "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  done
  exit 0
fi

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  log "needs root and apt-get to install podman and docker; the container tests will be skipped" >&2
  exit 2
fi

mkdir -p "$LOG_DIR" "$PID_DIR"

need=()
command -v podman >/dev/null 2>&1 || need+=(podman)
command -v runc >/dev/null 2>&1 || need+=(runc)
[ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx httpd || need+=(busybox-static)
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Recommends bring podman's netavark, aardvark-dns, slirp4netns, conmon and catatonit.
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need[@]}" >/dev/null
fi

# --- podman configuration ----------------------------------------------------------------------
oci_runtime=crun
for controller in $(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null); do
  mkdir -p "/sys/fs/cgroup/$controller" 2>/dev/null || true
  if ! mountpoint -q "/sys/fs/cgroup/$controller" && ! mount -t cgroup -o "$controller" cgroup "/sys/fs/cgroup/$controller" 2>/dev/null; then
    oci_runtime=runc
  fi
done
command -v crun >/dev/null 2>&1 || oci_runtime=runc
nofile=$(ulimit -Hn)
nproc=$(ulimit -Hu)
if [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; then nproc=32768; fi
mkdir -p /etc/containers
cat > /etc/containers/containers.conf <<EOF
# Written by Hive's scripts/setup-containers.sh
[containers]
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "${oci_runtime}"
EOF

# --- the local image, made without any registry ------------------------------------------------
rootfs_tar=/var/lib/hive-setup/busybox-rootfs.tar
if [ ! -s "$rootfs_tar" ]; then
  mkdir -p "$(dirname "$rootfs_tar")"
  root=$(mktemp -d)
  mkdir -p "$root"/{bin,etc,tmp,var/www,proc,sys,dev,root}
  cp /bin/busybox "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -sf /bin/busybox "$root/bin/$applet"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
  echo 'root:x:0:' > "$root/etc/group"
  echo 'hive' > "$root/var/www/index.html"
  chmod 1777 "$root/tmp"
  tar -C "$root" -cf "$rootfs_tar" .
  rm -rf "$root"
fi

# --- podman's REST service ---------------------------------------------------------------------
# The working directory is the web root, so `httpd -f -p 8080` answers / with index.html.
if [ "$(podman image inspect --format '{{.Config.WorkingDir}}' "$IMAGE" 2>/dev/null)" != /var/www ]; then
  podman import -q --change 'CMD ["/bin/sh"]' --change 'WORKDIR /var/www' "$rootfs_tar" "$IMAGE" >/dev/null
fi
# A service started from a directory that was deleted since (an earlier clone) answers pings but
# cannot start containers: conmon fails to "get working directory". Replace it.
stale_cwd() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -d "/proc/$pid" ] && readlink "/proc/$pid/cwd" | grep -q '(deleted)$'
}
if stale_cwd "$PID_DIR/podman.pid"; then
  log "restarting podman's service: its working directory was deleted"
  kill "$(cat "$PID_DIR/podman.pid")" && sleep 1
fi
if ! curl -sf --unix-socket "$PODMAN_SOCK" http://d/_ping >/dev/null 2>&1; then
  mkdir -p "$(dirname "$PODMAN_SOCK")"
  rm -f "$PODMAN_SOCK"
  # From /, so that the service and the conmon processes it starts never sit in a deleted directory.
  (cd / && exec nohup podman system service --time=0 "unix://$PODMAN_SOCK" >"$LOG_DIR/podman-service.log" 2>&1) &
  echo $! > "$PID_DIR/podman.pid"
  for _ in $(seq 100); do curl -sf --unix-socket "$PODMAN_SOCK" http://d/_ping >/dev/null 2>&1 && break; sleep 0.1; done
  curl -sf --unix-socket "$PODMAN_SOCK" http://d/_ping >/dev/null || { log "podman's service did not answer on $PODMAN_SOCK; see $LOG_DIR/podman-service.log" >&2; exit 1; }
fi

# --- docker ------------------------------------------------------------------------------------
# Debian's client is /usr/bin/docker; another one earlier on PATH would do too, but use the
# engine's own to be sure the two agree.
docker_cli=/usr/bin/docker
[ -x "$docker_cli" ] || docker_cli=docker
if stale_cwd "$PID_DIR/dockerd.pid"; then
  log "restarting dockerd: its working directory was deleted"
  kill "$(cat "$PID_DIR/dockerd.pid")" && sleep 2
fi
if ! curl -sf --unix-socket "$DOCKER_SOCK" http://d/_ping >/dev/null 2>&1; then
  (cd / && exec nohup dockerd --iptables=false -H "unix://$DOCKER_SOCK" >"$LOG_DIR/dockerd.log" 2>&1) &
  echo $! > "$PID_DIR/dockerd.pid"
  for _ in $(seq 200); do curl -sf --unix-socket "$DOCKER_SOCK" http://d/_ping >/dev/null 2>&1 && break; sleep 0.1; done
  curl -sf --unix-socket "$DOCKER_SOCK" http://d/_ping >/dev/null || { log "dockerd did not answer on $DOCKER_SOCK; see $LOG_DIR/dockerd.log" >&2; exit 1; }
fi
if [ "$("$docker_cli" image inspect --format '{{.Config.WorkingDir}}' "$IMAGE" 2>/dev/null)" != /var/www ]; then
  "$docker_cli" import -c 'CMD ["/bin/sh"]' -c 'WORKDIR /var/www' "$rootfs_tar" "$IMAGE" >/dev/null
fi

log "podman $(podman --version | awk '{print $3}') on $PODMAN_SOCK ($oci_runtime), docker $("$docker_cli" version --format '{{.Server.Version}}' 2>/dev/null) on $DOCKER_SOCK, image $IMAGE"
