#!/usr/bin/env bash
# The demo: learn from the bundled sample mesh (Istio metrics served by a real,
# local Prometheus, plus the cluster inventory and access logs), emit the
# policies, print them, and replay the observed traffic against them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

meshgen=${MESHGEN:-bin/meshgen}
demo=examples/demo
end=2026-11-20T12:00:00Z
tmp=$(mktemp -d)
prom_pid=""
cleanup() {
  if [ -n "$prom_pid" ]; then kill "$prom_pid" 2>/dev/null || true; wait "$prom_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

for b in prometheus promtool; do
  command -v "$b" >/dev/null || { echo "demo: $b not found; run 'make tools'" >&2; exit 2; }
done

# A free loopback port.
port=19090
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done

echo "==> backfilling the sample metrics into a Prometheus TSDB" >&2
gzip -dc "$demo/metrics.om.gz" > "$tmp/metrics.om"
promtool tsdb create-blocks-from openmetrics "$tmp/metrics.om" "$tmp/tsdb" >/dev/null
printf 'global:\n  scrape_interval: 1h\n' > "$tmp/prometheus.yml"
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
  --storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:$port" \
  >"$tmp/prometheus.log" 2>&1 &
prom_pid=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fs "http://127.0.0.1:$port/-/ready" >/dev/null || { cat "$tmp/prometheus.log" >&2; exit 3; }

echo "==> meshgen learn (Prometheus at 127.0.0.1:$port, inventory file, access logs)" >&2
"$meshgen" learn --prometheus "http://127.0.0.1:$port" --window 6h --end "$end" \
  --inventory "$demo/inventory.json" \
  --access-log "$demo/logs/*.log.gz" \
  -o "$tmp/observations.json"

echo "==> meshgen emit" >&2
"$meshgen" emit --observations "$tmp/observations.json" --out -

echo "==> meshgen check (replaying the observed traffic against the emitted policies)" >&2
"$meshgen" emit --observations "$tmp/observations.json" --out "$tmp/policies" 2>/dev/null
"$meshgen" check --observations "$tmp/observations.json" --policies "$tmp/policies"
