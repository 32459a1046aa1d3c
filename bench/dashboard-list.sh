#!/usr/bin/env bash
# The dashboard's message list (GET /ui/messages, the whole page: session cookie, store query, Razor rendering, HTTP)
# and the API's list (GET /api/v1/messages, JSON) on a standalone gateway whose SQLite database holds N status records
# (default 1,000,000). Targets (issue #14): the dashboard <= 300 ms, the API's status=delivered&limit=50 p99 <= 20 ms.
#
# 1. starts the gateway once on an empty data folder (it creates its schema) and stops it;
# 2. fills the messages table with N records shaped exactly like the gateway's (the same JSON the status store writes;
#    90 % delivered, four keys, one tag and one recipient each, 3 ms apart), as bench/message-list-sqlite.py does for
#    the bare query; the list filters' index (message_filters) is dropped, so the next start back-fills it from the
#    records as it does on a database of the version before it (timed: start to the first answer of the API);
# 3. starts the gateway again, signs in through the form with an admin key (curl, cookie jar, antiforgery token) and
#    times each page RUNS times with curl (time_total, loopback): the first page, status filters, a deep page (the
#    "Older messages" cursor at about N/2), recipient, tag and sender searches, and the queue page for comparison;
# 4. times the API's list with hey (API_RUNS requests one after the other, p50/p99; and status=delivered at 10
#    connections): as the admin key (every key's messages) and as one key (scope read: its own messages).
#
# usage: bash bench/dashboard-list.sh [N] [RUNS] [API_RUNS]
source "$(dirname "$0")/lib.sh"
N="${1:-1000000}"
RUNS="${2:-30}"
API_RUNS="${3:-500}"
ensure_debian hey
work="$(mktemp -d)"
cleanup_add "rm -rf '$work'"
data="$work/data"
key="bench-admin-key-0123456789"
hash="$(printf '%s' "$key" | sha256sum | cut -d' ' -f1)"
app_key="bench-app-key-0123456789"
app_hash="$(printf '%s' "$app_key" | sha256sum | cut -d' ' -f1)"

dotnet build "$repo_dir/src/MailGateway.Standalone" -c Release -v q -nologo >/dev/null
dll="$repo_dir/src/MailGateway.Standalone/bin/Release/net10.0/MailGateway.Standalone.dll"
port="$(free_port)"
capture="$(free_port)"
export MailGateway__Storage__DataDirectory="$data" MailGateway__Capture__Port="$capture" \
  MailGateway__Api__Keys__0__Id=ops MailGateway__Api__Keys__0__Sha256="$hash" \
  MailGateway__Api__Keys__0__AllowedSenderDomains__0=example.com MailGateway__Api__Keys__0__Scopes__0=admin \
  MailGateway__Api__Keys__1__Id=app MailGateway__Api__Keys__1__Sha256="$app_hash" \
  MailGateway__Api__Keys__1__AllowedSenderDomains__0=example.com \
  MailGateway__RateLimits__PerKeyBurst=1000000000 MailGateway__RateLimits__PerKeyRate=1000000000 \
  Logging__LogLevel__Default=Warning

start_gateway() {
  dotnet "$dll" --urls "http://127.0.0.1:$port" $(submission_args) >"$work/gateway.log" 2>&1 &
  gateway_pid=$!
  cleanup_add "kill $gateway_pid"
  wait_port "$port" 60
}
stop_gateway() { kill "$gateway_pid"; wait "$gateway_pid" 2>/dev/null || true; }

start_gateway
stop_gateway

