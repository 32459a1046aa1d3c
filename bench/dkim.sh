#!/usr/bin/env bash
# The cost of DKIM signing (RSA 2048, 4 KB messages), unsigned and signed in the same run, on the standalone host.
# Signing happens once, at accept, so it is measured where it happens and where it could show:
#   accept:   N messages POSTed through the API with the worker off (hey, 50 connections) -> accept msg/s;
#   delivery: the gateway restarted with the worker on, timed from its port opening until every message is
#             Delivered at smtp-sink (TLS off by explicit option, 20 at a time) -> delivery msg/s (signed messages
#             are ~500 bytes larger);
#   total:    N / (accept seconds + delivery seconds), the throughput of the pipeline as a whole.
#   CPU:      in one process without I/O (MailGateway.Bench dkim-sign): CPU time per message to compose, to compose and
#             sign, and to sign with MimeKit's stock signer (BouncyCastle RSA) for reference.
# The key is made by the gateway's own `create-dkim-key` command. Each variant runs `rounds` times, alternating.
# Usage: bench/dkim.sh [messages=3000] [rounds=1]
source "$(dirname "$0")/lib.sh"
messages=${1:-3000}; rounds=${2:-1}; concurrency=20
ensure_debian postfix hey sqlite3
build_gateway
build_bench
work=$(mktemp -d /tmp/mailgateway-bench-dkim.XXXXXX); cleanup_add "rm -rf $work"
python3 -c 'import json; print(json.dumps({"from": "app@example.com", "to": ["rcpt@example.net"], "subject": "bench", "text": "x" * 4000}))' > "$work/body.json"
dotnet "$repo_dir/src/MailGateway.Standalone/bin/Release/net10.0/MailGateway.Standalone.dll" create-dkim-key \
  --domain example.com --selector bench --bits 2048 --out "$work/keys/example.com.bench.pem" > "$work/keygen.txt"
dkim_settings=(--MailGateway:Dkim:Keys:0:Domain=example.com --MailGateway:Dkim:Keys:0:Selector=bench
  "--MailGateway:Dkim:Keys:0:PrivateKeyPath=$work/keys/example.com.bench.pem")
start_sink; sink=$sink_port

run_variant() { # run_variant NAME [settings...]; appends "accept delivery total" to $work/NAME.txt
  local name=$1; shift
  local dir; dir=$(mktemp -d "$work/$name.XXXX")
  local port; port=$(free_port)
  start_gateway "$dir" "$port" "$sink" --MailGateway:DeliveryWorker:Enabled=false "$@"
  local t0; t0=$(now)
  hey -n "$messages" -c 50 -m POST -H "Authorization: Bearer $api_key" -T application/json -D "$work/body.json" \
    "http://127.0.0.1:$port/api/v1/messages" > "$dir/fill.txt"
  local t1; t1=$(now)
  local queued; queued=$(gateway_count "$dir" Queued)
  [ "$queued" -eq "$messages" ] || { cat "$dir/fill.txt" >&2; echo "$name: only $queued of $messages queued" >&2; exit 1; }
  local signed; signed=$(sqlite3 "$dir/data/gateway.db" "SELECT count(*) FROM contents WHERE substr(mime, 1, 15) = CAST('DKIM-Signature:' AS BLOB);")
  stop_gateway || { echo "gateway did not stop" >&2; exit 1; }

  port=$(free_port)
  start_gateway "$dir" "$port" "$sink" --MailGateway:DeliveryWorker:Concurrency="$concurrency" "$@"
  local t2; t2=$(now)
  local deadline=$((SECONDS + 600))
  until [ "$(gateway_count "$dir" Delivered)" -ge "$messages" ]; do
    [ $SECONDS -lt $deadline ] || { echo "$name: not all delivered after 600 s" >&2; exit 1; }
    sleep 0.05
  done
  local t3; t3=$(now)
  stop_gateway || true
  echo "$(rate "$messages" "$t0" "$t1") $(rate "$messages" "$t2" "$t3") $(python3 -c "print(f'{$messages/(($t1-$t0)+($t3-$t2)):.0f}')") $signed" >> "$work/$name.txt"
  rm -rf "$dir"
}

for round in $(seq "$rounds"); do
  run_variant unsigned
  run_variant signed "${dkim_settings[@]}"
done

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
col() { awk -v c="$2" '{print $c}' "$work/$1.txt" | median; }
u_accept=$(col unsigned 1); u_delivery=$(col unsigned 2); u_total=$(col unsigned 3)
s_accept=$(col signed 1); s_delivery=$(col signed 2); s_total=$(col signed 3)
s_count=$(col signed 4); u_count=$(col unsigned 4)
[ "${s_count%.*}" -eq "$messages" ] && [ "${u_count%.*}" -eq 0 ] || { echo "signed: $s_count of $messages stored signed; unsigned: $u_count" >&2; exit 1; }
cost() { python3 -c "print(f'{(1 - $2/$1) * 100:.1f} %')"; }

echo
echo "| $messages × 4 KB, RSA 2048, median of $rounds round(s) | unsigned msg/s | signed msg/s | cost of signing |"
echo "|---|---|---|---|"
echo "| accept (POST, durable 202, worker off, 50 connections) | $u_accept | $s_accept | $(cost "$u_accept" "$s_accept") |"
echo "| delivery (queue → smtp-sink, $concurrency at a time) | $u_delivery | $s_delivery | $(cost "$u_delivery" "$s_delivery") |"
echo "| total (accept + delivery) (goal: cost ≤ 15 %) | $u_total | $s_total | $(cost "$u_total" "$s_total") |"
echo
echo "CPU per message, one thread, no I/O: $($bench_exe dkim-sign 2000)"
