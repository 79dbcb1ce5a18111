#!/usr/bin/env bash
# The mesh-scale benchmark suite (make bench). For each size it generates a
# synthetic mesh (hack/bench/gen), backfills its metrics into a real
# Prometheus with promtool, and times, one process per step, with
# /usr/bin/time:
#
#   - learn from Prometheus alone, against the same PromQL sent with curl
#     (taken from Prometheus's query log, sent with the same concurrency);
#   - learn from the access logs (with the inventory), against `wc -l` and a
#     jq extraction of the same fields on the same files;
#   - learn from everything (Prometheus, inventory, logs), whose snapshot
#     then goes through emit, check and diff.
#
#   hack/bench/run.sh [SIZE...]        sizes: tiny, small, large (default: small large)
#
# Environment: BENCH_DIR (work directory, default /tmp/meshgen-bench; meshes
# are kept there and reused), RESULTS (results file, default
# hack/bench/results/<date>-<sizes>.md), PROM_ROUNDS (rounds of the
# Prometheus comparison, default 3), ROUNDS (rounds of the other meshgen
# steps, default 5), JQ=0 skips jq, KEEP=0 deletes each size's data when
# done.
#
# Timed assertions are not made here: the script records numbers, and the
# summary compares them with the targets in docs/performance.md.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(small large)
work=${BENCH_DIR:-/tmp/meshgen-bench}
rounds=${ROUNDS:-5}
prom_rounds=${PROM_ROUNDS:-3}
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
results=${RESULTS:-$root/hack/bench/results/$stamp-$(IFS=-; echo "${sizes[*]}").md}
end=2026-11-20T12:00:00Z
window=24h
scrape=1h
# Prometheus must find a sample within its lookback at every step: the
# generator writes one per hour.
lookback=65m
concurrency=4 # meshgen's --prometheus-concurrency default

