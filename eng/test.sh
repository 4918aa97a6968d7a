#!/usr/bin/env bash
# Runs every test project and prints the totals as one line: "N passed, N failed".
# Sets up the machine, fetches data and packs the library packages into artifacts/packages first (all idempotent):
# the package and notebook tests install from that local feed. Extra arguments go to `dotnet test`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash eng/setup.sh
bash eng/fetch-data.sh
bash eng/pack.sh
# What the tests (and the processes they start) write to the temporary folder goes to one folder per run, removed
# when the run ends: model folders, caches and consumer workspaces would otherwise pile up in /tmp run after run.
run_tmp=$(mktemp -d "${TMPDIR:-/tmp}/aigc-test-run.XXXXXX")
trap 'rm -rf "$run_tmp"' EXIT
export TMPDIR="$run_tmp"
results=artifacts/test-results
rm -rf "$results"
set +e
dotnet test Aigc.MLNet.sln -c Release --logger "trx" --results-directory "$results" "$@"
status=$?
set -e
passed=0
failed=0
shopt -s nullglob
for trx in "$results"/*.trx; do
  counters=$(grep -o -m 1 '<Counters [^>]*>' "$trx")
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  e=$(sed -n 's/.* error="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0} + ${e:-0}))
done
if [ $status -ne 0 ] && [ $failed -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
[ $status -eq 0 ] && [ $failed -eq 0 ]
