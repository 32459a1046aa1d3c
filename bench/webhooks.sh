#!/usr/bin/env bash
# Webhook dispatch of the standalone gateway to a local receiver (MailGateway.Bench.BareApi's /hook: verifies the
# Standard Webhooks HMAC, parses the JSON, answers 204), with the receiver's own ceiling measured in the same run.
#   1. The receiver's ceiling with hey: the same signed request over one connection, one at a time (what one endpoint
#      of the dispatcher does: its events go one by one, in order) and over 50 connections.
#   2. The gateway: a webhook created through the API disabled, MESSAGES messages accepted in batches of 500 and
#      delivered to smtp-sink (3 events each: accepted, the recipient's delivered, the message's delivered), then the
#      webhook enabled: events/s from the PATCH until the receiver has every event id (the backlog drained).
# Usage: bench/webhooks.sh [messages=10000]
source "$(dirname "$0")/lib.sh"
messages=${1:-10000}
ensure_debian postfix hey sqlite3
build_gateway || { echo "the gateway does not build" >&2; exit 1; }
dotnet build -c Release "$repo_dir/bench/MailGateway.Bench.BareApi" -v q -nologo >/dev/null || { echo "the receiver does not build" >&2; exit 1; }
start_sink; sink=$sink_port
work=$(mktemp -d /tmp/mailgateway-bench-webhooks.XXXXXX); cleanup_add "rm -rf $work"
mkdir -p "$work/data"

rport=$(free_port)
dotnet "$repo_dir/bench/MailGateway.Bench.BareApi/bin/Release/net10.0/MailGateway.Bench.BareApi.dll" --urls "http://127.0.0.1:$rport" --Logging:LogLevel:Default=Warning >"$work/receiver.log" 2>&1 &
receiver_pid=$!; cleanup_add "kill $receiver_pid"
wait_port "$rport"
count() { curl -s "http://127.0.0.1:$rport/hook-count"; }   # "distinct_ids requests forged"

# 1. The receiver's ceiling: a signed webhook like the gateway's (same size), with a secret of its own.
secret="whsec_$(python3 -c 'import os,base64; print(base64.b64encode(os.urandom(32)).decode())')"
curl -s -X PUT --data "$secret" "http://127.0.0.1:$rport/hook-secret" >/dev/null
python3 - "$secret" "$work" <<'PY'
import base64, hmac, hashlib, json, sys, time
secret, work = sys.argv[1], sys.argv[2]
body = json.dumps({"type": "delivered", "timestamp": "2026-12-02T01:02:03.456+00:00", "data": {"id": "evt_0000000000000001", "type": "delivered", "time": "2026-12-02T01:02:03.456+00:00", "messageId": "0123456789abcdef0123456789abcdef", "recipient": "rcpt@example.net", "attempt": 1, "port": 25, "reply": "250 2.0.0 Ok: queued as 12345", "tags": [], "metadata": {}}}, separators=(",", ":"))
ts = str(int(time.time()))
sig = base64.b64encode(hmac.new(base64.b64decode(secret[6:]), f"evt_0000000000000001.{ts}.{body}".encode(), hashlib.sha256).digest()).decode()
open(f"{work}/hook.json", "w").write(body)
open(f"{work}/hook.headers", "w").write(f"webhook-id: evt_0000000000000001\nwebhook-timestamp: {ts}\nwebhook-signature: v1,{sig}\n")
PY
hey_args=(-m POST -T application/json -D "$work/hook.json")
while read -r h; do hey_args+=(-H "$h"); done < "$work/hook.headers"
hey -n 2000 -c 10 "${hey_args[@]}" "http://127.0.0.1:$rport/hook" >/dev/null   # warm-up
seq_rps=$(hey -n 10000 -c 1 "${hey_args[@]}" "http://127.0.0.1:$rport/hook" | tee "$work/hey-1.txt" | sed -n 's/.*Requests\/sec:[[:space:]]*\([0-9.]*\).*/\1/p')
par_rps=$(hey -n 20000 -c 50 "${hey_args[@]}" "http://127.0.0.1:$rport/hook" | tee "$work/hey-50.txt" | sed -n 's/.*Requests\/sec:[[:space:]]*\([0-9.]*\).*/\1/p')
grep -q "\[204\]" "$work/hey-1.txt" || { cat "$work/hey-1.txt" >&2; echo "receiver: no 204 answers" >&2; exit 1; }

