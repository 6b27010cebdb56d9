#!/usr/bin/env bash
# Run every cargo-fuzz target in fuzz/ for FUZZ_SECONDS each (default 600),
# one after another on one core. Installs cargo-fuzz from crates.io when it is
# missing. Stable Rust is enough: RUSTC_BOOTSTRAP=1 unlocks the -Z flags
# cargo-fuzz passes to rustc.
#
# Usage: infra/fuzz.sh                  every target, FUZZ_SECONDS each
#        FUZZ_SECONDS=60 infra/fuzz.sh redact ssrf_url
#
# Inputs that crashed once live in fuzz/regressions/<target>/ and are replayed
# first; new crashes land in fuzz/artifacts/<target>/ and make the run fail.
# The growing corpus is kept in fuzz/corpus/<target>/ (not committed).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${FUZZ_SECONDS:-600}"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

if [[ $# -gt 0 ]]; then targets=("$@"); else mapfile -t targets < <(cargo fuzz list); fi

# The shared crate has no `unsafe`, so AddressSanitizer would find nothing that
# a panic does not already show (overflow checks stay on); without it the
# instrumented build and each execution are much cheaper.
sanitizer=(--sanitizer none)
cargo fuzz build "${sanitizer[@]}"

failed=()
for target in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$target" "fuzz/regressions/$target"
  log="fuzz/corpus/$target.log"
  echo "fuzz: $target for ${seconds}s (log: $log)"
  cargo fuzz run "${sanitizer[@]}" "$target" "fuzz/corpus/$target" "fuzz/regressions/$target" -- \
    -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 >"$log" 2>&1 || failed+=("$target")
  execs="$(grep -oE 'number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo '?')"
  corpus="$(find "fuzz/corpus/$target" -type f | wc -l)"
  echo "fuzz: $target: $execs executions, $corpus corpus inputs"
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz: crashes in ${failed[*]}; inputs are in fuzz/artifacts/" >&2
  exit 1
fi
echo "fuzz: OK (${#targets[@]} targets, ${seconds}s each)"