# jq, curl and GNU time (/usr/bin/time) come from Debian; Prometheus and
# promtool from hack/tools/install.sh apt.
need=()
command -v jq >/dev/null || need+=(jq)
command -v curl >/dev/null || need+=(curl)
[[ -x /usr/bin/time ]] || need+=(time)
if ((${#need[@]} > 0)); then
  if [[ $(id -u) -eq 0 ]]; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
  else
    echo "bench: missing ${need[*]} (apt-get install ${need[*]})" >&2; exit 2
  fi
fi
for b in promtool prometheus; do
  command -v "$b" >/dev/null || { echo "bench: $b not found (hack/tools/install.sh apt)" >&2; exit 2; }
done
mkdir -p "$work" "$(dirname "$results")"
log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

log "building meshgen and the generator"
go build -o "$work/meshgen" ./cmd/meshgen
go build -o "$work/gen" ./hack/bench/gen
meshgen=$work/meshgen

rows=$work/rows-$stamp.tsv
: >"$rows"
: >"$rows.extra"
# fact SIZE KEY VALUE: a fact for the results file.
fact() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$rows.extra"; }
fact "" date "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
fact "" meshgen "$(git describe --always --dirty 2>/dev/null || echo unknown)"
fact "" go "$(go version | cut -d' ' -f3-)"
fact "" prometheus "$(prometheus --version 2>&1 | head -1)"
fact "" cpu "$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)"
fact "" cores "$(nproc)"
fact "" memory "$(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
fact "" kernel "$(uname -sr)"
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# measure SIZE STEP CMD...: runs CMD under /usr/bin/time, appends a row
# (size, step, wall s, user s, sys s, max RSS KiB, exit code) and prints it.
# Exit codes 0 and 1 (findings) count as success.
measure() {
  local size=$1 step=$2; shift 2
  local tf=$work/time.out rc=0
  /usr/bin/time -f '%e %U %S %M' -o "$tf" "$@" >"$work/last.out" 2>"$work/last.err" || rc=$?
  # time -o starts with "Command exited with non-zero status N" when it did.
  read -r wall user sys rss < <(tail -1 "$tf") || true
  if [[ $rc -gt 1 ]]; then
    log "$step failed (exit $rc):"; tail -20 "$work/last.err" >&2; tail -3 "$tf" >&2
    exit 1
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$size" "$step" "$wall" "$user" "$sys" "$rss" "$rc" >>"$rows"
  log "$(printf '%-28s wall %7.2fs  cpu %7.2fs  maxrss %6d MiB' "$size/$step" "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')" $((rss / 1024)))"
}

prom_pid=""
stop_prom() {
  if [[ -n $prom_pid ]]; then kill "$prom_pid" 2>/dev/null || true; wait "$prom_pid" 2>/dev/null || true; prom_pid=""; fi
}
trap stop_prom EXIT

free_port() {
  local p=19190
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}

# curl_config FILE QUERYLOG URL: a curl config with one POST per range query
# of the query log, as meshgen sent them (the form client_golang sends, plus
# partial_response=false), and the label-values lookup meshgen starts with.
curl_config() {
  local out=$1 qlog=$2 url=$3 start=$4
  {
    printf 'url = "%s/api/v1/label/destination_workload_namespace/values?match[]=%s&match[]=%s&start=%s&end=%s&partial_response=false"\n' \
      "$url" "$(jq -rn --arg s 'istio_requests_total{reporter=~"destination|waypoint"}' '$s|@uri')" \
      "$(jq -rn --arg s 'istio_tcp_connections_opened_total{reporter=~"destination|waypoint"}' '$s|@uri')" "$start" "$end"
    echo 'output = "/dev/null"'
    jq -r --arg url "$url" 'select(.params.step != null and .params.step > 0) |
      "next\nurl = \"\($url)/api/v1/query_range\"\noutput = \"/dev/null\"\n" +
      "data = \"query=\(.params.query|@uri)&start=\(.params.start|@uri)&end=\(.params.end|@uri)&step=\(.params.step)&timeout=120s&partial_response=false\""' "$qlog"
  } >"$out"
}

for size in "${sizes[@]}"; do
  dir=$work/$size
  fact "$size" load-start "$(loadavg)"
  if [[ ! -f $dir/mesh.json ]]; then
    log "generating the $size mesh in $dir"
    rm -rf "$dir"
    measure "$size" generate "$work/gen" -size "$size" -out "$dir" -end "$end" -window "$window" -scrape "$scrape"
  fi
  if [[ ! -f $dir/tsdb/.complete ]]; then
    log "backfilling $(du -h "$dir/metrics.om" | cut -f1) of OpenMetrics with promtool"
    rm -rf "$dir/tsdb"
    measure "$size" promtool-backfill promtool tsdb create-blocks-from openmetrics "$dir/metrics.om" "$dir/tsdb"
    touch "$dir/tsdb/.complete"
  fi

  port=$(free_port)
  url=http://127.0.0.1:$port
  qlog=$dir/query.log
  rm -f "$qlog"
  printf 'global:\n  scrape_interval: 1h\n  query_log_file: %s\n' "$qlog" >"$dir/prometheus.yml"
  log "starting Prometheus on $url"
  prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/tsdb" \
    --storage.tsdb.retention.time=100y --query.lookback-delta=$lookback \
    --web.listen-address="127.0.0.1:$port" >"$dir/prometheus.log" 2>&1 &
  prom_pid=$!
  for _ in $(seq 1 300); do curl -fs "$url/-/ready" >/dev/null 2>&1 && break; sleep 0.2; done
  curl -fs "$url/-/ready" >/dev/null || { tail "$dir/prometheus.log" >&2; exit 3; }

  learn_prom=("$meshgen" learn --prometheus "$url" --window "$window" --end "$end" -o "$dir/prom.json")
  log "learn from Prometheus, once to warm Prometheus's caches and record the queries"
  "${learn_prom[@]}" 2>"$dir/learn-prom.err"
  queries=$(jq -s 'map(select(.params.step > 0)) | length' "$qlog")
  # The window's start, as meshgen sends it with the label lookup: one step
  # before the first evaluation time.
  startw=$(jq -rs 'map(select(.params.step > 0)) | .[0].params | (.start | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) - .step | todateiso8601' "$qlog")
  curl_config "$dir/curl.cfg" "$qlog" "$url" "$startw"
  # The bytes of the answers, uncompressed, once, untimed.
  bytes=$(curl -sf --no-progress-meter --compressed --parallel --parallel-max $concurrency -K <(sed 's#output = "/dev/null"#output = "/dev/stdout"#' "$dir/curl.cfg") | wc -c)
  fact "$size" response-bytes "$bytes"
  fact "$size" queries "$queries"
  log "meshgen sent $queries range queries (+1 label lookup); the answers hold $bytes bytes of JSON"
  for r in $(seq 1 "$prom_rounds"); do
    measure "$size" "curl-same-queries" curl -sf --no-progress-meter --compressed --parallel --parallel-max $concurrency -K "$dir/curl.cfg"
    measure "$size" "learn-prometheus" "${learn_prom[@]}"
  done
  fact "$size" edges-prometheus "$(sed -n 's/^learned \([0-9]*\) edges.*/\1/p' "$work/last.err")"

  envoy=("$dir"/logs/sidecar-*.json.log "$dir"/logs/waypoint-*.json.log)
  ztunnel=("$dir"/logs/ztunnel-*.log)
  cat "${envoy[@]}" "${ztunnel[@]}" >/dev/null # page cache
  : >"$dir/empty.log"
  inv=(--inventory "$dir/inventory.json")
  measure "$size" "meshgen-version" "$meshgen" version # the binary's own RSS
  # Log throughput and memory against file size: each format's files of the
  # mesh (x1), and the same lines again and again (x3 Envoy, x8 ztunnel: the
  # same edges in more bytes, as a longer window of the same traffic gives).
  # Their difference is the cost per byte; x1 alone also carries the fixed
  # and per-edge costs (the inventory, building and writing the snapshot).
  cat "${envoy[@]}" "${envoy[@]}" "${envoy[@]}" >"$dir/envoy-x3.log"
  for _ in 1 2 3 4 5 6 7 8; do cat "${ztunnel[@]}"; done >"$dir/ztunnel-x8.log"
  for r in $(seq 1 "$rounds"); do
    measure "$size" "learn-inventory-only" "$meshgen" learn "${inv[@]}" --access-log "$dir/empty.log" -o "$dir/empty.json"
    measure "$size" "learn-logs-envoy-json" "$meshgen" learn "${inv[@]}" --access-log "$dir/logs/*.json.log" -o "$dir/envoy.json"
    measure "$size" "learn-logs-envoy-json-x3" "$meshgen" learn "${inv[@]}" --access-log "$dir/envoy-x3.log" -o "$dir/envoy-x3.json"
    measure "$size" "learn-logs-ztunnel" "$meshgen" learn "${inv[@]}" --access-log "$dir/logs/ztunnel-*.log" -o "$dir/ztunnel.json"
    measure "$size" "learn-logs-ztunnel-x8" "$meshgen" learn "${inv[@]}" --access-log "$dir/ztunnel-x8.log" -o "$dir/ztunnel-x8.json"
    measure "$size" "learn-logs-all" "$meshgen" learn "${inv[@]}" --access-log "$dir/logs/*.log" -o "$dir/logs.json"
  done
  rm -f "$dir/envoy-x3.log" "$dir/ztunnel-x8.log"
  measure "$size" "wc-l-envoy-json" wc -l "${envoy[@]}"
  measure "$size" "wc-l-ztunnel" wc -l "${ztunnel[@]}"
  if [[ ${JQ:-1} != 0 ]]; then
    measure "$size" "jq-envoy-json" jq -r '[.start_time, .method, (.path // "" | split("?")[0]), .response_code, .response_code_details, .upstream_cluster, .upstream_host, .downstream_local_address, .downstream_remote_address, .requested_server_name] | @tsv' "${envoy[@]}"
    measure "$size" "jq-ztunnel" jq -rR 'split("\t") | select(.[2] == "access") | [.[0]] + ([.[4] | scan("(?:src\\.addr|src\\.identity|dst\\.addr|dst\\.hbone_addr|dst\\.workload|dst\\.identity|direction|error)=(\"[^\"]*\"|[^ ]*)")] | map(.[0])) | @tsv' "${ztunnel[@]}"
  fi

  measure "$size" "learn-all" "$meshgen" learn --prometheus "$url" --window "$window" --end "$end" \
    --inventory "$dir/inventory.json" --access-log "$dir/logs/*.log" -o "$dir/observations.json"
  fact "$size" edges "$(sed -n 's/^learned \([0-9]*\) edges.*/\1/p' "$work/last.err")"
  stop_prom

  for r in $(seq 1 "$rounds"); do
    rm -rf "$dir/policies" # a first emit into an empty directory, every round
    measure "$size" "emit" "$meshgen" emit --observations "$dir/observations.json" --out "$dir/policies"
    measure "$size" "check" "$meshgen" check --observations "$dir/observations.json" --policies "$dir/policies" -o json
  done
  cp "$work/last.out" "$dir/check.json"
  fact "$size" authorizationpolicies "$(grep -rh '^kind: AuthorizationPolicy' "$dir/policies" | wc -l)"
  fact "$size" peerauthentications "$(grep -rh '^kind: PeerAuthentication' "$dir/policies" | wc -l)"
  fact "$size" privilege "$(jq -r '.summary.privilege | if .skipped then "skipped: \(.skipped)" else "\(.combinations) combinations computed" end' "$dir/check.json")"
  # diff: the policies learnt from everything against those learnt from the
  # logs alone (which miss the namespaces without access logs), over the
  # observed traffic, as a pull request that widens coverage would show.
  rm -rf "$dir/baseline"
  "$meshgen" emit --observations "$dir/logs.json" --out "$dir/baseline" 2>/dev/null
  for r in $(seq 1 "$rounds"); do
    measure "$size" "diff" "$meshgen" diff --policies "$dir/policies" --against "$dir/baseline" --observations "$dir/observations.json" -o json
  done
  cp "$work/last.out" "$dir/diff.json"
  fact "$size" load-end "$(loadavg)"
  [[ ${KEEP:-1} != 0 ]] || rm -rf "$dir"
done

go run ./hack/bench/report -rows "$rows" -work "$work" -command "${BENCH_COMMAND:-hack/bench/run.sh ${sizes[*]}}" "${sizes[@]}" >"$results"
log "results: $results"
cat "$results"
