#!/usr/bin/env bash
# Installs what Hive's build and tests need on a Debian host, and only what is missing:
#   java 17+, maven       the build
#   python3               the test workload (python3 -m http.server), as in the README
#   setsid (util-linux)   runs each process workload in its own session
#   kill, ps (procps)     signals a workload's whole process group
#   dig (bind9-dnsutils)  asks the service DNS server, as users would
#   prometheus_client     a real parser of the /metrics text format (python3-prometheus-client)
#   rsync                 the baseline the transfer benchmark compares against (an rsync daemon on loopback)
#   socat                 the consistency checker reaches each namespaced host's loopback-only API through it
#   curl, setpriv         the security tests call the API as another user (nobody), as an attacker on the host would
# Re-running it is harmless. Needs root (or sudo) only when something must be installed.
set -euo pipefail

need=()
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v setsid >/dev/null 2>&1 || need+=(util-linux)
command -v kill >/dev/null 2>&1 || need+=(procps)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v dig >/dev/null 2>&1 || need+=(bind9-dnsutils)
/usr/bin/python3 -c 'import prometheus_client' >/dev/null 2>&1 || need+=(python3-prometheus-client)
command -v rsync >/dev/null 2>&1 || need+=(rsync)
command -v socat >/dev/null 2>&1 || need+=(socat)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v setpriv >/dev/null 2>&1 || need+=(util-linux)
# js-libp2p peers for discovery-libp2p's interop tests (the tests run `npm ci` from a pinned lock file).
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)

if [ ${#need[@]} -gt 0 ]; then
  echo "setup-host: installing ${need[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

java_major=$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')
if [ "${java_major%%.*}" -lt 17 ]; then
  echo "setup-host: Java 17 or newer is needed, found $java_major; set JAVA_HOME to a JDK 17+" >&2
  exit 1
fi
echo "setup-host: java $java_major, $(mvn -v 2>/dev/null | head -n 1), $(python3 --version)"
