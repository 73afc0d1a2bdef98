#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang and runs each for SECONDS seconds (default 20)
# from seed corpora written by fuzz/make_seeds.py, after replaying every input of
# fuzz/regressions/<target>/. An input that makes a target fail while fuzzing (crash, sanitizer
# report, uncaught exception, timeout, out of memory) is saved to fuzz/regressions/<target>/, so
# every later run replays it. Exit status non-zero on any failure, replayed or new.
#
#   tools/fuzz.sh [SECONDS]
#
# Environment:
#   FUZZ_BUILD    build folder (default build-fuzz/); also keeps the seed run (seed-cache/)
#   NORMOUT_CLI   the normout program (default build/app/normout where it exists): the run-file
#                 seeds come from a tiny run it trains, the configuration seeds from its presets
#   FUZZ_CORPUS   keep the corpora (seeds and what fuzzing added) in this folder, not a temporary one
#   FUZZ_TARGETS  the targets to run (default all), e.g. "fuzz_config fuzz_sweep"
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
out=${FUZZ_BUILD:-build-fuzz}
targets=(${FUZZ_TARGETS:-fuzz_data_readers fuzz_run_file fuzz_config fuzz_sweep})
log=$(mktemp)
if ! { CC=clang CXX=clang++ cmake -S fuzz -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
       cmake --build "$out"; } >"$log" 2>&1; then
  tail -40 "$log"
  echo "building the fuzz targets failed"
  exit 1
fi
rm -f "$log"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
corpus=${FUZZ_CORPUS:-$work/corpus}
mkdir -p "$corpus"
# The seeds need h5py for the run files (python3-h5py: Debian's /usr/bin/python3 has it).
python=python3
for p in /usr/bin/python3 python3; do
  if command -v "$p" >/dev/null && "$p" -c 'import h5py' 2>/dev/null; then python=$p; break; fi
done
cli=${NORMOUT_CLI:-}
if [ -z "$cli" ] && [ -x build/app/normout ]; then cli=build/app/normout; fi
[ -n "$cli" ] || echo "NORMOUT_CLI not set and build/app/normout missing: run-file seeds without a real run"
"$python" fuzz/make_seeds.py "$corpus" ${cli:+--cli "$cli"} --cache "$out/seed-cache"

export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export LSAN_OPTIONS=suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0
# halt_on_error: float-cast-overflow is built recoverable (fuzz/CMakeLists.txt) but must stop too.
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
limits=(-timeout=10 -rss_limit_mb=2048)
status=0

# Every input that once failed a target is replayed first: it fails until its bug is fixed.
for target in "${targets[@]}"; do
  shopt -s nullglob
  regressions=(fuzz/regressions/$target/*)
  shopt -u nullglob
  failed=0
  for input in "${regressions[@]}"; do
    if ! "$out/$target" -runs=1 "${limits[@]}" "$input" >"$work/replay.log" 2>&1; then
      failed=$((failed + 1))
      status=1
      echo "$target fails again on $input:"
      grep -E -A14 "ERROR|FINDING|SUMMARY|deadly|terminate called|ALARM|runtime error" "$work/replay.log" | head -40 || true
    fi
  done
  [ ${#regressions[@]} -eq 0 ] ||
    echo "$target: replayed ${#regressions[@]} regression input(s), $failed failed"
done

for target in "${targets[@]}"; do
  # The seeds of real runs are up to ~40 KB as run-file inputs: room for them and for growth.
  max_len=65536
  [ "$target" = fuzz_run_file ] && max_len=131072
  artifacts=$work/artifacts-$target
  mkdir -p "$artifacts" "$corpus/$target"
  echo "fuzzing $target for ${seconds}s"
  # FUZZ_KNOWN: skips sleeps that only slow fuzzing down (fuzz/fuzz_common.h).
  if FUZZ_KNOWN=1 "$out/$target" -max_total_time="$seconds" -max_len="$max_len" "${limits[@]}" \
       -artifact_prefix="$artifacts/" -print_final_stats=1 "$corpus/$target" >"$work/$target.log" 2>&1; then
    grep -E "^#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units" "$work/$target.log" || true
  else
    status=1
    grep -E -A14 "ERROR|FINDING|SUMMARY|deadly|terminate called|ALARM|runtime error" "$work/$target.log" | head -60 || true
  fi
  for a in "$artifacts"/crash-* "$artifacts"/timeout-* "$artifacts"/oom-* "$artifacts"/leak-*; do
    [ -f "$a" ] || continue
    mkdir -p "fuzz/regressions/$target"
    cp "$a" "fuzz/regressions/$target/"
    echo "saved fuzz/regressions/$target/$(basename "$a") (replayed from now on)"
  done
done
exit $status
