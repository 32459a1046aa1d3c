#!/usr/bin/env bash
# Delivery from the standalone SQLite queue: N queued 4 KB messages delivered to Postfix's smtp-sink on loopback (TLS off
# by explicit option, 20 connections to the relay at a time) vs a private Postfix relaying the same number to the same
# sink. The connection count is the same for all three: ours `Relay:MaxConnections` (the worker runs its default number
# of jobs, `DeliveryWorker:Concurrency`, or JOBS=n), the engine alone that many deliveries in flight, Postfix
# `smtp_destination_concurrency_limit`.
# Ours: the queue is filled through the API with the worker disabled, then the gateway is restarted with the worker on
# and timed from the moment its port opens until every message is Delivered in the status store (the cold drain: a third
# or more of its CPU is the JIT's tiering-up). Then the same process drains as many again, queued with a sendAt so that
# they become due at once (the warm drain, comparable with the engine alone, which is measured after a warm-up).
# Postfix: the same number queued with delivery held (defer_transports), then released and timed until the queue is empty.
# The delivery engine alone (bench/MailGateway.Bench `engine`: same count, size, concurrency and sink, no queue) is
# measured in the same run, so `drain / engine` says what the SQLite queue costs on this machine at this load.
# Usage: bench/delivery.sh [messages=5000] [concurrency=20]
source "$(dirname "$0")/lib.sh"
messages=${1:-5000}; concurrency=${2:-20}
ensure_debian postfix hey sqlite3
build_gateway
build_bench
work=$(mktemp -d /tmp/mailgateway-bench-delivery.XXXXXX); cleanup_add "rm -rf $work"
python3 -c 'import json; print(json.dumps({"from": "app@example.com", "to": ["rcpt@example.net"], "subject": "bench", "text": "x" * 4000}))' > "$work/body.json"
start_sink; sink=$sink_port
# Submission on a free port (its default 2587/2465 may be taken by another gateway on this machine).
submission=(--MailGateway:Submission:Endpoints:0:Address=127.0.0.1 --MailGateway:Submission:Endpoints:0:Port="$(free_port)")

# Ours: fill the queue with the worker off.
port=$(free_port)
start_gateway "$work" "$port" "$sink" --MailGateway:DeliveryWorker:Enabled=false "${submission[@]}" \
  --MailGateway:RateLimits:PerKeyBurst=1000000000 --MailGateway:RateLimits:PerKeyRate=1000000000
f0=$(cpu_ticks "$gw_pid")
hey -n "$messages" -c 50 -m POST -H "Authorization: Bearer $api_key" -T application/json -D "$work/body.json" \
  "http://127.0.0.1:$port/api/v1/messages" > "$work/fill.txt"
f1=$(cpu_ticks "$gw_pid")
fill_rps=$(sed -n 's/.*Requests\/sec:[[:space:]]*\([0-9.]*\).*/\1/p' "$work/fill.txt" | xargs printf '%.0f')
fill_cpu=$(cpu_us_per "$f0" "$f1" "$messages")
queued=$(gateway_count "$work" Queued)
[ "$queued" -eq "$messages" ] || { cat "$work/fill.txt" >&2; echo "only $queued of $messages queued" >&2; exit 1; }
stop_gateway || { echo "gateway did not stop" >&2; exit 1; }

# Restart with the worker on and time the drain.
port=$(free_port)
jobs=(); [ -n "${JOBS:-}" ] && jobs=(--MailGateway:DeliveryWorker:Concurrency="$JOBS")
start_gateway "$work" "$port" "$sink" --MailGateway:Relay:MaxConnections="$concurrency" --MailGateway:Relay:MaxIdleConnections="$concurrency" \
  "${jobs[@]}" "${submission[@]}"
t0=$(now); c0=$(cpu_ticks "$gw_pid")
wait_delivered "$work" "$messages" cold
t1=$(now); c1=$(cpu_ticks "$gw_pid")
ours=$(rate "$messages" "$t0" "$t1")
drain_cpu=$(cpu_us_per "$c0" "$c1" "$messages")

