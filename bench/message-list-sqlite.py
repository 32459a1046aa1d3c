#!/usr/bin/env python3
"""The SQL of GET /api/v1/messages on a SQLite store of N messages (default 1,000,000).

Builds the messages table with the schema and the list indexes SqliteDatabase creates (keep in sync with
src/MailGateway.Embedded/SqliteDatabase.cs), fills it with records shaped like the gateway's (JSON, ~600 bytes), and
times the query SqliteMessageOperations.ListAsync issues: the first page and a deep page (cursor) for
status=delivered, one key's page, and a tag filter (not indexed). Prints p50/p99 in ms and the query plans.
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
