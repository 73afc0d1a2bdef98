#!/usr/bin/env bash
# README command 2: install what is needed, build, and run the whole test suite, against the
# LibTorch NORMOUT_TORCH names (debian, the default, or pypi). Other arguments go to ctest
# (e.g. -L unit for the fast tests).
#   --sanitize: the same suite built with AddressSanitizer and UndefinedBehaviorSanitizer into
#               build-asan/ (LibTorch itself is not instrumented; leaks are not reported, since
#               LibTorch's own global caches would drown them).
#   --sanitize-core: the same, but only the torch-free library (configuration, data readers, run
#               files, sweeps, tables, reports: everything that reads users' files) and its tests, which
#               build in minutes rather than the half hour the whole build takes (with the
#               LibTorch headers precompiled under the same sanitizer flags).
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/torch-choice.sh
sanitize=0
ctest_args=()
for a in "$@"; do
  case "$a" in
    --sanitize) sanitize=1 ;;
    --sanitize-core) sanitize=2 ;;
    *) ctest_args+=("$a") ;;
  esac
done
./tools/deps.sh
if ((sanitize)); then
  export NORMOUT_BUILD_DIR=${NORMOUT_BUILD_DIR}-asan
  flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
  # vptr checks need RTTI of LibTorch's classes across its shared libraries: left out.
  flags+=" -fno-sanitize=vptr"
  configure=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DNORMOUT_PCH=ON "-DCMAKE_CXX_FLAGS=$flags"
             "-DCMAKE_C_FLAGS=$flags" "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined")
  if ((sanitize == 2)); then
    core_tests=(test_config test_data test_runfile test_runfile_hostile test_tables test_report_claims test_report_render)
    NORMOUT_BUILD_TARGETS="${core_tests[*]}" ./tools/build.sh "${configure[@]}"
    ctest_args+=(-R "^($(IFS='|'; echo "${core_tests[*]}"))\$")
  else
    ./tools/build.sh "${configure[@]}"
  fi
  # Leaks are checked where LibTorch is absent (--sanitize-core).
  export ASAN_OPTIONS=detect_leaks=$((sanitize == 2)):abort_on_error=1:detect_stack_use_after_return=0
  export LSAN_OPTIONS=suppressions=$PWD/tools/lsan-suppressions.txt
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  # Responsiveness budgets of the tests (tests/support/time_scale.h): instrumented code is slower.
  export NORMOUT_TEST_TIME_SCALE=3
else
  ./tools/build.sh
fi
ctest --test-dir "$NORMOUT_BUILD_DIR" --output-on-failure --timeout 1800 "${ctest_args[@]}"
