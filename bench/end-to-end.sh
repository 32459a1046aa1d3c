#!/usr/bin/env bash
# End to end: POST /api/v1/messages (4 KB) → delivered at Postfix's smtp-sink, per message, from just before the POST to
# the end of the delivering attempt as the status API reports it (startedAt + durationMs). p50/p99:
#   idle   — one message at a time, the next sent once the previous is delivered;
#   rate   — open-loop at a fixed rate (default 500 requests/s, below the delivery rate);
#   max    — as fast as 50 connections allow (the queue grows when the API accepts faster than the worker delivers).
# Also the API's own p50/p99 (POST → 202). Reference: smtp-sink answering 250 (the null relay), TLS off by explicit option.
# Usage: bench/end-to-end.sh [idle_messages=300] [load_messages=5000] [rate=500] [worker_concurrency=20]
source "$(dirname "$0")/lib.sh"
idle=${1:-300}; load=${2:-5000}; fixed_rate=${3:-500}; concurrency=${4:-20}
ensure_debian postfix
build_gateway
build_bench
start_sink; sink=$sink_port
results=$(mktemp -d /tmp/mailgateway-bench-e2e.XXXXXX); cleanup_add "rm -rf $results"

# Runs in this shell (not in $(...) or <(...)), so the cleanup it registers stops the gateway if anything fails.
run() { # run MODE MESSAGES -> "e2e mode count sent_rps accept_p50 accept_p99 e2e_p50 e2e_p99 e2e_max"
  local work port
  work=$(mktemp -d /tmp/mailgateway-bench-e2e.XXXXXX); cleanup_add "rm -rf $work"
  port=$(free_port)
  start_gateway "$work" "$port" "$sink" --MailGateway:DeliveryWorker:Concurrency="$concurrency"
  $bench_exe e2e "http://127.0.0.1:$port" "$api_key" "$1" "$2" 50 || { tail -20 "$work/gateway.log" >&2; return 1; }
  stop_gateway || true
}

rows=()
for mode in idle "$fixed_rate" max; do
  n=$load; [ "$mode" = idle ] && n=$idle
  run "$mode" "$n" > "$results/$mode.txt"
  read -r _ _ count rps a50 a99 e50 e99 emax < "$results/$mode.txt"
  label="idle (one at a time)"; [ "$mode" = max ] && label="max (50 connections)"; [ "$mode" = "$fixed_rate" ] && label="$fixed_rate req/s"
  rows+=("| $label | $count | $rps | $a50 | $a99 | $e50 | $e99 | $emax |")
  echo "${rows[-1]}" >&2
done

echo
echo "| POST → delivered at smtp-sink, 4 KB | messages | sent req/s | API p50 ms | API p99 ms | end-to-end p50 ms | end-to-end p99 ms | max ms |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
