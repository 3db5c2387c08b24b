#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run):
#   1. dependencies (scripts/setup.sh, idempotent)
#   2. Release build with warnings as errors (build/): the tools (fathom, fathom-mpi when MPI
#      is installed) and the benchmarks, and the command-line tests on them (golden scenarios,
#      bad inputs, the validation guard, the sweep drivers, the commands the docs show)
#   3. docs/config-reference.md is what `fathom explain --markdown` prints
#   4. clang-format check of src/ and bench/ (skipped with a warning if clang-format is missing)
#   5. ASan + UBSan build with warnings as errors (build-asan/), and every test: the unit and
#      property tests (each binary one CTest test: a sanitized process takes 0.1 s to start)
#      and the command-line tests but the validation guard, the two heaviest scenarios and
#      the documentation's commands.
#      Both builds compile the io code as unity batches (FATHOM_UNITY_IO) and parse its heavy
#      headers from a precompiled one (FATHOM_PCH); the sanitized build compiles every other
#      module as unity batches too (CMAKE_UNITY_BUILD: a tenth less CPU there; at -O3 the
#      Release build gains nothing), so two source files of one module cannot both define a
#      name in an anonymous namespace. The sanitized binaries are not position-independent
#      (0.2 s less CPU at each of the few hundred starts).
# The unit tests run once, under the sanitizers, which check more than the Release build
# could (bounds, lifetimes, undefined behaviour, assertions); the Release binary's
# arithmetic is checked end to end by the goldens and the validation guard.
# Failures are collected and the run goes on (ninja -k 0 builds all it can), so that one
# run reports everything; the summary at the end lists them. Exits non-zero if anything
# failed.
# Builds go through ccache (CMake uses it when installed), with the cache in .cache/
# inside the repository so that CI can keep it between runs; but only where that cache
# already exists. On a fresh clone, with nothing to hit, a ccache that stores every object
# and precompiled header (350 MB of them under the sanitizers) made each build a fifth
# longer; the run then creates .cache/ccache, so that the next run in this checkout (or a CI
# that keeps .cache/) fills it and the ones after it hit.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs="${FATHOM_JOBS:-2}"
export CCACHE_DIR="${CCACHE_DIR:-$PWD/.cache/ccache}"
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-2G}"
# io's precompiled header (FATHOM_PCH): ccache caches the compiles that use it only so.
export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-pch_defines,time_macros}"
if [ ! -d "$CCACHE_DIR" ]; then
  echo "no compiler cache at $CCACHE_DIR yet: building without ccache (the next run uses one)"
  export CCACHE_DISABLE=1
fi

timings=()
failures=()
step_start=0
begin() {
  echo
  echo "==> $1"
  step_start=$SECONDS
}
end() {
  timings+=("$(printf '%-24s %5ds' "$1" $((SECONDS - step_start)))")
}
fail() {
  failures+=("$1")
  echo "test.sh: FAILED: $1" >&2
}
summary() {
  local status=$?
  mkdir -p "$CCACHE_DIR" 2>/dev/null || true
  echo
  echo "test.sh: timings"
  for t in "${timings[@]}"; do echo "  $t"; done
  if [ "$status" -ne 0 ]; then
    echo "test.sh: FAILED (exit $status)" >&2
  elif [ "${#failures[@]}" -ne 0 ]; then
    echo "test.sh: FAILED:" >&2
    for f in "${failures[@]}"; do echo "  $f" >&2; done
    exit 1
  else
    echo "test.sh: all passed"
  fi
}
trap summary EXIT

begin "setup"
scripts/setup.sh
end "setup"

begin "release build (build/)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DFATHOM_WERROR=ON \
  -DFATHOM_SANITIZE=OFF -DFATHOM_BUILD_TESTS=ON -DFATHOM_UNIT_TESTS=OFF -DFATHOM_BUILD_BENCH=ON \
  -DFATHOM_UNITY_IO=ON
release_built=1
cmake --build build -j "$jobs" -- -k 0 || { release_built=0; fail "release build (cmake --build build)"; }
end "release build"