# 2. The gateway.
curl -s -X DELETE "http://127.0.0.1:$rport/hook-count" >/dev/null
port=$(free_port)
start_gateway "$work" "$port" "$sink" --MailGateway:Webhooks:AllowLoopback=true \
  --MailGateway:RateLimits:PerKeyBurst=1000000000 --MailGateway:RateLimits:PerKeyRate=1000000000
api="http://127.0.0.1:$port"
auth=(-H "Authorization: Bearer $api_key" -H "Content-Type: application/json")
created=$(curl -s "${auth[@]}" -X POST --data "{\"url\": \"http://127.0.0.1:$rport/hook\", \"enabled\": false}" "$api/api/v1/webhooks")
hook_id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$created")
python3 -c 'import json,sys; print(json.loads(sys.argv[1])["secret"])' "$created" | curl -s -X PUT --data @- "http://127.0.0.1:$rport/hook-secret" >/dev/null
python3 - "$work/batch.json" <<'PY'
import json, sys
json.dump({"messages": [{"message": {"from": "app@example.com", "to": ["rcpt@example.net"], "subject": f"webhook bench {i}", "text": "x" * 200}} for i in range(500)]}, open(sys.argv[1], "w"))
PY
for ((i = 0; i < messages; i += 500)); do
  curl -s -o /dev/null -w '%{http_code}\n' "${auth[@]}" -X POST --data @"$work/batch.json" "$api/api/v1/messages/batch" | grep -q 200 || { echo "batch refused" >&2; exit 1; }
done
sent=$(( (messages + 499) / 500 * 500 ))
deadline=$((SECONDS + 900))
until [ "$(gateway_count "$work" Delivered)" -ge "$sent" ]; do [ $SECONDS -lt $deadline ] || { echo "not delivered in time" >&2; exit 1; }; sleep 0.5; done
events=$(sqlite3 "$work/data/gateway.db" "SELECT count(*) FROM events;")

t0=$(now)
curl -s -o /dev/null "${auth[@]}" -X PATCH --data '{"enabled": true}' "$api/api/v1/webhooks/$hook_id"
deadline=$((SECONDS + 900))
until [ "$(count | cut -d' ' -f1)" -ge "$events" ]; do [ $SECONDS -lt $deadline ] || { echo "webhooks not drained: $(count)" >&2; exit 1; }; sleep 0.05; done
t1=$(now)
read -r distinct requests forged <<< "$(count)"
gw_rate=$(rate "$events" "$t0" "$t1")
rss=$(awk '/VmRSS/ {print $2}' "/proc/$(pgrep -P "$gw_pid" -f MailGateway.Standalone.dll | head -1)/status" 2>/dev/null || echo 0)

echo
echo "| webhooks to a local receiver, $events events ($sent messages) | requests/s | |"
echo "|---|---|---|"
echo "| receiver ceiling, 1 connection, one at a time (hey -c 1) | $(printf '%.0f' "$seq_rps") | the reference: one endpoint sends in order, one at a time |"
echo "| receiver ceiling, 50 connections (hey -c 50) | $(printf '%.0f' "$par_rps") | |"
echo "| MailGateway dispatch (one endpoint, backlog drained) | $gw_rate | $distinct distinct ids, $requests requests, $forged forged; $(ratio "$gw_rate" "$seq_rps") × the 1-connection ceiling |"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
