#!/usr/bin/env bash
# The API accept of several builds measured side by side: one standalone gateway per build (worker off, each its own
# data folder), all started at once, then ROUNDS rounds of `hey -n N -c 50` against each in turn, the order rotated
# every round, so every build sees the same moments of a shared machine's load. Per burst: req/s, the CPU time (user +
# system) the gateway used per request, and its write syscalls and bytes written per request (/proc/PID/io); at the
# end each gateway's peak RSS. Leave out the first rounds (JIT tiering) and compare builds round by round.
# Each BUILD is LABEL:REPO_DIR, a checkout with src/MailGateway.Standalone built in Release (a `git worktree` of the
# commit to compare), optionally followed by :VAR=value,VAR=value… — environment variables for that gateway only (a
# runtime setting such as DOTNET_GCConserveMemory=5 compared against the same build without it).
# Usage: bench/accept-paired.sh ROUNDS N LABEL:REPO_DIR[:VAR=value,...] LABEL:REPO_DIR...
source "$(dirname "$0")/lib.sh"
rounds=$1; n=$2; shift 2
ensure_debian postfix hey
work=$(mktemp -d /tmp/mailgateway-bench-paired.XXXXXX); cleanup_add "rm -rf $work"
python3 -c 'import json; print(json.dumps({"from": "app@example.com", "to": ["rcpt@example.net"], "subject": "bench", "text": "x" * 4000}))' > "$work/body.json"
start_sink; sink=$sink_port
labels=(); ports=(); pids=()
for spec in "$@"; do
  label=${spec%%:*}; repo_dir=${spec#*:}   # start_gateway runs $repo_dir's build
  gateway_env=()
  if [[ $repo_dir == *:* ]]; then IFS=, read -r -a gateway_env <<< "${repo_dir#*:}"; repo_dir=${repo_dir%%:*}; fi
  mkdir -p "$work/$label"; port=$(free_port)
  start_gateway "$work/$label" "$port" "$sink" --MailGateway:DeliveryWorker:Enabled=false
  labels+=("$label"); ports+=("$port"); pids+=("$gw_pid")
done
args=(-m POST -H "Authorization: Bearer $api_key" -T application/json -D "$work/body.json")
io() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/io"; }
for i in "${!labels[@]}"; do hey -n 2000 -c 50 "${args[@]}" "http://127.0.0.1:${ports[$i]}/api/v1/messages" >/dev/null; done
k=${#labels[@]}
echo "| round | build | req/s | CPU µs per request | write syscalls per request | bytes written per request | load (1 min) |"
echo "|---|---|---|---|---|---|---|"
for r in $(seq 1 "$rounds"); do
  for j in $(seq 0 $((k - 1))); do
    i=$(( (j + r) % k )); pid=${pids[$i]}
    kill -0 "$pid" 2>/dev/null || { echo "${labels[$i]} exited; its log:" >&2; tail -40 "$work/${labels[$i]}/gateway.log" >&2; exit 1; }
    c0=$(cpu_ticks "$pid"); w0=$(io "$pid" syscw); b0=$(io "$pid" wchar)
    rps=$(hey -n "$n" -c 50 "${args[@]}" "http://127.0.0.1:${ports[$i]}/api/v1/messages" | sed -n 's/.*Requests\/sec:[[:space:]]*\([0-9.]*\).*/\1/p')
    c1=$(cpu_ticks "$pid"); w1=$(io "$pid" syscw); b1=$(io "$pid" wchar)
    echo "| $r | ${labels[$i]} | $(printf '%.0f' "$rps") | $(cpu_us_per "$c0" "$c1" "$n") | $(python3 -c "print(round(($w1 - $w0) / $n, 1))") | $(python3 -c "print(round(($b1 - $b0) / $n))") | $(cut -d' ' -f1 /proc/loadavg) |"
  done
done
for i in "${!labels[@]}"; do echo "${labels[$i]}: peak RSS $(( $(awk '/VmHWM/ {print $2}' "/proc/${pids[$i]}/status") / 1024 )) MB"; done
