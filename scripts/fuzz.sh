#!/usr/bin/env bash
# make fuzz: run every fuzz target for FUZZTIME each (default 30s). go test
# keeps new interesting inputs in its cache; this copies them into the
# package's testdata/fuzz/<Target>/, which is in git, so every plain
# `go test` replays them forever after.
#
# Each target runs under a hard memory limit (ulimit -v, FUZZ_VMEM_KIB,
# default 4 GiB of address space per process; the Go runtime reserves
# about 800 MiB of it at start-up): a parser that allocates what an input
# claims instead of what it holds dies there with "fatal error: out of
# memory", and the fuzzer reports the input as a crasher. The test binary
# is built first, outside the limit, so the compiler and linker are not
# constrained; -fuzz at build time gives it the coverage instrumentation
# that guides the fuzzer.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${1:-30s}
FUZZ_VMEM_KIB=${FUZZ_VMEM_KIB:-4194304}
MODULE=$(go list -m)
CACHE=$(go env GOCACHE)/fuzz
BIN=$(mktemp -d)
trap 'rm -rf "$BIN"' EXIT
grep -rl --include='*_test.go' '^func Fuzz' --exclude-dir=bench --exclude-dir=.git . | sort | while read -r file; do
  pkg="./$(dirname "${file#./}")"
  test="$BIN/$(echo "${pkg#./}" | tr / _).test"
  if [ ! -x "$test" ]; then
    go test -c -fuzz=. -o "$test" "$pkg"
  fi
  for target in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //'); do
    echo "== $pkg $target ($FUZZTIME, ulimit -v $FUZZ_VMEM_KIB KiB)"
    # go test runs a package's tests in its directory and keeps the
    # fuzz cache under GOCACHE/fuzz/<import path>; do the same.
    (
      cd "$pkg"
      ulimit -v "$FUZZ_VMEM_KIB"
      "$test" -test.run='^$' -test.fuzz="^${target}\$" -test.fuzztime="$FUZZTIME" \
        -test.fuzzcachedir="$CACHE/$MODULE/${pkg#./}" -test.timeout=0
    )
    found="$CACHE/$MODULE/${pkg#./}/$target"
    if [ -d "$found" ]; then
      mkdir -p "$pkg/testdata/fuzz/$target"
      cp -n "$found"/* "$pkg/testdata/fuzz/$target/" 2>/dev/null || true
    fi
  done
done