python3 - "$data/gateway.db" "$N" <<'EOF'
import datetime, json, random, sqlite3, sys, time
path, n = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(path)
db.execute("PRAGMA synchronous=OFF")
states = ["Delivered"] * 90 + ["Failed"] * 4 + ["Deferred"] * 3 + ["Queued"] * 2 + ["Canceled"]
owners = ["app", "billing", "news", "ops"]
now = int(time.time() * 1000)
start = now - n * 3 - 60_000
rnd = random.Random(1)
def iso(ms): return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).isoformat(timespec="milliseconds")
t0 = time.time(); batch = []
for i in range(n):
    created = start + i * 3
    mid = "%012x%020x" % (created, rnd.getrandbits(80))
    state, owner = rnd.choice(states), rnd.choice(owners)
    to = "r%d@example.net" % rnd.randrange(100000)
    reply = "250 2.0.0 Ok: queued as %d" % i
    record = {"id": mid, "owner": owner, "state": state, "createdAt": iso(created), "updatedAt": iso(created + 400),
              "sendAt": None, "expiresAt": None, "nextAttemptAt": None, "lastReply": reply,
              "attempts": [{"number": 1, "startedAt": iso(created + 100), "duration": "00:00:00.3000000", "outcome": "Delivered",
                            "port": 587, "tlsProtocol": "Tls13", "reply": reply}],
              "recipients": [{"address": to, "state": "Delivered", "reply": {"code": 250, "enhancedCode": "2.0.0", "text": "Ok", "isTransient": False, "isPermanent": False}}],
              "tags": ["t%d" % rnd.randrange(1000)], "metadata": {"order": str(i)},
              "contentReference": None, "envelope": {"mailFrom": owner + "@example.com", "recipients": [to]}}
    batch.append((mid, owner, state, created + 400, json.dumps(record, separators=(",", ":")), created))
    if len(batch) == 50_000:
        db.executemany("INSERT INTO messages (id, owner, state, updated_at, record, created_at) VALUES (?,?,?,?,?,?)", batch); db.commit(); batch.clear()
if batch:
    db.executemany("INSERT INTO messages (id, owner, state, updated_at, record, created_at) VALUES (?,?,?,?,?,?)", batch); db.commit()
# As a database of the version before the list filters' index: the next start back-fills it.
db.execute("DROP TABLE IF EXISTS message_filters")
db.execute("ANALYZE"); db.commit()
print(f"filled {n} records in {time.time() - t0:.0f} s")
EOF
# A recipient that exists, for the search.
recipient="$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT json_extract(record,'\$.envelope.recipients[0]') FROM messages ORDER BY created_at DESC LIMIT 1 OFFSET 5000\").fetchone()[0])" "$data/gateway.db")"

t0="$(now)"
start_gateway
base="http://127.0.0.1:$port"
# The first answer of the API comes once the database is open: after the back-fill of message_filters.
deadline=$((SECONDS + 1800))
until [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key" "$base/api/v1/messages?limit=1")" = 200 ]; do
  [ $SECONDS -lt $deadline ] || { cat "$work/gateway.log" >&2; echo "the gateway did not answer" >&2; exit 1; }
  sleep 0.2
