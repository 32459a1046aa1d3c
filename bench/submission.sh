#!/usr/bin/env bash
# SMTP submission accept rate vs the inbound listener's own accept rate, both in one standalone gateway process in
# this run (the delivery worker off: accepting only). Inbound: Postfix's smtp-source (-d, connections reused) and the
# MailKit load client, plain SMTP, filesystem store with fsync. Submission: the MailKit load client (smtp-source has
# no AUTH), STARTTLS + AUTH PLAIN once per connection, connections reused, each message through the accept port
# (parse, checks, DKIM if configured, SQLite group commit) before its 250. 4 KB messages. The key's rate limit is
# raised above what the run sends (the limiter still runs per message). Prints the ratio (target ≥ 0.5).
# Usage: bench/submission.sh [messages=2000] [sessions=20]
source "$(dirname "$0")/lib.sh"
msgs=${1:-2000}; sessions=${2:-20}
ensure_debian postfix
build_gateway
build_bench
start_sink; sink=$sink_port
work=$(mktemp -d /tmp/mailgateway-bench-submission.XXXXXX); cleanup_add "rm -rf $work"
api=$(free_port); inbound=$(free_port); submission=$(free_port)
start_gateway "$work" "$api" "$sink" \
  --MailGateway:DeliveryWorker:Enabled=false \
  --MailGateway:Inbound:Domains:0=example.test \
  --MailGateway:Inbound:Endpoints:0:Address=127.0.0.1 --MailGateway:Inbound:Endpoints:0:Port="$inbound" \
  --MailGateway:Inbound:MaxConnections=1000 --MailGateway:Inbound:MaxConnectionsPerClient=1000 \
  --MailGateway:Submission:Endpoints:0:Address=127.0.0.1 --MailGateway:Submission:Endpoints:0:Port="$submission" \
  --MailGateway:Submission:MaxConnections=1000 --MailGateway:Submission:MaxConnectionsPerClient=1000 \
  --MailGateway:RateLimits:PerKeyBurst=100000000 --MailGateway:RateLimits:PerKeyRate=100000000
wait_port "$inbound"; wait_port "$submission"
pem="$work/data/dev-smtp-certificate.pem"

inbound_source() { # -> msg/s
  local t0 t1; t0=$(now)
  timeout 600 smtp-source -d -l 4096 -m "$1" -s "$sessions" -f a@example.test -t b@example.test "127.0.0.1:$inbound" >/dev/null
  t1=$(now); rate "$1" "$t0" "$t1"
}
load() { $bench_exe smtp-load "$@" | awk '{print $3}'; }          # load PORT MESSAGES SESSIONS SIZE_KB [KEY_ID KEY PEM]
inbound_mailkit() { load "$inbound" "$1" "$sessions" 4 - - - a@example.test b@example.test; }
submit() { load "$submission" "$1" "$sessions" 4 bench "$api_key" "$pem"; }

# Warm-up (JIT, thread pool, SQLite, TLS).
inbound_source 400 >/dev/null; inbound_mailkit 400 >/dev/null; submit 400 >/dev/null

r_source=$(inbound_source "$msgs")
r_mailkit=$(inbound_mailkit "$msgs")
r_submit=$(submit "$msgs")
queued=$(gateway_count "$work" Queued)
rss=$(awk '/VmHWM/ {print $2}' "/proc/$gw_pid/status")

echo
echo "| path | client | messages | sessions | msg/s |"
echo "|---|---|---|---|---|"
echo "| inbound (plain, file store) | smtp-source -d | $msgs | $sessions | $r_source |"
echo "| inbound (plain, file store) | MailKit, reused | $msgs | $sessions | $r_mailkit |"
echo "| submission (STARTTLS + AUTH, accept port) | MailKit, reused | $msgs | $sessions | $r_submit |"
echo
echo "submission / inbound (smtp-source): $(ratio "$r_submit" "$r_source")   (target ≥ 0.5)"
echo "submission / inbound (MailKit):     $(ratio "$r_submit" "$r_mailkit")"
echo "messages queued by submission (warm-up included): $queued; gateway peak RSS (VmHWM): $((rss / 1024)) MB"
