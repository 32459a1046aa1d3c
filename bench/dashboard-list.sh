#!/usr/bin/env bash
# The dashboard's message list (GET /ui/messages, the whole page: session cookie, store query, Razor rendering, HTTP)
# on a standalone gateway whose SQLite database holds N status records (default 1,000,000). Target: <= 300 ms.
#
# 1. starts the gateway once on an empty data folder (it creates its schema) and stops it;
# 2. fills the messages table with N records shaped exactly like the gateway's (the same JSON the status store writes;
#    90 % delivered, four keys, one tag and one recipient each, 3 ms apart), as bench/message-list-sqlite.py does for
#    the bare query;
# 3. starts the gateway again, signs in through the form with an admin key (curl, cookie jar, antiforgery token) and
#    times each page RUNS times with curl (time_total, loopback): the first page, status filters, a deep page (the
#    "Older messages" cursor at about N/2), a recipient search, and the queue page for comparison.
#
# usage: bash bench/dashboard-list.sh [N] [RUNS]
source "$(dirname "$0")/lib.sh"
N="${1:-1000000}"
RUNS="${2:-30}"
work="$(mktemp -d)"
cleanup_add "rm -rf '$work'"
data="$work/data"
key="bench-admin-key-0123456789"
hash="$(printf '%s' "$key" | sha256sum | cut -d' ' -f1)"

dotnet build "$repo_dir/src/MailGateway.Standalone" -c Release -v q -nologo >/dev/null
dll="$repo_dir/src/MailGateway.Standalone/bin/Release/net10.0/MailGateway.Standalone.dll"
port="$(free_port)"
capture="$(free_port)"
export MailGateway__Storage__DataDirectory="$data" MailGateway__Capture__Port="$capture" \
  MailGateway__Api__Keys__0__Id=ops MailGateway__Api__Keys__0__Sha256="$hash" \
  MailGateway__Api__Keys__0__AllowedSenderDomains__0=example.com MailGateway__Api__Keys__0__Scopes__0=admin \
  Logging__LogLevel__Default=Warning

start_gateway() {
  dotnet "$dll" --urls "http://127.0.0.1:$port" >"$work/gateway.log" 2>&1 &
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
db.execute("ANALYZE"); db.commit()
print(f"filled {n} records in {time.time() - t0:.0f} s")
EOF
# A recipient that exists, for the search.
recipient="$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT json_extract(record,'\$.envelope.recipients[0]') FROM messages ORDER BY created_at DESC LIMIT 1 OFFSET 5000\").fetchone()[0])" "$data/gateway.db")"

start_gateway
base="http://127.0.0.1:$port"
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
measure "queue page (counts by status: a scan)" "/ui/queue"
stop_gateway
