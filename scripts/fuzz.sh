#!/usr/bin/env bash
# make fuzz: run every fuzz target for FUZZTIME each (default 30s). New
# interesting inputs land in the package's testdata/fuzz/<Target>/ and are
# kept in git, so `go test` replays them forever after.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${1:-30s}
grep -rl --include='*_test.go' '^func Fuzz' --exclude-dir=bench --exclude-dir=.git . | sort | while read -r file; do
  pkg="./$(dirname "${file#./}")"
  for target in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //'); do
    echo "== $pkg $target ($FUZZTIME)"
    go test -run='^$' -fuzz="^${target}\$" -fuzztime="$FUZZTIME" "$pkg"
  done
done
