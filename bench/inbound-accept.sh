#!/usr/bin/env bash
# Inbound accept: Postfix's smtp-source against our listener (MailGateway.Inbound, filesystem store with fsync, NoDelay)
# vs Postfix's smtp-sink (the null limit: answers 250 and keeps nothing) vs a private Postfix accepting into its
# durable queue (discard transport, so it does not relay). 4 KB and 100 KB, 20 and 200 sessions, a new connection
# per message and connections reused (smtp-source -d); our process's CPU per message (user + system); peak RSS (VmHWM).
# Usage: bench/inbound-accept.sh [messages_4kb=4000] [messages_100kb=1000]
# SIZES="4 100", SESSIONS="20 200" and CONNECTIONS="new reused" pick the rows (default: all eight); e.g.
# SIZES=4 SESSIONS=20 CONNECTIONS=new runs only the row of issue 17's goal.
# COMMIT=SyncFiles runs the store with an fsync per file (default SyncFileSystem: the syncfs group commit).
# GROUP_COMMIT=1 runs the listener library with the prototype group-commit store of bench/MailGateway.Bench instead of
# MailGateway.Inbound's filesystem store (a what-if for a src/ fix, not the product).
source "$(dirname "$0")/lib.sh"
msgs_small=${1:-4000}; msgs_large=${2:-1000}
ensure_debian postfix
dotnet build -c Release "$repo_dir/src/MailGateway.Inbound" -v q -nologo >/dev/null
work=$(mktemp -d /tmp/mailgateway-bench-inbound.XXXXXX); cleanup_add "rm -rf $work"
store="$work/store"   # same filesystem as the Postfix queue (both under /tmp)

start_sink; sink=$sink_port

# The reference MTA: accepts for any recipient from loopback, queues durably (cleanup fsyncs the queue file before
# 250), then hands the message to the discard transport.
pf_smtpd=$(free_port)
start_postfix "$pf_smtpd" "$sink" "default_transport = discard" "relay_transport = discard"

# Ours: the Container Apps host of the listener with the filesystem store instead of Blob.
ours_port=$(free_port)
host=("$repo_dir/src/MailGateway.Inbound/bin/Release/net10.0/MailGateway.Inbound.dll"); ours_name="MailGateway"
if [ "${GROUP_COMMIT:-}" = 1 ]; then
  build_bench
  host=("$repo_dir/bench/MailGateway.Bench/bin/Release/net10.0/MailGateway.Bench.dll" inbound-group-commit); ours_name="prototype group commit"
  export DOTNET_gcServer=0   # the same GC as MailGateway.Inbound
fi
(cd "$work" && exec dotnet "${host[@]}" \
  --MailGateway:Inbound:Store=FileSystem --MailGateway:Inbound:FileSystem:Path="$store" \
  --MailGateway:Inbound:FileSystem:Commit="${COMMIT:-SyncFileSystem}" \
  --MailGateway:Inbound:Domains:0=example.test \
  --MailGateway:Inbound:Endpoints:0:Address=127.0.0.1 --MailGateway:Inbound:Endpoints:0:Port="$ours_port" \
  --MailGateway:Inbound:MaxConnections=1000 --MailGateway:Inbound:MaxConnectionsPerClient=1000 \
  --Logging:LogLevel:Default=Warning >"$work/inbound.log" 2>&1) &
ours_pid=$!; cleanup_add "kill $ours_pid"
wait_port "$ours_port"

send() { # send PORT SIZE_KB MESSAGES SESSIONS [-d] -> msg/s
  local t0 t1
  t0=$(now)
  timeout 600 smtp-source ${5:-} -l $(($2 * 1024)) -m "$3" -s "$4" -f a@example.test -t b@example.test "127.0.0.1:$1" >/dev/null
  t1=$(now)
  rate "$3" "$t0" "$t1"
}

cpu_ticks() { awk '{print $14, $15}' "/proc/$ours_pid/stat"; }   # user and system time, in clock ticks
stored() { find "$store/inbound" -name '*.eml' 2>/dev/null | wc -l; }

# Warm-up (JIT, thread pool, Postfix processes).
for p in "$sink" "$pf_smtpd" "$ours_port"; do smtp-source -d -l 4096 -m 400 -s 20 -f a@example.test -t b@example.test "127.0.0.1:$p" >/dev/null; done
rm -rf "${store:?}/inbound"/*

rows=()
for size in ${SIZES:-4 100}; do
  msgs=$msgs_small; [ "$size" = 100 ] && msgs=$msgs_large
  for sessions in ${SESSIONS:-20 200}; do
    for connections in ${CONNECTIONS:-new reused}; do
      reuse=""; [ "$connections" = reused ] && reuse=-d
      r_sink=$(send "$sink" "$size" "$msgs" "$sessions" $reuse)
      r_pf=$(send "$pf_smtpd" "$size" "$msgs" "$sessions" $reuse)
      wait_postfix_queue_empty 120 || echo "postfix queue did not drain" >&2
      log_lines=$(wc -l <"$work/inbound.log")
      read -r u0 s0 < <(cpu_ticks)
      r_ours=$(send "$ours_port" "$size" "$msgs" "$sessions" $reuse)
      read -r u1 s1 < <(cpu_ticks)
      tick_us=$((1000000 / $(getconf CLK_TCK)))
      cpu_us="$(( (u1 - u0 + s1 - s0) * tick_us / msgs )) ($(( (u1 - u0) * tick_us / msgs )) / $(( (s1 - s0) * tick_us / msgs )))"
      n=$(stored)
      if [ "$n" -lt "$msgs" ]; then
        echo "warning: $n of $msgs messages stored by MailGateway; the listener's warnings:" >&2
        tail -n +"$((log_lines + 1))" "$work/inbound.log" | grep -E "warn|fail|error" -i -A2 | tail -40 >&2 || echo "(none logged)" >&2
      fi
      rm -rf "${store:?}/inbound"/*
      conn="new per message"; [ -n "$reuse" ] && conn="reused (-d)"
      rows+=("| $size KB | $sessions | $conn | $msgs | $r_sink | $r_pf | $r_ours | $(ratio "$r_ours" "$r_sink") | $(ratio "$r_ours" "$r_pf") | $cpu_us |")
      echo "${rows[-1]}" >&2
    done
  done
done
rss=$(awk '/VmHWM/ {print $2}' "/proc/$ours_pid/status")

echo
echo "| size | sessions | connections | messages | smtp-sink msg/s | Postfix queue msg/s | $ours_name msg/s | ours / sink (≥ 0.5) | ours / Postfix (≥ 4) | our CPU µs/msg (user / system) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "$ours_name peak RSS (VmHWM): $((rss / 1024)) MB"
