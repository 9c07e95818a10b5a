#!/usr/bin/env bash
# Runs every test project of the solution (Release) and ends with one summary line,
#     N passed, N failed, N skipped
# counted from the TRX results of all test projects. Exits non-zero if any test failed, if the
# run itself failed (build error, crashed test host), or if no test ran at all.
#
# Usage: ./test.sh [extra dotnet test arguments]
# Environment: CI=true is passed through to the tests, which then fail instead of skipping when
# a prerequisite is missing. TEST_RESULTS_DIR overrides where TRX files go.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

results=${TEST_RESULTS_DIR:-artifacts/test-results}
rm -rf "${results}"
mkdir -p "${results}"

set +e
# Test projects run side by side (-m): the live suites mostly wait for emulated guests, so running them
# together keeps both cores busy. A single live test may take most of an hour on a loaded machine (a
# guest's boot plus a reboot, or a node replaced), so only a test silent for longer counts as hung.
dotnet test Provisioner.sln -c Release -m:6 \
    --results-directory "${results}" \
    --logger trx \
    --logger "console;verbosity=normal" \
    --blame-hang-timeout 80m \
    "$@" </dev/null
rc=$?
set -e

passed=0 failed=0 skipped=0 executed=0 files=0
# Reads one attribute of a TRX <Counters> element.
counter() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$2" | head -n1; }
while IFS= read -r -d '' trx; do
    counters=$(grep -o '<Counters [^>]*>' "${trx}" | head -n1 || true)
    [[ -n ${counters} ]] || continue
    files=$((files + 1))
    passed=$((passed + $(counter passed "${counters}")))
    failed=$((failed + $(counter failed "${counters}") + $(counter error "${counters}") + $(counter timeout "${counters}") + $(counter aborted "${counters}")))
    # xUnit's skipped tests are neither passed nor failed; VSTest does not always count them as notExecuted.
    total=$(counter total "${counters}")
    skipped=$((skipped + total - $(counter passed "${counters}") - $(counter failed "${counters}") - $(counter error "${counters}") - $(counter timeout "${counters}") - $(counter aborted "${counters}")))
    executed=$((executed + $(counter executed "${counters}")))
done < <(find "${results}" -name '*.trx' -print0)

echo
echo "test results: ${files} TRX file(s) in ${results}"
if [[ ${executed} -eq 0 && ${passed} -eq 0 && ${failed} -eq 0 ]]; then
    echo "no test ran (dotnet test exit code ${rc})" >&2
    echo "0 passed, 0 failed, ${skipped} skipped"
    exit 1
fi
if [[ ${failed} -gt 0 ]]; then
    # CI keeps only the tail of the log: name every failed test again here, next to the summary.
    echo "failed tests:"
    # Each failed result's name, then the first line of its message.
    find "${results}" -name '*.trx' -exec awk '
        /<UnitTestResult / {
            name = ""
            if ($0 ~ /outcome="(Failed|Error|Timeout|Aborted)"/) {
                name = $0; sub(/.* testName="/, "", name); sub(/".*/, "", name)
                print "  " name
            }
        }
        name != "" && /<Message>/ { line = $0; sub(/.*<Message>/, "", line); sub(/<\/Message>.*/, "", line); print "      " substr(line, 1, 400); name = "" }
    ' {} + | sed 's/&quot;/"/g; s/&apos;/'"'"'/g; s/&lt;/</g; s/&gt;/>/g; s/&amp;/\&/g'
fi
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
if [[ ${failed} -gt 0 ]]; then
    exit 1
fi
if [[ ${rc} -ne 0 ]]; then
    echo "dotnet test exited with ${rc} although no test failed (build error or crashed test host?)" >&2
    exit "${rc}"
fi
