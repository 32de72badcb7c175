#!/usr/bin/env bash
# Runs every Jazzer fuzz target (each @FuzzTest method of a *FuzzTest class) in fuzzing mode for
# SECONDS (default 10), one after another, and fails if any finds a crash. `mvn verify` already
# replays each target's committed inputs (regression mode); this looks for new ones.
#
#   scripts/fuzz.sh [SECONDS] [FILTER...]   FILTER: only targets whose Class#method contains it
#   FUZZ_JOBS=2 scripts/fuzz.sh ...          two targets at a time (CI has the machine to itself)
#
# A finding is written to the target's inputs directory,
# src/test/resources/<package>/<Class>Inputs/<method>/crash-<sha1>: fix its cause, and commit the
# file as a regression input. Each target's log is in <module>/target/fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-10}
shift || true
filters=("$@")
modules=(hive-core discovery-libp2p)

# Targets as "module class method", found in the sources so that a new one is never left out.
targets() {
  local module file class
  for module in "${modules[@]}"; do
    while IFS= read -r file; do
      class=${file#"$module"/src/test/java/}
      class=${class%.java}
      class=${class//\//.}
      awk -v module="$module" -v class="$class" '
        /@FuzzTest/ { pending = 1 }
        pending && match($0, /void [A-Za-z0-9_]+\(/) {
          print module, class, substr($0, RSTART + 5, RLENGTH - 6)
          pending = 0
        }' "$file"
    done < <(find "$module/src/test/java" -name '*FuzzTest.java' | sort)
  done
}

selected() {
  local name=$1 f
  [ ${#filters[@]} -eq 0 ] && return 0
  for f in "${filters[@]}"; do
    [[ $name == *"$f"* ]] && return 0
  done
  return 1
}

# One build for all targets: test classes, and each module's test class path (reactor modules as
# their target/classes, so nothing is installed into the local repository).
module_list=$(IFS=,; echo "${modules[*]}")
mvn -B -ntp -q ${MVN_FLAGS:-} -pl "$module_list" -am test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/fuzz-classpath.txt -Dmdep.includeScope=test

# Fuzzes one target and writes its result line to the file $4; fails on a finding.
fuzz_one() {
  local module=$1 class=$2 method=$3 out=$4
  local name="${class##*.}#$method"
  local log="$module/target/fuzz/${class##*.}.$method.log"
  local classpath="target/test-classes:target/classes:$(cat "$module/target/fuzz-classpath.txt")"
  local start rc took stats runs cov ft execs verdict
  mkdir -p "$module/target/fuzz"
  start=$(date +%s)
  # Jazzer's own launcher runs the @FuzzTest through JUnit, as JAZZER_FUZZ=1 mvn test would, but
  # without a Maven build per target. It exits 0 when the time is up with no finding.
  set +e
  (cd "$module" && java -Xmx1g -cp "$classpath" com.code_intelligence.jazzer.Jazzer \
    --target_class="$class" --target_method="$method" --reproducer_path=target/fuzz \
    -max_total_time="$seconds" -rss_limit_mb=0) < /dev/null > "$log" 2>&1
  rc=$?
  set -e
  took=$(( $(date +%s) - start ))
  # libFuzzer's last status line: "#runs DONE cov: N ft: N corp: ... exec/s: N rss: ...".
  stats=$(grep -a -E '^#[0-9]+' "$log" | tail -n 1 || true)
  runs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<< "$stats")
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<< "$stats")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<< "$stats")
  execs=$(sed -nE 's/.* exec\/s: ([0-9]+).*/\1/p' <<< "$stats")
  verdict=ok
  if [ "$rc" -ne 0 ]; then
    verdict="FINDING (exit $rc)"
    {
      echo "fuzz.sh: $name found a crash; from $log:"
      grep -a -E -A12 '^== Java Exception' "$log" | head -n 20 || tail -n 20 "$log"
      grep -a -E 'Test unit written to' "$log" || true
    } >&2
  fi
  printf '%-52s %10s %8s %6s %6s %5ss  %s\n' "$name" "${runs:-?}" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$took" "$verdict" > "$out"
  [ "$rc" -eq 0 ]
}

parallel=${FUZZ_JOBS:-1}
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
failed=0
n=0
while read -r module class method; do
  selected "${class##*.}#$method" || continue
  n=$((n + 1))
  # At most $parallel at once: wait for one to end before starting another.
  while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do
    wait -n || failed=1
  done
  fuzz_one "$module" "$class" "$method" "$results/$(printf '%03d' "$n")" &
done < <(targets)
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do
  wait -n || failed=1
done

printf '%-52s %10s %8s %6s %6s %6s  %s\n' "target" "runs" "exec/s" "cov" "ft" "wall" "result"
cat "$results"/* 2>/dev/null || true
if [ "$n" -eq 0 ]; then
  echo "fuzz.sh: no fuzz target matched" >&2
  exit 1
fi
exit "$failed"
