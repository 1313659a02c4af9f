#!/bin/bash
# The service's event-loop lag while another process writes and fsyncs a large file on the same
# filesystem (BENCHMARKS.md, "Writes"). Starts `lib/main.ts` with its embedded broker in a temp
# DATA_DIR, reads prom-client's event-loop lag from /metrics every 2 s (each read covers the time
# since the previous one), first quiet, then during 3 rounds of `dd ... conv=fsync`.
#   bench/disk-stall.sh [MB per round, default 3000]
# Env: BENCH_DIR (default: a new directory under TMPDIR), EMBEDDED_MQTT_PORT (18841), HTTP_PORT (18842).
set -eu
MB=${1:-3000}
cd "$(dirname "$0")/.."
DIR=${BENCH_DIR:-$(mktemp -d)}
export METADATA_SERVER_DETECTION=none DATA_DIR="$DIR/data" LOG_LEVEL=warn
export EMBEDDED_MQTT_PORT=${EMBEDDED_MQTT_PORT:-18841} HTTP_PORT=${HTTP_PORT:-18842}
node --import=tsx lib/main.ts > "$DIR/service.log" 2>&1 &
SERVICE=$!
trap 'kill -TERM $SERVICE 2>/dev/null; wait $SERVICE 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$HTTP_PORT/healthz" > /dev/null && break; sleep 0.2; done
lag() {
  curl -s "http://127.0.0.1:$HTTP_PORT/metrics" |
    awk '/^smarthome_nodejs_eventloop_lag_(max|p99)_seconds/ { sub("smarthome_nodejs_eventloop_lag_", "", $1); sub("_seconds", "", $1); printf "%s %.1f ms  ", $1, $2 * 1000 }'
  echo
}
sleep 2; lag > /dev/null
for s in 1 2 3; do sleep 2; echo "quiet:          $(lag)"; done
for round in 1 2 3; do
  dd if=/dev/zero of="$DIR/big" bs=1M count="$MB" conv=fsync status=none &
  DD=$!
  while kill -0 $DD 2> /dev/null; do sleep 2; echo "dd round $round:     $(lag)"; done
  rm -f "$DIR/big"
done
