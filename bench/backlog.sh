#!/usr/bin/env bash
# Growth (issue #17 item 4): does the standalone SQLite queue stay as fast with a big backlog as with a small one?
# For each of two backlogs, SMALL (default 5,000) and BIG (default 1,000,000) queued 4 KB messages:
#   1. a fresh gateway with the worker off is filled through POST /api/v1/messages/batch (500 per request, 4 client
#      connections); the fill rate is printed;
#   2. the status lookup GET /api/v1/messages/{id} is timed LOOKUPS times, one request after the other on one
#      keep-alive connection, each for a random one of the filled messages (p50/p99, after 200 warm-up requests);
#   3. the gateway is stopped and the data folder's bytes per message are counted (du: gateway.db, its WAL, files);
#   4. the gateway is started with the worker on (the time from its launch to its port opening is printed) (CONCURRENCY deliveries at a time, smtp-sink as the relay, TLS off)
#      and timed from its port opening until every message is Delivered; the rate of each tenth of the drain is kept,
#      and the peak RSS (VmHWM) of the draining process;
#   5. the bytes per message once everything is delivered (records, events, the delivered content removed); bytes are
#      counted as in use (database pages minus free pages, plus other files) and as file sizes (du).
# Printed: both rows and the ratios the issue asks for: BIG drain rate / SMALL drain rate (goal >= 0.8) and BIG lookup
# p99 / SMALL lookup p99 (goal <= 2; SMALL stands for an empty store: 5,000 records fit in SQLite's cache).
# Disk: about 7 KB per queued message (BIG=1,000,000: ~7 GB under /tmp). Time: fill + drain at the machine's rates
# (1,000,000 at ~2,000 msg/s: ~10 minutes of drain).
# Usage: bash bench/backlog.sh [big=1000000] [small=5000] [concurrency=20] [lookups=2000]
source "$(dirname "$0")/lib.sh"
gateway_start_timeout=1800 # a start on a big backlog is part of what is measured
big=${1:-1000000}; small=${2:-5000}; concurrency=${3:-20}; lookups=${4:-2000}
ensure_debian postfix sqlite3
build_gateway
start_sink; sink=$sink_port

client=$(mktemp /tmp/mailgateway-bench-backlog-client.XXXXXX.py); cleanup_add "rm -f $client"
cat > "$client" <<'PY'
import http.client, json, random, sys, threading, time

def fill(port, n, key, ids_path):
    msg = {"from": "app@example.com", "to": ["rcpt@example.net"], "subject": "bench", "text": "x" * 4000}
    batches = [500] * (n // 500) + ([n % 500] if n % 500 else [])
    lock, sample, errors = threading.Lock(), [], []
    seen = [0]
    def work():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                if not batches:
                    return
                size = batches.pop()
            body = json.dumps({"messages": [{"message": msg}] * size})
            conn.request("POST", "/api/v1/messages/batch", body, {"Authorization": "Bearer " + key, "Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
            if resp.status != 200:
                errors.append(f"{resp.status} {data[:300]!r}")
                return
            answer = json.loads(data)
            if answer["accepted"] != size:
                errors.append(f"accepted {answer['accepted']} of {size}: {data[:300]!r}")
                return
            with lock:
                for item in answer["results"]:
                    seen[0] += 1
                    # reservoir sample of 20,000 ids for the lookups
                    if len(sample) < 20000:
                        sample.append(item["id"])
                    elif (j := random.randrange(seen[0])) < 20000:
                        sample[j] = item["id"]
    t0 = time.perf_counter()
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads: t.start()
    for t in threads: t.join()
    t1 = time.perf_counter()
    if errors:
        sys.exit("fill failed: " + errors[0])
    with open(ids_path, "w") as f:
        f.write("\n".join(sample))
    print(f"{n / (t1 - t0):.0f}")

def lookup(port, key, ids_path, count):
    ids = open(ids_path).read().split()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": "Bearer " + key}
    times = []
    for i in range(200 + count):
        mid = random.choice(ids)
        t0 = time.perf_counter()
        conn.request("GET", "/api/v1/messages/" + mid, headers=headers)
        resp = conn.getresponse()
        resp.read()
        t1 = time.perf_counter()
        if resp.status != 200:
            sys.exit(f"lookup of {mid}: {resp.status}")
        if i >= 200:
            times.append((t1 - t0) * 1000)
    times.sort()
    print(f"{times[len(times) // 2]:.2f} {times[int(len(times) * 0.99)]:.2f}")

if sys.argv[1] == "fill":
    fill(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5])
else:
    lookup(int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]))
PY

# Bytes the data folder holds for messages: the database's pages in use (free pages left by deleted content are not
# counted: SQLite reuses them, the file does not shrink without VACUUM) plus every other file (WAL, content files).
live_bytes() { # live_bytes WORKDIR
  local db="$1/data/gateway.db" pages free size rest
  read -r size pages free < <(sqlite3 "$db" "SELECT (SELECT page_size FROM pragma_page_size()), (SELECT page_count FROM pragma_page_count()), (SELECT freelist_count FROM pragma_freelist_count());" | tr '|' ' ')
  rest=$(( $(du -sb "$1/data" | cut -f1) - $(stat -c %s "$db") ))
  echo $(( (pages - free) * size + rest ))
}

