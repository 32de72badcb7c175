#!/usr/bin/env bash
# The whole test suite: unit tests, compatibility kits, and integration tests that start the
# daemon from examples/target/hive.jar as a separate JVM and kill it with SIGKILL.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-host.sh
exec mvn -B -ntp verify "$@"
