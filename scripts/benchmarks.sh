#!/usr/bin/env bash
# Runs the package-benchmark suites in Benchmarks/ (their own package, so that Strata's users and
# its own builds never see package-benchmark). Extra arguments go to the benchmark plugin:
#
#   scripts/benchmarks.sh                              # every benchmark, every target
#   scripts/benchmarks.sh --target RESPBenchmarks      # the codec micro-benchmarks only
#   scripts/benchmarks.sh --filter 'GET.*'             # benchmarks whose name matches
#   scripts/benchmarks.sh baseline update main         # save a baseline (see the plugin's help)
#
# ClientBenchmarks starts its own redis-server (from PATH) through RedisServerHarness. The build
# (release, in Benchmarks/.build, gitignored) takes several minutes the first time.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

exec swift package \
    --package-path "$root/Benchmarks" \
    --scratch-path "$root/Benchmarks/.build" \
    benchmark "$@"
