#!/usr/bin/env bash
# make lint: gofmt, go vet, go mod tidy -diff (meshgen's module and the tool modules) and the
# pinned staticcheck (bin/staticcheck, built by hack/tools/install.sh staticcheck). Runs every
# check and fails at the end if any failed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

failed=()
check() {
	local name=$1
	shift
	local start=$SECONDS
	if "$@"; then
		printf '[lint] %s: ok (%ss)\n' "$name" $((SECONDS - start))
	else
		printf '[lint] %s: FAILED\n' "$name"
		failed+=("$name")
	fi
}

gofmt_clean() {
	local out
	out=$(find . -name '*.go' -not -path './.git/*' -not -path './bin/*' -print0 | xargs -0 gofmt -l)
	if [[ -n $out ]]; then
		printf 'not gofmt-ed (run gofmt -w):\n%s\n' "$out"
		return 1
	fi
}

tidy_clean() {
	local dir
	for dir in . hack/tools/*/; do
		if ! (cd "$dir" && go mod tidy -diff); then
			echo "$dir: go.mod/go.sum are not tidy: run go mod tidy in $dir"
			return 1
		fi
	done
}

check gofmt gofmt_clean
check "go vet" go vet ./...
check "go mod tidy -diff" tidy_clean
if [[ -x bin/staticcheck ]]; then
	check staticcheck bin/staticcheck ./...
else
	echo "[lint] staticcheck: bin/staticcheck is missing: run make tools (or hack/tools/install.sh staticcheck)"
	failed+=(staticcheck)
fi

if ((${#failed[@]})); then
	echo "[lint] failed: ${failed[*]}"
	exit 1
fi