done
t1="$(now)"
filters_rows="$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM message_filters').fetchone()[0])" "$data/gateway.db")"
echo "start with the back-fill of message_filters ($filters_rows rows for $N messages): $(python3 -c "print(f'{$t1-$t0:.1f}')") s to the first answer"
jar="$work/cookies"
token="$(curl -s -c "$jar" -b "$jar" "$base/ui/sign-in" | sed -n 's/.*name="__RequestVerificationToken" value="\([^"]*\)".*/\1/p' | head -1)"
status="$(curl -s -o /dev/null -w '%{http_code}' -c "$jar" -b "$jar" --data-urlencode "__RequestVerificationToken=$token" --data-urlencode "key=$key" "$base/ui/sign-in")"
[ "$status" = 303 ] || { echo "sign-in failed: $status" >&2; exit 1; }

# A deep page: follow "Older messages" from a page at about N/2 (its cursor is the keyset, no offset).
mid_ms="$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT created_at FROM messages ORDER BY created_at LIMIT 1 OFFSET ?', (int(sys.argv[2])//2,)).fetchone()[0])" "$data/gateway.db" "$N")"
until_iso="$(python3 -c "import datetime,sys; print(datetime.datetime.fromtimestamp(int(sys.argv[1])/1000, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%fZ'))" "$mid_ms")"
deep="$(curl -s -b "$jar" "$base/ui/messages?until=$until_iso" | sed -n 's/.*<a href="\([^"]*\)" rel="next">.*/\1/p' | sed 's/&amp;/\&/g' | head -1)"

measure() { # measure NAME PATH
  local name="$1" path="$2" times=() code rows
  code="$(curl -s -o "$work/page.html" -w '%{http_code}' -b "$jar" "$base$path")"
  rows="$( (grep -o '<tr><td><time' "$work/page.html" || true) | wc -l)"
  for _ in $(seq 1 "$RUNS"); do times+=("$(curl -s -o /dev/null -w '%{time_total}' -b "$jar" "$base$path")"); done
  printf '%s\n' "${times[@]}" | sort -n | awk -v name="$name" -v code="$code" -v rows="$rows" '
    { t[NR] = $1 * 1000 } END { printf "%-38s HTTP %s rows=%-3d p50=%6.1f ms  p90=%6.1f ms  max=%6.1f ms\n", name, code, rows, t[int(NR*0.5)+1], t[int(NR*0.9)], t[NR] }'
}

echo "dashboard on $N messages, $RUNS runs each (after one warm-up request):"
measure "messages (first page, admin)" "/ui/messages"
measure "status=delivered" "/ui/messages?status=delivered"
measure "status=canceled (1 %)" "/ui/messages?status=canceled"
measure "deep page (Older at ~N/2)" "$deep"
measure "recipient search" "/ui/messages?recipient=$recipient"
measure "tag search (t7, ~0.1 %)" "/ui/messages?tag=t7"
measure "tag nobody has" "/ui/messages?tag=none"
measure "from search (25 %)" "/ui/messages?from=news%40example.com"
measure "from + status=failed" "/ui/messages?from=news%40example.com&status=failed"
measure "queue page (counts by status: a scan)" "/ui/queue"

# The API: the deep page is the nextCursor of the page that ends at about N/2.
cursor="$(curl -s -H "Authorization: Bearer $key" "$base/api/v1/messages?until=$until_iso&limit=50" | python3 -c 'import json,sys; print(json.load(sys.stdin)["nextCursor"])')"
api() { # api NAME KEY PATH [CONNECTIONS]
  local name="$1" bearer="$2" path="$3" c="${4:-1}" code items
  code="$(curl -s -o "$work/api.json" -w '%{http_code}' -H "Authorization: Bearer $bearer" "$base$path")"
  items="$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["items"]))' "$work/api.json")"
  hey -n "$API_RUNS" -c "$c" -H "Authorization: Bearer $bearer" "$base$path" > "$work/hey.txt"
  grep -q "\[200\][[:space:]]*$API_RUNS responses" "$work/hey.txt" || { cat "$work/hey.txt" >&2; echo "$name: not every answer was 200" >&2; exit 1; }
  awk -v name="$name" -v code="$code" -v items="$items" -v c="$c" '
    /Requests\/sec:/ { rps = $2 } / 50% in / { p50 = $3 * 1000 } / 99% in / { p99 = $3 * 1000 }
    END { printf "%-44s HTTP %s items=%-3d c=%-2d p50=%6.1f ms  p99=%6.1f ms  %6.0f req/s\n", name, code, items, c, p50, p99, rps }' "$work/hey.txt"
}
echo
echo "API GET /api/v1/messages on $N messages, $API_RUNS requests each with hey (after one warm-up request):"
api "status=delivered&limit=50 (admin)" "$key" "/api/v1/messages?status=delivered&limit=50"
api "status=delivered&limit=50 (admin)" "$key" "/api/v1/messages?status=delivered&limit=50" 10
api "status=delivered&limit=50 (key app)" "$app_key" "/api/v1/messages?status=delivered&limit=50"
api "first page, no filter (admin)" "$key" "/api/v1/messages?limit=50"
api "deep page (cursor at ~N/2, admin)" "$key" "/api/v1/messages?limit=50&cursor=$cursor"
api "deep page + status=delivered (admin)" "$key" "/api/v1/messages?status=delivered&limit=50&cursor=$cursor"
api "recipient (rare, admin)" "$key" "/api/v1/messages?recipient=$recipient"
api "recipient (rare, key app)" "$app_key" "/api/v1/messages?recipient=$recipient"
api "tag=t7 (~0.1 %, admin)" "$key" "/api/v1/messages?tag=t7&limit=50"
api "tag=t7 (key app)" "$app_key" "/api/v1/messages?tag=t7&limit=50"
api "tag nobody has (admin)" "$key" "/api/v1/messages?tag=none"
api "from=news@ (25 %, admin)" "$key" "/api/v1/messages?from=news%40example.com&limit=50"
api "from=news@ (another key's sender, key app)" "$app_key" "/api/v1/messages?from=news%40example.com&limit=50"
api "from=news@ + status=canceled (admin)" "$key" "/api/v1/messages?from=news%40example.com&status=canceled&limit=50"
api "from=news@ + status=sending (none, admin)" "$key" "/api/v1/messages?from=news%40example.com&status=sending&limit=50"
api "tag=t7 + recipient (admin)" "$key" "/api/v1/messages?tag=t7&recipient=$recipient"
api "from=app@ + tag=t7 + status=delivered (key app)" "$app_key" "/api/v1/messages?from=app%40example.com&tag=t7&status=delivered"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
stop_gateway
