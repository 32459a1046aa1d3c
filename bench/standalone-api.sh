#!/usr/bin/env bash
# POST /api/v1/messages of the standalone gateway (4 KB message, worker delivering to smtp-sink at the same time)
# against a bare Kestrel endpoint that parses the same JSON and answers 202, both measured with hey in this run:
# the most accepted requests/s (50 connections), p99 at a fixed 1,000 requests/s, and peak RSS. The one key's rate
# limit is raised above what the run sends: the limiter still runs on every request (its cost is measured), but never
# refuses one (the default, 100 requests/s per key, would answer most of them 429). Also the CPU time (user + system)
# each process used per request during the max-rate run: steadier than req/s on a shared machine.
# Usage: bench/standalone-api.sh [requests=20000]
source "$(dirname "$0")/lib.sh"
requests=${1:-20000}
ensure_debian postfix hey
dotnet build -c Release "$repo_dir/src/MailGateway.Standalone" -v q -nologo >/dev/null
dotnet build -c Release "$repo_dir/bench/MailGateway.Bench.BareApi" -v q -nologo >/dev/null
start_sink; sink=$sink_port
work=$(mktemp -d /tmp/mailgateway-bench-api.XXXXXX); cleanup_add "rm -rf $work"
python3 -c 'import json; print(json.dumps({"from": "app@example.com", "to": ["rcpt@example.net"], "subject": "bench", "text": "x" * 4000}))' > "$work/body.json"
key=bench-key-0123456789
hash=$(printf '%s' "$key" | sha256sum | cut -d' ' -f1)

measure() { # measure NAME PORT PID -> prints "name max_rps p99_ms_at_1000 rss_mb cpu_us_per_request"
  local url="http://127.0.0.1:$2/api/v1/messages" args=(-m POST -H "Authorization: Bearer $key" -T application/json -D "$work/body.json")
  hey -n 2000 -c 50 "${args[@]}" "$url" >/dev/null                                    # warm-up (JIT, pools)
  local max p99 c0 c1
  c0=$(cpu_ticks "$3")
  max=$(hey -n "$requests" -c 50 "${args[@]}" "$url" | tee "$work/$1-max.txt" | sed -n 's/.*Requests\/sec:[[:space:]]*\([0-9.]*\).*/\1/p')
  c1=$(cpu_ticks "$3")
  p99=$(hey -n $((requests / 2)) -c 20 -q 50 "${args[@]}" "$url" | tee "$work/$1-1000.txt" | sed -n 's/.*99% in \([0-9.]*\) secs.*/\1/p')
  grep -q "\[202\]" "$work/$1-max.txt" || { cat "$work/$1-max.txt" >&2; echo "$1: no 202 answers" >&2; exit 1; }
  local rss; rss=$(awk '/VmHWM/ {print $2}' "/proc/$3/status")
  echo "$1 $(printf '%.0f' "$max") $(python3 -c "print(f'{$p99*1000:.1f}')") $((rss / 1024)) $(cpu_us_per "$c0" "$c1" "$requests")"
}

port=$(free_port)
dotnet "$repo_dir/bench/MailGateway.Bench.BareApi/bin/Release/net10.0/MailGateway.Bench.BareApi.dll" --urls "http://127.0.0.1:$port" --Logging:LogLevel:Default=Warning >/dev/null 2>&1 &
bare_pid=$!; cleanup_add "kill $bare_pid"
wait_port "$port"
read -r _ bare_max bare_p99 bare_rss bare_cpu < <(measure bare "$port" "$bare_pid")
kill "$bare_pid"

port=$(free_port)
(cd "$work" && exec dotnet "$repo_dir/src/MailGateway.Standalone/bin/Release/net10.0/MailGateway.Standalone.dll" --urls "http://127.0.0.1:$port" \
  --MailGateway:Relay:Host=127.0.0.1 --MailGateway:Relay:Endpoints:0:Port="$sink" --MailGateway:Relay:TlsPolicy=None \
  --MailGateway:Api:Keys:0:Id=bench --MailGateway:Api:Keys:0:Sha256="$hash" --MailGateway:Api:Keys:0:AllowedSenderDomains:0=example.com \
  --MailGateway:RateLimits:PerKeyBurst=1000000000 --MailGateway:RateLimits:PerKeyRate=1000000000 \
  $(submission_args) --Logging:LogLevel:Default=Warning >"$work/gateway.log" 2>&1) &
gw_pid=$!; cleanup_add "kill $gw_pid"
wait_port "$port"
read -r _ gw_max gw_p99 gw_rss gw_cpu < <(measure gateway "$port" "$gw_pid")

echo
echo "load: $(uptime | sed 's/.*load average: //')"
echo "| POST /api/v1/messages, 4 KB, $requests requests | accepted req/s (50 conns) | p99 ms at 1,000 req/s | peak RSS MB | CPU µs per request |"
echo "|---|---|---|---|---|"
echo "| bare Kestrel (parse JSON, 202) | $bare_max | $bare_p99 | $bare_rss | $bare_cpu |"
echo "| MailGateway standalone (durable) | $gw_max | $gw_p99 | $gw_rss | $gw_cpu |"
echo "| ratio gateway / bare | $(ratio "$gw_max" "$bare_max") | $(ratio "$gw_p99" "$bare_p99") | $(ratio "$gw_rss" "$bare_rss") | $(ratio "$gw_cpu" "$bare_cpu") |"