run_backlog() { # run_backlog N -> sets row_<field>
  local n=$1 work port t0 t1 last_t last_n step next deadline poll delivered
  work=$(mktemp -d /tmp/mailgateway-bench-backlog.XXXXXX); cleanup_add "rm -rf $work"
  port=$(free_port)
  start_gateway "$work" "$port" "$sink" --MailGateway:DeliveryWorker:Enabled=false
  row_fill=$(python3 "$client" fill "$port" "$n" "$api_key" "$work/ids.txt")
  read -r row_lookup_p50 row_lookup_p99 < <(python3 "$client" lookup "$port" "$api_key" "$work/ids.txt" "$lookups")
  echo "   filled $n at $row_fill msg/s, lookup p50/p99 $row_lookup_p50/$row_lookup_p99 ms ($(date -u +%T))"
  stop_gateway || { echo "gateway did not stop" >&2; exit 1; }
  [ "$(gateway_count "$work" Queued)" -eq "$n" ] || { echo "only $(gateway_count "$work" Queued) of $n queued" >&2; exit 1; }
  row_bytes_queued=$(( $(live_bytes "$work") / n )); row_file_queued=$(( $(du -sb "$work/data" | cut -f1) / n ))

  port=$(free_port)
  t0=$(now)
  start_gateway "$work" "$port" "$sink" --MailGateway:DeliveryWorker:Concurrency="$concurrency"
  row_start=$(python3 -c "print(f'{$(now) - $t0:.1f}')")
  echo "   started with the worker on in $row_start s ($(date -u +%T))"
  t0=$(now); last_t=$t0; last_n=0; step=$(( (n + 9) / 10 )); next=$step; row_tenths=""
  poll=0.05; [ "$n" -le 20000 ] || poll=1
  deadline=$((SECONDS + 7200))
  while :; do
    delivered=$(gateway_count "$work" Delivered)
    if [ "$delivered" -ge "$next" ] || [ "$delivered" -ge "$n" ]; then
      t1=$(now)
      row_tenths+="$(rate $((delivered - last_n)) "$last_t" "$t1") "
      last_t=$t1; last_n=$delivered; next=$((delivered + step))
    fi
    [ "$delivered" -lt "$n" ] || break
    [ $SECONDS -lt $deadline ] || { echo "not all delivered after 7200 s" >&2; exit 1; }
    sleep "$poll"
  done
  t1=$(now)
  row_drain=$(rate "$n" "$t0" "$t1")
  row_rss=$(( $(awk '/VmHWM/ {print $2}' "/proc/$gw_pid/status") / 1024 ))
  stop_gateway || true
  row_bytes_delivered=$(( $(live_bytes "$work") / n )); row_file_delivered=$(( $(du -sb "$work/data" | cut -f1) / n ))
  row_median=$(python3 -c "import statistics,sys; print(f'{statistics.median(float(x) for x in sys.argv[1:]):.0f}')" $row_tenths)
  rm -rf "$work"
}

echo "== backlog of $small: $(date -u +%T), load $(cut -d' ' -f1-3 /proc/loadavg)"
run_backlog "$small"
s_fill=$row_fill s_p50=$row_lookup_p50 s_p99=$row_lookup_p99 s_bq=$row_bytes_queued s_drain=$row_drain s_rss=$row_rss s_bd=$row_bytes_delivered s_tenths=$row_tenths s_fq=$row_file_queued s_fd=$row_file_delivered s_median=$row_median s_start=$row_start
echo "== backlog of $big: $(date -u +%T), load $(cut -d' ' -f1-3 /proc/loadavg)"
run_backlog "$big"
echo "== done: $(date -u +%T), load $(cut -d' ' -f1-3 /proc/loadavg)"

echo
echo "| queued 4 KB messages | fill msg/s (batch API, worker off) | lookup p50 / p99 ms | bytes per message queued / delivered (in use; files) | drain msg/s ($concurrency at a time) | drain msg/s per tenth (median) | peak RSS MB (drain) | start with the backlog s |"
echo "|---|---|---|---|---|---|---|---|"
echo "| $small | $s_fill | $s_p50 / $s_p99 | $s_bq / $s_bd; $s_fq / $s_fd | $s_drain | $s_tenths($s_median) | $s_rss | $s_start |"
echo "| $big | $row_fill | $row_lookup_p50 / $row_lookup_p99 | $row_bytes_queued / $row_bytes_delivered; $row_file_queued / $row_file_delivered | $row_drain | $row_tenths($row_median) | $row_rss | $row_start |"
echo
echo "| ratio | value | goal |"
echo "|---|---|---|"
echo "| drain rate, $big / $small | $(ratio "$row_drain" "$s_drain") | ≥ 0.8 |"
echo "| median tenth's drain rate, $big / $small (without the start-up of a short run) | $(ratio "$row_median" "$s_median") | — |"
echo "| lookup p99, $big / $small | $(ratio "$row_lookup_p99" "$s_p99") | ≤ 2 |"
