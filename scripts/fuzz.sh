#!/usr/bin/env bash
# make fuzz: run every fuzz target for FUZZTIME each (default 30s). go test
# keeps new interesting inputs in its cache; this copies them into the
# package's testdata/fuzz/<Target>/, which is in git, so every plain
# `go test` replays them forever after.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${1:-30s}
MODULE=$(go list -m)
CACHE=$(go env GOCACHE)/fuzz
grep -rl --include='*_test.go' '^func Fuzz' --exclude-dir=bench --exclude-dir=.git . | sort | while read -r file; do
  pkg="./$(dirname "${file#./}")"
  for target in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //'); do
    echo "== $pkg $target ($FUZZTIME)"
    go test -run='^$' -fuzz="^${target}\$" -fuzztime="$FUZZTIME" "$pkg"
    found="$CACHE/$MODULE/${pkg#./}/$target"
    if [ -d "$found" ]; then
      mkdir -p "$pkg/testdata/fuzz/$target"
      cp -n "$found"/* "$pkg/testdata/fuzz/$target/" 2>/dev/null || true
    fi
  done
done
