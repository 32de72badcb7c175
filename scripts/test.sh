#!/usr/bin/env bash
# The whole test suite: unit tests, compatibility kits, and integration tests that start the
# daemon from examples/target/hive.jar as a separate JVM and kill it with SIGKILL.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-host.sh
# Podman and Docker for the container tests. Without root or apt they cannot be had: the tests
# that need them skip, unless CI=true, where they fail (RequiredRuntime), so CI never lies.
if ! scripts/setup-containers.sh; then
  if [ "${CI:-}" = true ]; then
    echo "test.sh: CI=true and the container runtimes could not be set up" >&2
    exit 1
  fi
  echo "test.sh: no container runtimes here; the docker and podman tests will be skipped" >&2
fi
# Two libvirt daemons and a bootable guest for the VM and migration tests, the same rule.
if ! scripts/setup-vms.sh; then
  if [ "${CI:-}" = true ]; then
    echo "test.sh: CI=true and the libvirt daemons could not be set up" >&2
    exit 1
  fi
  echo "test.sh: no libvirt here; the VM tests will be skipped" >&2
fi
exec mvn -B -ntp verify "$@"
