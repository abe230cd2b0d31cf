#!/usr/bin/env bash
# Builds the RESP decoder's libFuzzer target (Fuzz/, its own package) and runs it.
#
#   scripts/fuzz.sh [seconds]     # default 60
#
# Fuzzes a temporary copy of Fuzz/corpus (the committed seeds stay as they are); crashing inputs
# land in Fuzz/crashes/ (gitignored). Prints the final execution count.
set -euo pipefail

seconds="${1:-60}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fuzz_dir="$root/Fuzz"

# The one recipe that keeps coverage instrumentation on inside SwiftPM (see the environment notes):
# a release build, `--sanitize=fuzzer` for the link and `-sanitize=fuzzer,address` for swiftc.
build=(swift build -c release --product FuzzRESP --scratch-path .build-fuzz
    --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address)

cd "$fuzz_dir"
"${build[@]}"
binary="$("${build[@]}" --show-bin-path)/FuzzRESP"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp corpus/* "$work/"
mkdir -p crashes

log="$work.log"
echo "fuzzing for ${seconds}s on a copy of $(ls corpus | wc -l) seeds; log in $log"
status=0
SWIFT_BACKTRACE=enable=no "$binary" \
    -max_total_time="$seconds" \
    -print_final_stats=1 \
    -artifact_prefix="$fuzz_dir/crashes/" \
    "$work" 2>&1 | tee "$log" || status=$?

execs="$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || true)"
echo "final exec count: ${execs:-unknown}"
if [ "$status" -ne 0 ]; then
    echo "the fuzzer exited with status $status; crashing inputs are in $fuzz_dir/crashes/" >&2
fi
exit "$status"
