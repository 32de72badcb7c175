#!/usr/bin/env bash
# Installs libvirt and QEMU, starts two libvirt daemons on this one machine ("hypervisor a" and
# "hypervisor b"), and builds a small bootable guest, for Hive's VM and migration tests.
#
#   scripts/setup-vms.sh          install what is missing, start what is not running, build the guest
#   scripts/setup-vms.sh env      print the URIs and guest paths as shell variables (after setup)
#   scripts/setup-vms.sh stop     destroy guests left running and stop both daemons
#
# Facts of this kind of host (Debian 12, root, no systemd, no usable KVM), and what they cost:
#   - each libvirtd runs in a private mount namespace with its own /run/libvirt, /var/lib/libvirt,
#     /etc/libvirt, /var/cache/libvirt and /var/log/libvirt bound from $HIVE_LIBVIRT_DIR/<node>,
#     so the two daemons do not see each other's state; virtlogd starts first, in the same namespace.
#   - libvirtd resolves its default QEMU user before reading qemu.conf, so `libvirt-qemu` must exist.
#   - qemu.conf runs QEMU as root without relabelling (no SELinux/AppArmor here).
#   - guests are domain type `qemu` (TCG): /dev/kvm here is a paravirtual stub that hangs guests.
#   - migration_address cannot be a local address (libvirtd refuses to start): Hive passes
#     migrate_uri=tcp://127.0.0.1 per migration instead; each daemon gets its own migration ports.
#   - the guest: Debian's cloud kernel (extracted from its package, not installed) and an initrd of
#     busybox-static whose init prints one boot line with a random id, then writes 4 MiB of its
#     memory and prints a tick every second. A restarted guest prints a second boot line.
#
# Exit status: 0 when both daemons answer; 2 when this machine cannot have them (not root, no apt);
# 1 when setting them up failed. Re-running it is harmless.
set -euo pipefail

DIR=${HIVE_LIBVIRT_DIR:-/run/hive-libvirt}
GUEST_DIR=${HIVE_GUEST_DIR:-/var/lib/hive-guest}
NODES="a:1 b:2"

log() { echo "setup-vms: $*"; }
uri_of() { echo "qemu+unix:///system?socket=$DIR/node-$1/run/libvirt-sock"; }

print_env() {
  cat <<EOF
HIVE_LIBVIRT_A='$(uri_of a)'
HIVE_LIBVIRT_B='$(uri_of b)'
HIVE_LIBVIRT_A_PEER='qemu+tcp://127.0.0.1:16501/system'
HIVE_LIBVIRT_B_PEER='qemu+tcp://127.0.0.1:16502/system'
HIVE_GUEST_KERNEL='$GUEST_DIR/vmlinuz'
HIVE_GUEST_INITRD='$GUEST_DIR/initrd.cpio.gz'
EOF
}

stop_nodes() {
  for n in $NODES; do
    name=${n%%:*}
    node=$DIR/node-$name
    if [ -S "$node/run/libvirt-sock" ]; then
      # QEMU outlives libvirtd: destroy guests first so that no orphan keeps its memory.
      for d in $(virsh -c "$(uri_of "$name")" list --name 2>/dev/null); do
        virsh -c "$(uri_of "$name")" destroy "$d" >/dev/null 2>&1 || true
      done
    fi
    for p in libvirtd virtlogd; do
      [ -f "$node/$p.pid" ] && kill "$(cat "$node/$p.pid")" 2>/dev/null || true
      rm -f "$node/$p.pid"
    done
  done
}

case "${1:-up}" in
  env) print_env; exit 0 ;;
  stop) stop_nodes; exit 0 ;;
  up) ;;
  *) echo "usage: $0 [up|env|stop]" >&2; exit 64 ;;
esac

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  log "needs root and apt-get to install libvirt and QEMU; the VM tests will be skipped" >&2
  exit 2
fi

need=()
command -v libvirtd >/dev/null 2>&1 || need+=(libvirt-daemon libvirt-daemon-driver-qemu)
command -v virsh >/dev/null 2>&1 || need+=(libvirt-clients)
command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86)
[ -e /usr/lib/x86_64-linux-gnu/libvirt.so.0 ] || need+=(libvirt0)
[ -x /bin/busybox ] || need+=(busybox-static)
command -v cpio >/dev/null 2>&1 || need+=(cpio)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
getent passwd libvirt-qemu >/dev/null || {
  getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
  useradd -r -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
}

