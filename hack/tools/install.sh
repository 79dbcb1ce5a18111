#!/usr/bin/env bash
# Installs or builds the tools meshgen's lint and integration tests need, into bin/ at the module
# root (ignored by git). What is present at the pinned version is skipped, so it is cheap to re-run.
#
#   hack/tools/install.sh              everything: etcd, prometheus+promtool (apt), kube-apiserver,
#                                      istioctl, staticcheck (Go tool modules under hack/tools/)
#   hack/tools/install.sh NAME...      only those (apt, kube-apiserver, istioctl, staticcheck)
#
# Each Go tool is built from its own module (hack/tools/NAME/go.mod + go.sum), never from meshgen's,
# and a stamp bin/.NAME.version records the module version, a hash of go.mod+go.sum and the Go
# version: changing a pin, or Go, rebuilds it.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=$root/bin
mkdir -p "$bin"

log() { printf '[tools] %s\n' "$*"; }

install_apt() {
	local need=()
	command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
	if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
		need+=(prometheus)
	fi
	if ((${#need[@]} == 0)); then
		log "etcd, prometheus, promtool: present ($(command -v etcd), $(command -v prometheus))"
		return
	fi
	local sudo=()
	if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
	local start=$SECONDS
	log "apt-get install ${need[*]}"
	"${sudo[@]}" apt-get update -q
	# The prometheus package may start a system service where systemd runs; the tests never use it
	# (they start their own servers on free loopback ports with their own data directories).
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${need[@]}"
	log "apt-get install took $((SECONDS - start))s"
}

# build_tool NAME MODULE PACKAGE: go build PACKAGE in hack/tools/NAME into bin/NAME.
build_tool() {
	local name=$1 module=$2 pkg=$3
	local dir=$root/hack/tools/$name
	local version sum stamp
	version=$(cd "$dir" && go list -m -f '{{.Path}}@{{.Version}}' "$module")
	sum=$(cat "$dir/go.mod" "$dir/go.sum" | sha256sum | cut -c1-16)
	stamp="$version gomod:$sum $(go env GOVERSION)"
	if [[ -x $bin/$name && -f $bin/.$name.version && $(<"$bin/.$name.version") == "$stamp" ]]; then
		log "$name: up to date ($stamp)"
		return
	fi
	local start=$SECONDS
	log "$name: building $version (using $(nproc) cores)"
	# -mod=readonly: go.sum must already be complete, so a fresh clone builds exactly the pinned code.
	(cd "$dir" && go build -mod=readonly -buildvcs=false -o "$bin/.$name.tmp" "$pkg")
	mv -f "$bin/.$name.tmp" "$bin/$name"
	printf '%s\n' "$stamp" >"$bin/.$name.version"
	log "$name: built in $((SECONDS - start))s"
}

tools=("$@")
if ((${#tools[@]} == 0)); then tools=(apt kube-apiserver istioctl staticcheck); fi
for t in "${tools[@]}"; do
	case $t in
	apt) install_apt ;;
	kube-apiserver) build_tool kube-apiserver k8s.io/kubernetes k8s.io/kubernetes/cmd/kube-apiserver ;;
	istioctl) build_tool istioctl istio.io/istio istio.io/istio/istioctl/cmd/istioctl ;;
	staticcheck) build_tool staticcheck honnef.co/go/tools honnef.co/go/tools/cmd/staticcheck ;;
	*)
		echo "hack/tools/install.sh: unknown tool $t (want apt, kube-apiserver, istioctl or staticcheck)" >&2
		exit 2
		;;
	esac
done
