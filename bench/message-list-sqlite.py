#!/usr/bin/env python3
"""The SQL of GET /api/v1/messages on a SQLite store of N messages (default 1,000,000).

Builds the messages table with the schema and the list indexes SqliteDatabase creates (keep in sync with
src/MailGateway.Embedded/SqliteDatabase.cs), fills it with records shaped like the gateway's (JSON, ~600 bytes), and
times the query SqliteMessageOperations.ListAsync issues: the first page and a deep page (cursor) for
status=delivered, one key's page, and the recipient, tag and sender filters, each twice in the same run: as the
earlier version searched (json_each on every record, "scan") and on the side tables (message_recipients,
message_tags, message_senders). The side tables' SQL (tables, triggers, backfill) is read from SqliteDatabase.cs, and
the backfill of the N rows (what the first start of this version does on an earlier database) is timed, with the
bytes per message the side tables add. Prints p50/p99 in ms and the query plans.
This measures the store's query only, not HTTP or JSON serialization.

usage: python3 bench/message-list-sqlite.py [N] [db-path]
"""
import json, os, random, sqlite3, sys, tempfile, time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(tempfile.mkdtemp(), "list-bench.db")
db = sqlite3.connect(path)
db.executescript("""
PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;
CREATE TABLE IF NOT EXISTS messages (id TEXT PRIMARY KEY, owner TEXT NOT NULL, state TEXT NOT NULL,
  updated_at INTEGER NOT NULL, record TEXT NOT NULL, created_at INTEGER);
CREATE INDEX IF NOT EXISTS messages_created ON messages (created_at, id);
CREATE INDEX IF NOT EXISTS messages_state_created ON messages (state, created_at, id);
CREATE INDEX IF NOT EXISTS messages_owner_created ON messages (owner, created_at, id);
CREATE INDEX IF NOT EXISTS messages_owner_state_created ON messages (owner, state, created_at, id);
""")
states = ["Delivered"] * 90 + ["Failed"] * 4 + ["Deferred"] * 3 + ["Queued"] * 2 + ["Canceled"]
owners = ["app", "billing", "news", "ops"]
start = 1_764_000_000_000
if db.execute("SELECT count(*) FROM messages").fetchone()[0] < N:
    rnd = random.Random(1)
    t0 = time.time()
    batch = []
    for i in range(N):
        created = start + i * 3
        mid = "%012x%020x" % (created, rnd.getrandbits(80))
        state, owner = rnd.choice(states), rnd.choice(owners)
        record = {"id": mid, "owner": owner, "state": state, "createdAt": "x", "updatedAt": "x",
                  "tags": ["t%d" % rnd.randrange(1000)], "metadata": {"order": str(i)},
                  "envelope": {"mailFrom": owner + "@example.com", "recipients": ["r%d@example.net" % rnd.randrange(100000)]},
                  "lastReply": "250 2.0.0 OK queued as %d" % i, "attempts": [], "recipients": [],
                  "contentReference": "sqlite:" + mid}
        batch.append((mid, owner, state, created, json.dumps(record), created))
        if len(batch) == 50_000:
            db.executemany("INSERT INTO messages VALUES (?,?,?,?,?,?)", batch); db.commit(); batch.clear()
    if batch:
        db.executemany("INSERT INTO messages VALUES (?,?,?,?,?,?)", batch); db.commit()
    print(f"filled {N} rows in {time.time() - t0:.0f} s ({os.path.getsize(path) / 1e9:.2f} GB)")

# The side tables exactly as the gateway makes them (schema, triggers, backfill of existing rows).
source = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "MailGateway.Embedded", "SqliteDatabase.cs")).read()
schema = source.split('private const string ListFilterSchema = """', 1)[1].split('""";', 1)[0]
backfill = source.split('"BEGIN IMMEDIATE;" + ListFilterSchema + """', 1)[1].split("COMMIT;", 1)[0]
if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'message_recipients'").fetchone():
    pages_before = db.execute("PRAGMA page_count").fetchone()[0]
    t0 = time.time()
    db.executescript("BEGIN;" + schema + backfill + "COMMIT;")
    grown = (db.execute("PRAGMA page_count").fetchone()[0] - pages_before) * db.execute("PRAGMA page_size").fetchone()[0]
    print(f"backfill of the side tables: {time.time() - t0:.0f} s, {grown / 1e6:.0f} MB, {grown / N:.0f} bytes per message")
db.execute("ANALYZE")

def bench(name, sql, args, runs=200):
    plan = " / ".join(r[3] for r in db.execute("EXPLAIN QUERY PLAN " + sql, args))
    times = []
    for _ in range(runs):
        t = time.perf_counter(); rows = db.execute(sql, args).fetchall(); times.append((time.perf_counter() - t) * 1000)
    times.sort()
    print(f"{name:<34} rows={len(rows):<3} p50={times[len(times) // 2]:.2f} ms  p99={times[int(len(times) * 0.99) - 1]:.2f} ms  plan: {plan}")

