#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (into build-fuzz/) and runs each for SECONDS seconds
# (default 20) from a small seed corpus, after replaying fuzz/regressions/<target>/. Exit status
# non-zero on any crash or sanitizer report.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
out=${FUZZ_BUILD:-build-fuzz}
log=$(mktemp)
if ! { CC=clang CXX=clang++ cmake -S fuzz -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
       cmake --build "$out"; } >"$log" 2>&1; then
  tail -40 "$log"
  echo "building the fuzz targets failed"
  exit 1
fi
rm -f "$log"
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
mkdir -p "$corpus/data" "$corpus/run"
# Seeds: a valid CIFAR record, IDX headers, a tiny PNG, JPEG and tar header, and empty inputs.
python3 - "$corpus" <<'PY'
import gzip, io, os, struct, sys, tarfile, zlib
c = sys.argv[1]
def put(d, name, data): open(os.path.join(c, d, name), "wb").write(data)
put("data", "cifar", b"\x00" + bytes([3]) + bytes(3072) + bytes([7]) + bytes(3072))
idx = struct.pack(">IIII", 0x803, 2, 28, 28) + bytes(2 * 784)
put("data", "idx", b"\x01" + idx + struct.pack(">II", 0x801, 2) + b"\x01\x02")
put("data", "idxgz", b"\x02" + gzip.compress(idx))
png = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0)
png += struct.pack(">I", zlib.crc32(png[12:29]) & 0xffffffff)
raw = zlib.compress(b"\x00\x10\x20\x00\x30\x40")
png += struct.pack(">I", len(raw)) + b"IDAT" + raw + struct.pack(">I", zlib.crc32(b"IDAT" + raw) & 0xffffffff)
png += struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND") & 0xffffffff)
put("data", "png", b"\x03" + png)
put("data", "jpeg", b"\x03\xff\xd8\xff\xe0\x00\x10JFIF\x00")
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
    for name in ("train/a/0.png", "test/a/0.png"):
        info = tarfile.TarInfo(name); info.size = len(png); t.addfile(info, io.BytesIO(png))
put("data", "tar", b"\x04" + buf.getvalue())
put("run", "valid", bytes([2, 1, 1] + [1] * 200))
put("run", "empty", b"")
PY
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
status=0
# Every input that once crashed a target is replayed first (fuzz/regressions/<target>/).
for target in fuzz_data_readers fuzz_run_file; do
  regressions=(fuzz/regressions/$target/*)
  [ -e "${regressions[0]}" ] || continue
  if "$out/$target" -runs=1 "${regressions[@]}" >"$corpus/$target.replay.log" 2>&1; then
    echo "replayed ${#regressions[@]} regression input(s) of $target"
  else
    status=1
    echo "a regression input of $target fails again:"
    grep -E -A12 "ERROR|SUMMARY|deadly" "$corpus/$target.replay.log" | head -40
  fi
done
for target in fuzz_data_readers fuzz_run_file; do
  dir=data; [ "$target" = fuzz_run_file ] && dir=run
  mkdir -p "$corpus/artifacts-$target"
  echo "fuzzing $target for ${seconds}s"
  if "$out/$target" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
       -artifact_prefix="$corpus/artifacts-$target/" -print_final_stats=1 "$corpus/$dir" >"$corpus/$target.log" 2>&1; then
    grep -E "stat::number_of_executed_units" "$corpus/$target.log" || true
  else
    status=1
    grep -E -A12 "ERROR|SUMMARY|deadly|Test unit written" "$corpus/$target.log" | head -60
    for a in "$corpus/artifacts-$target"/*; do
      [ -f "$a" ] && echo "reproducer: $(basename "$a"): $(head -c 96 "$a" | od -An -tx1 | tr -d '\n' | head -c 200)"
    done
  fi
done
exit $status
