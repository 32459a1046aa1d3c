#!/usr/bin/env bash
# Delivery engine alone vs Postfix draining its queue, both to Postfix's smtp-sink on loopback, TLS off (explicit
# option), 4 KB messages. Usage: bench/delivery-engine.sh [messages=5000] [in_flight=20]
source "$(dirname "$0")/lib.sh"
messages=${1:-5000}; in_flight=${2:-20}
ensure_debian postfix
build_bench
sink=$(start_sink)

# Ours: the engine, $in_flight deliveries at a time over pooled connections.
ours=$($bench_exe engine "127.0.0.1:$sink" "$messages" "$in_flight" 4 | tee /dev/stderr | sed -n 's/.*: \([0-9]*\) msg\/s.*/\1/p')

# Reference: Postfix with the same messages queued (delivery held), then released and timed until the queue is empty.
smtpd=$(free_port)
start_postfix "$smtpd" "$sink" "defer_transports = smtp"
smtp-source -s 20 -m "$messages" -l 4096 -f a@example.test -t b@example.test "127.0.0.1:$smtpd"
postconf -c "$pf_dir/etc" -e "defer_transports =" && postfix -c "$pf_dir/etc" reload >/dev/null 2>&1
t0=$(now); postqueue -c "$pf_dir/etc" -f; wait_postfix_queue_empty; t1=$(now)
postfix=$(rate "$messages" "$t0" "$t1")

echo
echo "| delivery to smtp-sink, 4 KB, $in_flight in flight | msg/s |"
echo "|---|---|"
echo "| MailGateway engine | $ours |"
echo "| Postfix queue drain | $postfix |"
echo "| ratio engine / Postfix | $(ratio "$ours" "$postfix") |"