page = " ORDER BY created_at DESC, id DESC LIMIT 51"
mid_created = start + (N // 2) * 3
bench("status=delivered (first page)", "SELECT record FROM messages WHERE state = ?" + page, ("Delivered",))
bench("status=delivered (page at N/2)", "SELECT record FROM messages WHERE state = ? AND (created_at, id) < (?, ?)" + page,
      ("Delivered", mid_created, "~"))
bench("status=canceled (1 %)", "SELECT record FROM messages WHERE state = ?" + page, ("Canceled",))
bench("one key, status=failed", "SELECT record FROM messages WHERE owner = ? AND state = ?" + page, ("news", "Failed"))
bench("no filter (admin)", "SELECT record FROM messages" + page, ())
bench("tag=t7 (not indexed, ~0.1 %)", "SELECT record FROM messages WHERE EXISTS (SELECT 1 FROM json_each(record, '$.tags') WHERE value = ?)" + page, ("t7",), runs=5)

# The filters as the earlier version searched (scan) and on the side tables, the SQL ListAsync builds.
rare = db.execute("SELECT json_extract(record, '$.envelope.recipients[0]') FROM messages ORDER BY created_at DESC LIMIT 1 OFFSET 5000").fetchone()[0]
scan_rcpt = "SELECT record FROM messages WHERE EXISTS (SELECT 1 FROM json_each(record, '$.envelope.recipients') WHERE lower(value) = ?)"
scan_tag = "SELECT record FROM messages WHERE EXISTS (SELECT 1 FROM json_each(record, '$.tags') WHERE value = ?)"
scan_from = "SELECT record FROM messages WHERE lower(json_extract(record, '$.envelope.mailFrom')) = ?"
side = "SELECT m.record FROM {0} AS f CROSS JOIN messages AS m ON m.id = f.id WHERE f.{1} = ?"
fpage = " ORDER BY f.created_at DESC, f.id DESC LIMIT 51"
for label, old, new, args in [
    ("recipient (~10 messages)", scan_rcpt + page, side.format("message_recipients", "address") + fpage, (rare,)),
    ("recipient, one key", scan_rcpt + " AND owner = ?" + page, side.format("message_recipients", "address") + " AND f.owner = ?" + fpage, (rare, "news")),
    ("tag=t7 (~0.1 %)", scan_tag + page, side.format("message_tags", "tag") + fpage, ("t7",)),
    ("tag=t7, page at N/2", scan_tag + " AND (created_at, id) < (?, ?)" + page,
     side.format("message_tags", "tag") + " AND (f.created_at, f.id) < (?, ?)" + fpage, ("t7", mid_created, "~")),
    ("tag=t7, one key", scan_tag + " AND owner = ?" + page, side.format("message_tags", "tag") + " AND f.owner = ?" + fpage, ("t7", "app")),
    ("tag nobody has", scan_tag + page, side.format("message_tags", "tag") + fpage, ("none",)),
    ("from (25 %)", scan_from + page, side.format("message_senders", "address") + fpage, ("news@example.com",)),
    ("from, status=failed", scan_from + " AND state = ?" + page, side.format("message_senders", "address") + " AND m.state = ?" + fpage, ("news@example.com", "Failed")),
    ("from, status=sending (none)", scan_from + " AND state = ?" + page, side.format("message_senders", "address") + " AND m.state = ?" + fpage, ("news@example.com", "Sending")),
    ("from of another key (none)", scan_from + " AND owner = ?" + page, side.format("message_senders", "address") + " AND f.owner = ?" + fpage, ("news@example.com", "app")),
]:
    bench(label + " scan", old, args, runs=3)
    bench(label + " side table", new, args)

# A state rarer than the value: ListAsync's two bounded counts pick the state's index, the value looked up per row.
probe = "SELECT (SELECT count(*) FROM (SELECT 1 FROM message_senders WHERE address = ? LIMIT 2000)), (SELECT count(*) FROM (SELECT 1 FROM messages WHERE state = ? LIMIT 2000))"
by_state = ("SELECT m.record FROM messages AS m WHERE EXISTS (SELECT 1 FROM message_senders AS s WHERE s.address = ? AND s.created_at = m.created_at"
            " AND s.id = m.id) AND m.state = ? ORDER BY m.created_at DESC, m.id DESC LIMIT 51")
for label, state in [("status=sending (none)", "Sending"), ("status=canceled (1 %)", "Canceled")]:
    bench("from, " + label + " probe", probe, ("news@example.com", state))
    bench("from, " + label + " by state index", by_state, ("news@example.com", state))