# The warm drain, in the same process (its code now jitted and tiered up, as the engine's after its warm-up): the same
# number again, accepted with a sendAt far enough ahead for the whole fill (twice the fill's time, at least 3 s), so
# they become due together; timed from that moment until every message is Delivered.
due=$(python3 -c "import math, time; print(math.ceil(time.time() + max(3, 2 * $messages / $fill_rps)))")
python3 -c "import json, datetime; print(json.dumps({'from': 'app@example.com', 'to': ['rcpt@example.net'], 'subject': 'bench', 'text': 'x' * 4000, 'sendAt': datetime.datetime.fromtimestamp($due, datetime.UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}))" > "$work/later.json"
hey -n "$messages" -c 50 -m POST -H "Authorization: Bearer $api_key" -T application/json -D "$work/later.json" \
  "http://127.0.0.1:$port/api/v1/messages" > "$work/later.txt"
python3 -c "import sys, time; sys.exit(0 if time.time() < $due else 1)" || { cat "$work/later.txt" >&2; echo "the warm fill ran past its sendAt" >&2; exit 1; }
scheduled=$(gateway_count "$work" Scheduled)
[ "$scheduled" -eq "$messages" ] || { cat "$work/later.txt" >&2; echo "only $scheduled of $messages scheduled" >&2; exit 1; }
until python3 -c "import sys, time; sys.exit(0 if time.time() >= $due else 1)"; do sleep 0.02; done
t0=$(now); c0=$(cpu_ticks "$gw_pid")
wait_delivered "$work" $((2 * messages)) warm
t1=$(now); c1=$(cpu_ticks "$gw_pid")
warm=$(rate "$messages" "$t0" "$t1")
warm_cpu=$(cpu_us_per "$c0" "$c1" "$messages")
rss=$(awk '/VmHWM/ {print $2}' "/proc/$gw_pid/status")
stop_gateway || true

# The engine alone, same messages, concurrency and sink.
# (Not `tee /dev/stderr`: with the output redirected to a file, tee reopens it and truncates what was written so far.)
engine_out=$($bench_exe engine "127.0.0.1:$sink" "$messages" "$concurrency" 4); echo "$engine_out" >&2
engine=$(sed -n 's/.*: \([0-9]*\) msg\/s.*/\1/p' <<<"$engine_out")

# Reference: Postfix with the same number queued (delivery held), then released and timed until the queue is empty.
smtpd=$(free_port)
start_postfix "$smtpd" "$sink" "defer_transports = smtp" "smtp_destination_concurrency_limit = $concurrency"
smtp-source -s 20 -m "$messages" -l 4096 -f a@example.test -t b@example.test "127.0.0.1:$smtpd"
postconf -c "$pf_dir/etc" -e "defer_transports =" && postfix -c "$pf_dir/etc" reload >/dev/null 2>&1
t0=$(now); postqueue -c "$pf_dir/etc" -f; wait_postfix_queue_empty; t1=$(now)
postfix=$(rate "$messages" "$t0" "$t1")

echo
echo "load: $(uptime | sed 's/.*load average: //')"
echo "| delivery of $messages queued 4 KB messages to smtp-sink, $concurrency connections at a time (ours: ${JOBS:-the default number of} jobs) | msg/s |"
echo "|---|---|"
echo "| MailGateway standalone, cold: the first drain after a start (SQLite queue, worker; $drain_cpu µs CPU per message) | $ours |"
echo "| MailGateway standalone, warm: the same process drains as many again ($warm_cpu µs CPU per message; peak RSS $((rss / 1024)) MB) | $warm |"
echo "| MailGateway delivery engine alone (no queue) | $engine |"
echo "| (the fill: API accept with the worker off, 50 connections: $fill_rps req/s, $fill_cpu µs CPU per request) | |"
echo "| Postfix queue drain | $postfix |"
echo "| ratio warm drain / engine alone (both warmed up; goal ≥ 0.6) | $(ratio "$warm" "$engine") |"
echo "| ratio cold drain / engine alone | $(ratio "$ours" "$engine") |"
echo "| ratio MailGateway / Postfix (goal ≥ 2, and ≥ 1,000 msg/s) | $(ratio "$ours" "$postfix") |"