begin "release tests"
if [ "$release_built" -eq 1 ]; then
  ctest --test-dir build -j "$jobs" --output-on-failure || fail "release tests (ctest --test-dir build)"
else
  fail "release tests not run: the build failed (stale binaries would prove nothing)"
fi
end "release tests"

begin "docs/config-reference.md"
reference="$(mktemp)"
if ! cmake --build build --target fathom >/dev/null 2>&1; then
  fail "docs/config-reference.md not checked: build/src/cli/fathom did not build"
elif ! build/src/cli/fathom explain --markdown >"$reference"; then
  fail "docs/config-reference.md not checked: 'fathom explain --markdown' failed"
elif cmp -s docs/config-reference.md "$reference"; then
  echo "docs/config-reference.md is up to date"
else
  diff -u docs/config-reference.md "$reference" | head -40 || true
  echo "hint: regenerate it: build/src/cli/fathom explain --markdown > docs/config-reference.md" >&2
  fail "docs/config-reference.md differs from 'fathom explain --markdown'"
fi
rm -f "$reference"
end "config reference"

begin "clang-format (src/, bench/)"
if command -v clang-format >/dev/null 2>&1; then
  mapfile -t sources < <(find src bench -type f \( -name '*.cc' -o -name '*.h' \) | sort)
  format_log="$(mktemp)"
  if clang-format --dry-run -Werror "${sources[@]}" 2>"$format_log"; then
    echo "${#sources[@]} files formatted as .clang-format says"
  else
    mapfile -t unformatted < <(grep -oE '^[^: ]+\.(cc|h):[0-9]+:[0-9]+: error' "$format_log" | cut -d: -f1 | sort -u)
    printf '  %s\n' "${unformatted[@]}" >&2
    echo "hint: clang-format -i \$(find src bench -name '*.cc' -o -name '*.h')" >&2
    fail "clang-format: ${#unformatted[@]} of ${#sources[@]} files not formatted as .clang-format says"
  fi
  rm -f "$format_log"
else
  echo "warning: clang-format not found; skipping the format check (scripts/setup.sh installs it)" >&2
fi
end "clang-format"

begin "asan+ubsan build (build-asan/)"
# -O1 without debug info: sanitizers still see every access, and the build is about half
# as long as RelWithDebInfo's on two cores (stack traces keep function names).
# The MPI driver is built and tested once, in the Release build: it holds no logic of its own
# (its sweep code is io's, tested here), and Open MPI's runtime trips LeakSanitizer.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1" \
  -DFATHOM_SANITIZE=ON -DFATHOM_WERROR=ON -DFATHOM_BUILD_TESTS=ON -DFATHOM_UNIT_TESTS=ON \
  -DFATHOM_TEST_PER_CASE=OFF -DFATHOM_BUILD_BENCH=OFF -DFATHOM_UNITY_IO=ON -DFATHOM_MPI=OFF \
  -DCMAKE_UNITY_BUILD=ON
asan_built=1
cmake --build build-asan -j "$jobs" -- -k 0 || { asan_built=0; fail "asan+ubsan build (cmake --build build-asan)"; }
end "asan build"

begin "asan+ubsan tests"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
# A 16 MB quarantine of freed memory (256 MB by default): a use after free is still caught
# while the block is among the last 16 MB freed, and the tests' processes fault in a fraction
# of the fresh pages (a fifth less CPU for the suite, most of it in the kernel).
export ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=16}"
if [ "$asan_built" -eq 1 ]; then
  # The validation guard checks accuracy, not memory: its estimates and simulations take
  # the paths the unit and scenario tests already run here, at a third of the sanitized run.
  # The two heaviest scenarios (label heavy) are the others' paths at a larger size, and
  # the documentation's commands (label docs) the goldens' paths on other inputs.
  ctest --test-dir build-asan -j "$jobs" --output-on-failure --label-exclude "validation|heavy|docs" ||
    fail "asan+ubsan tests (ctest --test-dir build-asan)"
else
  fail "asan+ubsan tests not run: the build failed"
fi
end "asan tests"
