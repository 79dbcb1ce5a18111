#!/usr/bin/env bash
# make fuzz: runs every fuzz target of meshgen's module for a short time each.
#   hack/fuzz.sh [FUZZTIME]   (default 20s per target)
# Targets are discovered with `go test -list '^Fuzz' ./...`. New crashers are written under the
# package's testdata/fuzz/ as usual; commit the interesting ones as seeds.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
fuzztime=${1:-20s}

# go test -list prints each package's matching names, then a line "ok <package> <time>".
list=$(go test -short -list '^Fuzz' ./...)
pairs=()
names=()
while IFS= read -r line; do
	case $line in
	Fuzz*) names+=("$line") ;;
	ok*)
		pkg=$(awk '{print $2}' <<<"$line")
		for n in "${names[@]}"; do pairs+=("$pkg $n"); done
		names=()
		;;
	*) names=() ;;
	esac
done <<<"$list"

if ((${#pairs[@]} == 0)); then
	echo "[fuzz] no fuzz targets found"
	exit 0
fi
echo "[fuzz] ${#pairs[@]} targets, $fuzztime each"
for p in "${pairs[@]}"; do
	read -r pkg name <<<"$p"
	echo "[fuzz] $pkg $name"
	go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg"
done
echo "[fuzz] ${#pairs[@]} passed, 0 failed"
