#!/usr/bin/env bash
# Times meshgen's access-log parser against `wc -l` and a jq one-liner that
# extracts the same fields, on generated files of SIZE (default 1G) per
# format. Writes to DIR (default a temporary directory, removed at the end).
#
#   hack/bench-logs.sh [SIZE] [DIR]
#
# JQ=0 skips jq, which takes minutes per gigabyte.
#
# Reports wall-clock and CPU time: on a shared machine, MB per CPU second is
# the per-core speed; wall-clock MB/s depends on the neighbours.
set -euo pipefail
SIZE=${1:-1G}
DIR=${2:-}
cd "$(dirname "$0")/.."
if [[ -z "$DIR" ]]; then
  DIR=$(mktemp -d)
  trap 'rm -rf "$DIR"' EXIT
fi
BIN="$DIR/logbench"
go build -o "$BIN" ./observe/accesslog/internal/logbench

# timed LABEL BYTES CMD...: runs CMD, prints wall and user+sys seconds and MB/s.
timed() {
  local label=$1 bytes=$2; shift 2
  local out
  out=$( { /usr/bin/time -f '%e %U %S %M' "$@" >/dev/null; } 2>&1 | tail -1)
  read -r wall user sys rss <<<"$out"
  awk -v l="$label" -v b="$bytes" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" 'BEGIN {
    c = u + s; if (c == 0) c = 0.01; if (w == 0) w = 0.01
    printf "  %-34s wall %7.2fs  cpu %7.2fs  %7.0f MB/s wall  %7.0f MB/cpu-s  maxrss %5d MiB\n", l, w, c, b/1e6/w, b/1e6/c, r/1024 }'
}

JQ_envoy_json='[.start_time, .method, (.path // "" | split("?")[0]), .response_code, .response_code_details, .upstream_cluster, .upstream_host, .downstream_local_address, .downstream_remote_address, .requested_server_name] | @tsv'
JQ_ztunnel_json='select(.scope == "access" and .message == "connection complete") | [.time, .["src.addr"], .["src.identity"], .["dst.addr"], .["dst.hbone_addr"], .["dst.workload"], .["dst.identity"], .direction, .error] | @tsv'
JQ_ztunnel='split("\t") | select(.[2] == "access") | [.[0]] + ([.[4] | scan("(?:src\\.addr|src\\.identity|dst\\.addr|dst\\.hbone_addr|dst\\.workload|dst\\.identity|direction|error)=(\"[^\"]*\"|[^ ]*)")] | map(.[0])) | @tsv'

for format in envoy-json ztunnel envoy ztunnel-json; do
  file="$DIR/$format.log"
  "$BIN" gen -format "$format" -size "$SIZE" -o "$file" >/dev/null
  bytes=$(stat -c %s "$file")
  lines=$(wc -l <"$file")
  echo "$format: $bytes bytes, $lines lines ($(nproc) cores)"
  cat "$file" >/dev/null # page cache
  timed "wc -l" "$bytes" wc -l "$file"
  for w in 1 0; do
    label="meshgen (1 worker)"; [[ $w == 0 ]] && label="meshgen ($(nproc) workers)"
    "$BIN" parse -workers "$w" -inventory "$file.inventory.json" "$file" | sed 's/^/    /'
    timed "$label" "$bytes" "$BIN" parse -workers "$w" -inventory "$file.inventory.json" "$file"
  done
  [[ ${JQ:-1} == 0 ]] || case $format in
    envoy-json) timed "jq (same fields)" "$bytes" jq -r "$JQ_envoy_json" "$file" ;;
    ztunnel-json) timed "jq (same fields)" "$bytes" jq -r "$JQ_ztunnel_json" "$file" ;;
    ztunnel) timed "jq -R (same fields)" "$bytes" jq -rR "$JQ_ztunnel" "$file" ;;
  esac
  rm -f "$file" "$file.inventory.json"
done