# --- the guest ---------------------------------------------------------------------------------
mkdir -p "$GUEST_DIR"
if [ ! -s "$GUEST_DIR/vmlinuz" ]; then
  kernel_pkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
  log "extracting the kernel of $kernel_pkg"
  work=$(mktemp -d)
  (cd "$work" && apt-get download -qq "$kernel_pkg" 2>/dev/null && dpkg-deb --fsys-tarfile ./*.deb | tar -x --wildcards './boot/vmlinuz-*')
  cp "$work"/boot/vmlinuz-* "$GUEST_DIR/vmlinuz"
  rm -rf "$work"
fi
if [ ! -s "$GUEST_DIR/initrd.cpio.gz" ] || [ "$0" -nt "$GUEST_DIR/initrd.cpio.gz" ]; then
  log "building the busybox initrd"
  root=$(mktemp -d)
  mkdir -p "$root"/{bin,dev,proc,sys,tmp}
  cp /bin/busybox "$root/bin/busybox"
  cat > "$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs -o size=64m tmpfs /tmp
boot=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "hive-guest booted id=$boot"
i=0
while true; do
  i=$((i + 1))
  # Dirty 4 MiB of guest memory every second, so live migration has pages to iterate over.
  dd if=/dev/urandom of=/tmp/dirty bs=1M count=4 2>/dev/null
  echo "hive-guest id=$boot tick=$i"
  sleep 1
done
INIT
  chmod +x "$root/init"
  (cd "$root" && find . | cpio -o -H newc --quiet | gzip -1 > "$GUEST_DIR/initrd.cpio.gz.new")
  mv "$GUEST_DIR/initrd.cpio.gz.new" "$GUEST_DIR/initrd.cpio.gz"
  rm -rf "$root"
fi

# --- two libvirt daemons -----------------------------------------------------------------------
cd /
for n in $NODES; do
  name=${n%%:*}; idx=${n##*:}
  node=$DIR/node-$name
  if [ -f "$node/libvirtd.pid" ] && kill -0 "$(cat "$node/libvirtd.pid")" 2>/dev/null && [ -S "$node/run/libvirt-sock" ]; then
    continue
  fi
  mkdir -p "$node"/{run,lib,etc,cache,log}
  cat > "$node/etc/qemu.conf" <<EOF
# Written by Hive's scripts/setup-vms.sh
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
migration_port_min = 49${idx}00
migration_port_max = 49${idx}99
EOF
  cat > "$node/etc/libvirtd.conf" <<EOF
# Written by Hive's scripts/setup-vms.sh
host_uuid = "00000000-0000-4000-8000-00000000000${idx}"
listen_tls = 0
listen_tcp = 1
listen_addr = "127.0.0.1"
tcp_port = "1650${idx}"
auth_tcp = "none"
EOF
  [ -f "$node/virtlogd.pid" ] && kill "$(cat "$node/virtlogd.pid")" 2>/dev/null || true
  log "starting libvirtd $name ($(uri_of "$name"), peers reach it at qemu+tcp://127.0.0.1:1650${idx}/system)"
  unshare -m --propagation private /bin/sh -ec "
    mkdir -p /run/libvirt /var/lib/libvirt /etc/libvirt /var/cache/libvirt /var/log/libvirt
    mount --bind $node/run /run/libvirt
    mount --bind $node/lib /var/lib/libvirt
    mount --bind $node/etc /etc/libvirt
    mount --bind $node/cache /var/cache/libvirt
    mount --bind $node/log /var/log/libvirt
    /usr/sbin/virtlogd -d -p $node/virtlogd.pid
    /usr/sbin/libvirtd -d --listen -p $node/libvirtd.pid"
done
for n in $NODES; do
  name=${n%%:*}
  for _ in $(seq 1 150); do [ -S "$DIR/node-$name/run/libvirt-sock" ] && break; sleep 0.1; done
  # The first connection probes QEMU's capabilities (~8 s when cold).
  if ! virsh -c "$(uri_of "$name")" version >/dev/null; then
    log "libvirtd $name does not answer on $(uri_of "$name")" >&2
    exit 1
  fi
done
log "libvirtd a and b answer; guest in $GUEST_DIR ($(du -h "$GUEST_DIR/vmlinuz" | cut -f1) kernel, $(du -h "$GUEST_DIR/initrd.cpio.gz" | cut -f1) initrd)"
