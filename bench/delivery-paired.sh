#!/usr/bin/env bash
# The queue drain of several builds measured side by side, so that every build sees the same moments of a shared
# machine's load (bench/delivery.sh measures one build, and its runs spread ±30 % between sittings).
# Per build: its own gateway fills a queue of N 4 KB messages through the API (worker off), is stopped, and its data
# folder is kept as that build's snapshot. Then ROUNDS rounds, the builds' order rotated every round: a fresh copy of
# the build's snapshot, the gateway started on it with the worker on (CONCURRENCY deliveries at a time to Postfix's
# smtp-sink), timed from its port opening until every message is Delivered. Per drain: msg/s, the CPU time (user +
# system) per message, write syscalls and bytes written per message (/proc/PID/io), peak RSS. Leave out the first
# round (JIT tiering, page cache) and compare builds round by round.
# Each BUILD is LABEL:REPO_DIR[:CONCURRENCY], a checkout with src/MailGateway.Standalone built in Release (a
# `git worktree` of the commit to compare); CONCURRENCY, when given, replaces the common one for that build (the same
# checkout under two labels compares two concurrencies).
# The relay connection pool keeps as many idle connections as the build's concurrency (Relay:MaxIdleConnections).
# With WARM=1, each gateway then drains N more in the same process (accepted with a sendAt, due together): the warm
# drain, its JIT tiered up; the write and byte columns are then the warm drain's.
# Usage: [WARM=1] bench/delivery-paired.sh ROUNDS N CONCURRENCY LABEL:REPO_DIR[:CONCURRENCY]...
source "$(dirname "$0")/lib.sh"
rounds=$1; n=$2; concurrency=$3; shift 3
ensure_debian postfix hey sqlite3
work=$(mktemp -d /tmp/mailgateway-bench-dpaired.XXXXXX); cleanup_add "rm -rf $work"
python3 -c 'import json; print(json.dumps({"from": "app@example.com", "to": ["rcpt@example.net"], "subject": "bench", "text": "x" * 4000}))' > "$work/body.json"
start_sink; sink=$sink_port
args=(-m POST -H "Authorization: Bearer $api_key" -T application/json -D "$work/body.json")
io() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/io"; }
labels=(); repos=(); concurrencies=()
for spec in "$@"; do
  IFS=: read -r label repo_dir build_concurrency <<<"$spec"   # start_gateway runs $repo_dir's build
  mkdir -p "$work/$label.snapshot"; port=$(free_port)
  start_gateway "$work/$label.snapshot" "$port" "$sink" --MailGateway:DeliveryWorker:Enabled=false
  hey -n "$n" -c 50 "${args[@]}" "http://127.0.0.1:$port/api/v1/messages" > "$work/$label.fill.txt"
  queued=$(gateway_count "$work/$label.snapshot" Queued)
  [ "$queued" -eq "$n" ] || { cat "$work/$label.fill.txt" >&2; echo "$label: only $queued of $n queued" >&2; exit 1; }
  stop_gateway || { echo "$label: gateway did not stop" >&2; exit 1; }
  rm -f "$work/$label.snapshot/gateway.log"
  labels+=("$label"); repos+=("$repo_dir"); concurrencies+=("${build_concurrency:-$concurrency}")
done
k=${#labels[@]}
echo "| round | build | drain msg/s | CPU µs per message |${WARM:+ warm drain msg/s | warm CPU µs per message |} write syscalls per message | bytes written per message | peak RSS MB | load (1 min) |"
echo "|---|---|---|---|${WARM:+---|---|}---|---|---|---|"
for r in $(seq 1 "$rounds"); do
  for j in $(seq 0 $((k - 1))); do
    i=$(( (j + r) % k )); label=${labels[$i]}; repo_dir=${repos[$i]}
    run="$work/$label.run"; rm -rf "$run"; cp -a "$work/$label.snapshot" "$run"
    port=$(free_port)
    start_gateway "$run" "$port" "$sink" --MailGateway:DeliveryWorker:Concurrency="${concurrencies[$i]}" --MailGateway:Relay:MaxIdleConnections="${concurrencies[$i]}"
    t0=$(now); c0=$(cpu_ticks "$gw_pid"); w0=$(io "$gw_pid" syscw); b0=$(io "$gw_pid" wchar)
    wait_delivered "$run" "$n" "$label"
    t1=$(now); c1=$(cpu_ticks "$gw_pid"); w1=$(io "$gw_pid" syscw); b1=$(io "$gw_pid" wchar)
    cold="$(rate "$n" "$t0" "$t1") | $(cpu_us_per "$c0" "$c1" "$n")"
    if [ -n "${WARM:-}" ]; then
      # The same process again: N more, due together once the whole fill is in (see bench/delivery.sh).
      due=$(python3 -c "import math, time; print(math.ceil(time.time() + max(3, $n / 250)))")
      python3 -c "import json, datetime; print(json.dumps({'from': 'app@example.com', 'to': ['rcpt@example.net'], 'subject': 'bench', 'text': 'x' * 4000, 'sendAt': datetime.datetime.fromtimestamp($due, datetime.UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}))" > "$work/later.json"
      hey -n "$n" -c 50 -m POST -H "Authorization: Bearer $api_key" -T application/json -D "$work/later.json" "http://127.0.0.1:$port/api/v1/messages" > "$work/later.txt"
      python3 -c "import sys, time; sys.exit(0 if time.time() < $due else 1)" || { echo "$label: the warm fill ran past its sendAt" >&2; exit 1; }
      until python3 -c "import sys, time; sys.exit(0 if time.time() >= $due else 1)"; do sleep 0.02; done
      t0=$(now); c0=$(cpu_ticks "$gw_pid"); w0=$(io "$gw_pid" syscw); b0=$(io "$gw_pid" wchar)
      wait_delivered "$run" $((2 * n)) "$label"
      t1=$(now); c1=$(cpu_ticks "$gw_pid"); w1=$(io "$gw_pid" syscw); b1=$(io "$gw_pid" wchar)
    fi
    rss=$(awk '/VmHWM/ {print $2}' "/proc/$gw_pid/status")
    stop_gateway || true
    echo "| $r | $label | $cold |${WARM:+ $(rate "$n" "$t0" "$t1") | $(cpu_us_per "$c0" "$c1" "$n") |} $(python3 -c "print(round(($w1 - $w0) / $n, 1))") | $(python3 -c "print(round(($b1 - $b0) / $n))") | $((rss / 1024)) | $(cut -d' ' -f1 /proc/loadavg) |"
  done
done
