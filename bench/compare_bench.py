#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""compare_bench: lmsync against what users would pick instead, in one run (issue 7).

Every figure is the median of --reps repetitions, each set beside a baseline
measured in the same run on the same machine, and every target of issue 7 is
printed with "met" or "NOT met". The baseline for sync is PostgreSQL 15 logical
replication between two clusters this script creates with initdb, starts on
127.0.0.1 at free ports, and stops and removes at the end (bench/pgcluster.py).

  merge      build/bench/merge_bench: change sets merged into a store in one
             transaction (the target's figure) and in batches of 256, against
             bare prepared inserts of the same rows in one transaction.
  stream     --rows course rows written at A in one transaction, from the
             COMMIT call until B holds all of them: A -> hub -> B and A -> B
             direct, against a publisher -> subscriber pair. B is polled
             every 2 ms (lmsync: max(rowid) when data_version moved;
             PostgreSQL: the last row by primary key, since a subscriber
             applies a transaction at once); count(*) confirms.
  latency    --changes single-row transactions at A, one at a time, each
             timed from the call that commits it until the row is visible
             at B (both systems: an SQLite writer may checkpoint inside
             the call after its commit shows, which timed from the return
             was a head start for lmsync), polled
             every ~0.2 ms on one connection, each poll its own read
             transaction (lmsync via hub and direct; PostgreSQL as shipped,
             and again with the subscription's synchronous_commit = on so
             the subscriber flushes each applied transaction as an lmsync
             store does).
  bootstrap  a hub holding --bootstrap-rows rows (written at a site W, synced
             to the hub, W stopped); a new site is configured and started,
             timed until it holds every row. Against a subscription created
             with copy_data = true on an empty subscriber table, timed from
             CREATE SUBSCRIPTION until every row is there.
  scale      one hub and --sites sites: time until every site holds one new
             course, and until every site holds --scale-courses new courses
             from each of --scale-writers sites; VmRSS of every daemon idle
             and (sampled every 0.25 s) during that sync. No baseline.
  wire       bytes_out of A toward its peer (lmsync status --json) over the
             stream and latency runs, per row, against the row's own values
             as a msgpack array.

The rows are sync_bench's: a registered table course(id TEXT PRIMARY KEY,
scope, title, description, venue, target, seats, starts, weeks) with
--policy scope, one of eight open scopes, descriptions of 200 to 600 bytes;
PostgreSQL gets the same rows (the same generator and seed) in a table of
the same columns and types. Every wait is bounded; every daemon and cluster
started is stopped and every file removed, also on an error or Ctrl-C.

Full size (the defaults) takes about 6 minutes on 2 cores, a third of it the
bootstrap; --smoke (tiny sizes, one repetition) takes about 30 s and is the
ctest test compare_bench_smoke. --only picks sections (merge,stream,latency,bootstrap,
scale). COMPARE_BENCH_KEEP=1 keeps the temporary directories and logs.
"""

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import time

# The shared pieces live beside this file; keep Python from writing
# bytecode into the source tree.
sys.dont_write_bytecode = True
from lmbench import (COLUMNS, INSERT_SQL, Bench, BenchError, all_connected,  # noqa: E402
                     connect, latency, make_row, median, mib, msgpack, pair, pct,
                     run_bench, star, throughput, verdict, wait_quiet, wait_until)
from pgcluster import PgCluster, psycopg2_module  # noqa: E402

SECTIONS = ("merge", "stream", "latency", "bootstrap", "scale")

# The same columns and types as lmbench.COURSE_SQL, in PostgreSQL.
PG_COURSE_SQL = (
    "CREATE TABLE %s (id TEXT PRIMARY KEY NOT NULL, scope TEXT NOT NULL DEFAULT '', "
    "title TEXT, description TEXT, venue TEXT, target TEXT, "
    "seats INTEGER NOT NULL DEFAULT 0, starts TEXT, weeks INTEGER)")


def pg_insert_sql(table):
    return "INSERT INTO %s(%s) VALUES (%s)" % (
        table, ", ".join(COLUMNS), ", ".join(["%s"] * len(COLUMNS)))

started = time.monotonic()


def log(msg):
    print("[%7.1f s] %s" % (time.monotonic() - started, msg), file=sys.stderr, flush=True)


def rows_of(seed, prefix, n):
    """The n rows a run writes under key prefix; the same seed gives the
    same rows, so lmsync and PostgreSQL get identical data without holding
    a million rows in memory."""
    rng = random.Random(seed)
    for i in range(n):
        yield make_row(rng, "%s-%07d" % (prefix, i))


# ---- PostgreSQL baselines -----------------------------------------------


class PgPair:
    """A publisher and a subscriber cluster; close() stops and removes both."""

    def __init__(self, keep):
        self.keep = keep
        self.pub = self.sub = self.pc = self.sc = None
        self.last_subscribe = None

    def start(self):
        # One at a time, each assigned before it starts, so close() finds
        # whatever got as far as initdb.
        self.pub = PgCluster("pub", keep=self.keep)
        self.pub.init_and_start()
        self.sub = PgCluster("sub", keep=self.keep)
        self.sub.init_and_start()
        self.pc = self.pub.connect()
        self.sc = self.sub.connect()

    def close(self):
        for conn in (self.pc, self.sc):
            if conn:
                conn.close()
        self.pc = self.sc = None
        # The publisher is stopped even if stopping the subscriber failed.
        try:
            if self.sub:
                self.sub.close()
        finally:
            if self.pub:
                self.pub.close()
            self.pub = self.sub = None

    def q(self, conn, sql, args=None):
        cur = conn.cursor()
        cur.execute(sql, args)
        return cur.fetchall() if cur.description else None

    def create_table(self, table):
        for c in (self.pc, self.sc):
            self.q(c, PG_COURSE_SQL % table)

    def wait_launcher(self):
        """Sleep until the subscriber's launcher may start a new apply
        worker: it starts at most one round of workers per
        wal_retrieve_retry_interval (5 s as shipped), so a subscription
        created sooner after the previous one would wait for that, and a
        timed run would count the wait."""
        if self.last_subscribe is None:
            return
        ms = self.q(self.sc, "SELECT setting::int FROM pg_settings "
                    "WHERE name = 'wal_retrieve_retry_interval'")[0][0]
        left = self.last_subscribe + ms / 1000.0 + 0.2 - time.monotonic()
        if left > 0:
            time.sleep(left)

    def subscribe(self, name, table, copy_data, sync_commit="off", wait_streaming=True):
        """A subscription to the publication of table; synchronous_commit
        'off' is PostgreSQL's default for a subscription."""
        self.wait_launcher()
        self.last_subscribe = time.monotonic()
        self.q(self.sc, "CREATE SUBSCRIPTION %s CONNECTION '%s' PUBLICATION p_%s WITH "
               "(copy_data = %s, synchronous_commit = '%s')"
               % (name, self.pub.conninfo(), table, "true" if copy_data else "false",
                  sync_commit))
        if wait_streaming:
            # The apply worker starts a moment after CREATE SUBSCRIPTION;
            # until it streams, a commit would wait for it.
            wait_until("PostgreSQL subscription %s streaming" % name, 30, lambda: self.q(
                self.pc, "SELECT 1 FROM pg_stat_replication WHERE application_name = %s "
                "AND state = 'streaming'", (name,)), interval=0.05)

    def unsubscribe(self, name):
        self.q(self.sc, "DROP SUBSCRIPTION IF EXISTS %s" % name)

    def count(self, conn, table):
        return self.q(conn, "SELECT count(*) FROM %s" % table)[0][0]

    def wait_rows(self, table, last_key, want, timeout, interval, t0):
        """Seconds from t0 until the subscriber shows last_key, once
        count(*) confirms want rows."""
        deadline = time.monotonic() + timeout
        cur = self.sc.cursor()
        while True:
            cur.execute("SELECT 1 FROM %s WHERE id = %%s" % table, (last_key,))
            if cur.fetchall():
                dt = time.perf_counter() - t0
                have = self.count(self.sc, table)
                if have >= want:
                    return dt
            if time.monotonic() > deadline:
                raise BenchError("PostgreSQL: the subscriber holds %d of %d rows of %s "
                                 "after %d s" % (self.count(self.sc, table), want, table,
                                                 timeout))
            time.sleep(interval)

    def stream(self, table, rows, timeout):
        psycopg2 = psycopg2_module()
        import psycopg2.extras
        base = self.count(self.sc, table)
        self.pc.autocommit = False
        try:
            cur = self.pc.cursor()
            psycopg2.extras.execute_values(
                cur, "INSERT INTO %s(%s) VALUES %%s" % (table, ", ".join(COLUMNS)), rows,
                page_size=1000)
            t0 = time.perf_counter()  # from the commit call, as lmsync's
            self.pc.commit()
        finally:
            self.pc.autocommit = True
        return self.wait_rows(table, rows[-1][0], base + len(rows), timeout, 0.002, t0)

    def latency(self, table, rows, timeout=10):
        cur = self.pc.cursor()
        sub = self.sc.cursor()
        sql = pg_insert_sql(table)
        times = []
        for i, row in enumerate(rows):
            t0 = time.perf_counter()  # from the call that commits, as lmsync's
            cur.execute(sql, row)  # autocommit: committed when it returns
            deadline = t0 + timeout
            while True:
                sub.execute("SELECT 1 FROM %s WHERE id = %%s" % table, (row[0],))
                if sub.fetchall():
                    break
                if time.perf_counter() > deadline:
                    raise BenchError("PostgreSQL latency: change %d not at the "
                                     "subscriber after %d s" % (i, timeout))
                time.sleep(0.0002)
            times.append(time.perf_counter() - t0)
        return times

    def load(self, table, rows):
        """COPY rows (an iterator) into the publisher's table."""
        cur = self.pc.cursor()
        cur.copy_expert("COPY %s(%s) FROM STDIN" % (table, ", ".join(COLUMNS)),
                        CopyReader(rows))


class CopyReader:
    """A file-like object over rows in COPY's text format, so a million rows
    go to the server without being held in memory at once."""

    def __init__(self, rows):
        self.rows = rows
        self.buf = b""

    @staticmethod
    def field(v):
        if v is None:
            return "\\N"
        return (str(v).replace("\\", "\\\\").replace("\t", "\\t")
                .replace("\n", "\\n").replace("\r", "\\r"))

    def read(self, size=65536):
        while len(self.buf) < size:
            row = next(self.rows, None)
            if row is None:
                break
            self.buf += ("\t".join(self.field(v) for v in row) + "\n").encode()
        out, self.buf = self.buf[:size], self.buf[size:]
        return out



# ---- lmsync -------------------------------------------------------------


def wait_site_rows(bench, site, base_rowid, want, timeout, alive):
    """Seconds from now until site's course table holds want rows: every
    2 ms, when its data_version moved, max(rowid) (rows appended since
    base_rowid); count(*) confirms once that says all. The same method as
    lmbench.throughput."""
    r = connect(site)
    try:
        one = lambda q: r.execute(q).fetchall()[0][0] or 0
        t0 = time.perf_counter()
        deadline = time.monotonic() + timeout
        version = None
        while True:
            v = one("PRAGMA data_version")
            if v != version:
                version = v
                if one("SELECT max(rowid) FROM course") - base_rowid >= want:
                    if one("SELECT count(*) FROM course") >= want:
                        return time.perf_counter() - t0
            if time.monotonic() > deadline:
                raise BenchError("%s holds %d of %d rows after %d s" % (
                    os.path.basename(site), one("SELECT count(*) FROM course"), want,
                    timeout))
            alive()
            time.sleep(0.002)
    finally:
        r.close()


def settle(bench, *sites):
    for s in sites:
        bench.lm(s, "sync", "--wait", "--timeout", "120", timeout=150)
    time.sleep(0.5)


# ---- the sections -------------------------------------------------------


def section_merge(args):
    exe = os.path.join(args.build, "bench", "merge_bench")
    if not os.access(exe, os.X_OK):
        raise BenchError("%s not found: build first (cmake --build %s)" % (exe, args.build))
    cmd = [exe, "--rows", str(args.merge_rows), "--reps", str(args.reps)] + args.merge_args
    log("merge: %s" % " ".join(cmd))
    try:
        r = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=max(600, args.merge_rows * args.reps / 500))
    except subprocess.TimeoutExpired:
        raise BenchError("merge_bench timed out")
    if r.returncode != 0:
        raise BenchError("merge_bench: exit %d: %s" % (r.returncode, r.stderr.strip()[-400:]))
    print(r.stdout.strip() + "\n", flush=True)

    def rate(step):
        m = re.search(r"^\| %s\s*\|\s*([0-9.]+) \|\s*([0-9]+) \|" % re.escape(step),
                      r.stdout, re.M)
        if not m:
            raise BenchError("merge_bench printed no '%s' row: output format changed?" % step)
        return float(m.group(2))
    batched = re.search(r"^\| (merge \(B\), batches of [0-9]+)\s*\|", r.stdout, re.M)
    if not batched:
        raise BenchError("merge_bench printed no 'merge (B), batches of' row: output format changed?")
    # The target is judged on the merge in one transaction, like the bare insert.
    return {"bare": rate("bare insert"), "merge": rate("merge (B), one batch"),
            "batched": rate(batched.group(1)), "batched_name": batched.group(1)}


def quiet(what):
    """Before each timed run: let whatever the last run left running (its
    checkpoints, PostgreSQL's autovacuum, the kernel writing back what it
    wrote) finish first."""
    os.sync()
    waited = wait_quiet()
    if waited >= 1.0:
        log("%s: waited %.1f s for the machine to be quiet" % (what, waited))


def rotation(rep):
    """The three runs of a repetition, in a different order each time, so
    that none gets the machine's quiet or busy moments more often."""
    return [("hub", "direct", "pg"), ("pg", "hub", "direct"),
            ("direct", "pg", "hub")][rep % 3]


def section_stream_latency(bench, pg, args, do_stream, do_latency, res):
    hub = bench.new_site("hub", kind="hub", table=False)
    bench.start(hub)
    ha, hb, htoward = pair(bench, "h", hub)
    da, db, dtoward = pair(bench, "d", None)
    lm = {"hub": (ha, hb, htoward), "direct": (da, db, dtoward)}
    pg.create_table("course")
    pg.q(pg.pc, "CREATE PUBLICATION p_course FOR TABLE course")
    pg.subscribe("s_course", "course", copy_data=False)

    if do_stream:
        st = {"hub": [], "direct": [], "pg": [], "first_hub": [],
                              "first_direct": [], "bytes_hub": [], "msgpack": [],
                              "cpu_hub": [], "cpu_direct": []}
        timeout = max(120, args.rows / 250)
        for rep in range(args.reps):
            rows = list(rows_of(100 + rep, "strom%d" % rep, args.rows))
            for who in rotation(rep):
                quiet("stream rep %d: %s" % (rep + 1, who))
                if who == "pg":
                    dt = pg.stream("course", rows, timeout)
                else:
                    a, b, toward = lm[who]
                    daemons = list(dict.fromkeys((a, b, toward)))  # direct: toward is b
                    cpu0 = bench.cpu_times(*daemons)
                    dt, first, nbytes = throughput(bench, a, b, toward, rows, timeout)
                    cpu1 = bench.cpu_times(*daemons)
                    # The system time is the part that grows in later runs
                    # on some machines (BENCHMARKS.md, sixth sitting).
                    st["cpu_" + who].append((cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]))
                    st["first_" + who].append(first)
                    if who == "hub":
                        st["bytes_hub"].append(nbytes / len(rows))
                    settle(bench, a, b)
                st[who].append(len(rows) / dt)
                cpu = ", daemons' CPU user %.2f s, system %.2f s" % st["cpu_" + who][-1] \
                    if who != "pg" else ""
                log("stream rep %d: %-6s %8.0f rows/s (%.2f s)%s" % (
                    rep + 1, who, len(rows) / dt, dt, cpu))
            st["msgpack"].append(sum(len(msgpack(list(x))) for x in rows) / len(rows))
            del rows
        res["stream"] = st  # complete: only now seen by report()

    if do_latency:
        la = {k: {"p50": [], "p99": []} for k in
                               ("hub", "direct", "pg", "pg_fsync")}
        la["bytes_hub"], la["msgpack"] = [], []
        for rep in range(args.reps):
            changes = list(rows_of(200 + rep, "endring%d" % rep, args.changes))
            for who in rotation(rep):
                quiet("latency rep %d: %s" % (rep + 1, who))
                if who == "pg":
                    times = pg.latency("course", changes)
                else:
                    a, b, toward = lm[who]
                    times, nbytes = latency(bench, a, b, toward, changes)
                    if who == "hub":
                        la["bytes_hub"].append(nbytes / len(changes))
                la[who]["p50"].append(pct(times, 50) * 1e3)
                la[who]["p99"].append(pct(times, 99) * 1e3)
                log("latency rep %d: %-6s p50 %.2f ms, p99 %.2f ms" % (
                    rep + 1, who, la[who]["p50"][-1], la[who]["p99"][-1]))
                time.sleep(0.5)
            la["msgpack"].append(sum(len(msgpack(list(x))) for x in changes) / len(changes))
        # PostgreSQL once more with the subscriber flushing every applied
        # transaction (what an lmsync store does): its own table and
        # subscription, dropped again so it costs the other runs nothing.
        pg.unsubscribe("s_course")
        pg.create_table("course_fsync")
        pg.q(pg.pc, "CREATE PUBLICATION p_course_fsync FOR TABLE course_fsync")
        pg.subscribe("s_course_fsync", "course_fsync", copy_data=False, sync_commit="on")
        for rep in range(args.reps):
            changes = list(rows_of(200 + rep, "endring%d" % rep, args.changes))
            quiet("latency rep %d: pg, subscriber flushing" % (rep + 1))
            times = pg.latency("course_fsync", changes)
            la["pg_fsync"]["p50"].append(pct(times, 50) * 1e3)
            la["pg_fsync"]["p99"].append(pct(times, 99) * 1e3)
            log("latency rep %d: pg, subscriber synchronous_commit=on: p50 %.2f ms, "
                "p99 %.2f ms" % (rep + 1, la["pg_fsync"]["p50"][-1], la["pg_fsync"]["p99"][-1]))
        pg.unsubscribe("s_course_fsync")
        res["latency"] = la
    else:
        pg.unsubscribe("s_course")
    bench.stop_all()
    for s in (hub, ha, hb, da, db):
        shutil.rmtree(s, ignore_errors=True)


def section_bootstrap(bench, pg, args, res):
    n = args.bootstrap_rows
    bo = {"lmsync": [], "pg": []}
    chunk = 100000
    timeout = max(300, n / 500)

    # The hub's data: written at W in transactions of up to 100,000 rows,
    # synced to the hub, then W is stopped, so a new site can only get the
    # rows from the hub.
    hub = bench.new_site("bhub", kind="hub", table=False)
    w = bench.new_site("bw")
    bench.peer(w, hub, hub=True)
    bench.peer(hub, w)
    bench.start(hub)
    bench.start(w)
    wait_until("bootstrap: W in session with the hub", 30,
               lambda: all_connected(bench, w, 1), alive=lambda: bench.check_alive(hub, w))
    t = time.monotonic()
    gen = rows_of(300, "grunn", n)
    db = connect(w)
    written = 0
    while written < n:
        batch = [r for _, r in zip(range(chunk), gen)]
        db.execute("BEGIN IMMEDIATE")
        db.executemany(INSERT_SQL, batch)
        db.execute("COMMIT")
        written += len(batch)
        bench.check_alive(hub, w)
    db.close()
    log("bootstrap: %d rows written at W in %.1f s; syncing them to the hub"
        % (n, time.monotonic() - t))
    bench.lm(w, "sync", "--wait", "--timeout", str(int(timeout)), timeout=timeout + 30)
    log("bootstrap: the hub holds them (%.1f s after the first write)" % (time.monotonic() - t))
    bench.stop(w)

    # PostgreSQL: the same rows in the publisher's table, by COPY.
    pg.q(pg.pc, PG_COURSE_SQL % "course_boot")
    t = time.monotonic()
    pg.load("course_boot", rows_of(300, "grunn", n))
    pg.q(pg.pc, "CREATE PUBLICATION p_course_boot FOR TABLE course_boot")
    pg.q(pg.pc, "CHECKPOINT")
    log("bootstrap: %d rows loaded into the publisher in %.1f s" % (n, time.monotonic() - t))
    last_key = "grunn-%07d" % (n - 1)

    for rep in range(args.reps):
        for who in (("lmsync", "pg") if rep % 2 == 0 else ("pg", "lmsync")):
            quiet("bootstrap rep %d: %s" % (rep + 1, who))
            if who == "lmsync":
                j = bench.new_site("bj%d" % rep)
                bench.peer(j, hub, hub=True)
                bench.peer(hub, j)  # the running hub takes the new peer at once
                t0 = time.perf_counter()
                bench.start(j, wait=False)
                wait_site_rows(bench, j, 0, n, timeout, lambda: bench.check_alive(hub, j))
                dt = time.perf_counter() - t0
                bench.stop(j)
                bench.lm(hub, "peer", "remove", bench.ids[j])
                shutil.rmtree(j, ignore_errors=True)
            else:
                pg.unsubscribe("s_course_boot")
                pg.q(pg.sc, "DROP TABLE IF EXISTS course_boot")
                pg.q(pg.sc, PG_COURSE_SQL % "course_boot")
                pg.q(pg.sc, "CHECKPOINT")
                pg.wait_launcher()  # not a cost of the copy: see there
                t0 = time.perf_counter()
                pg.subscribe("s_course_boot", "course_boot", copy_data=True,
                             wait_streaming=False)
                dt = pg.wait_rows("course_boot", last_key, n, timeout, 0.002, t0)
                pg.unsubscribe("s_course_boot")
            bo[who].append(n / dt)
            log("bootstrap rep %d: %-6s %8.0f rows/s (%.1f s)" % (rep + 1, who, n / dt, dt))
    pg.q(pg.sc, "DROP TABLE IF EXISTS course_boot")
    res["bootstrap"] = bo
    bench.stop_all()
    for s in (hub, w):
        shutil.rmtree(s, ignore_errors=True)


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def section_scale(bench, args, res):
    n = args.sites
    sc = {"one": [], "many": [], "sites": n}
    t = time.monotonic()
    hub, sites = star(bench, "shub", ["s%03d" % i for i in range(n)])
    bench.start(hub)
    for s in sites:  # staggered: no thundering herd of handshakes
        bench.start(s, wait=False)
        time.sleep(0.05)
    alive = lambda: bench.check_alive(hub, *sites)
    wait_until("all %d sites connected to the hub" % n, 60 + 2 * n,
               lambda: all_connected(bench, hub, n), interval=0.25, alive=alive)
    log("scale: %d sites and the hub up and in session in %.1f s" % (n, time.monotonic() - t))
    time.sleep(3)
    sc["idle_sites"] = [bench.rss_kib(s) for s in sites]
    sc["idle_hub"] = bench.rss_kib(hub)

    readers = [connect(s) for s in sites]
    try:
        for rep in range(args.reps):
            # One course at one site (a different one each time) until
            # every site's store shows it.
            origin = rep * 37 % n
            key = "en-%d" % rep
            row = make_row(random.Random(400 + rep), key)
            wdb = connect(sites[origin])
            t0 = time.perf_counter()  # from the call that commits it
            wdb.execute(INSERT_SQL, row)
            wdb.close()
            pending = list(range(n))
            deadline = time.monotonic() + 60
            while pending:
                pending = [i for i in pending if not readers[i].execute(
                    "SELECT 1 FROM course WHERE id = ?", (key,)).fetchall()]
                if not pending:
                    break
                if time.monotonic() > deadline:
                    raise BenchError("scale: one course from %s not at %d of %d sites "
                                     "after 60 s" % (os.path.basename(sites[origin]),
                                                     len(pending), n))
                alive()
                time.sleep(0.002)
            sc["one"].append(time.perf_counter() - t0)
            log("scale rep %d: one course at all %d sites in %.3f s" % (rep + 1, n, sc["one"][-1]))
            time.sleep(1)

        peak = {}
        for rep in range(args.reps):
            # --scale-courses courses at each of --scale-writers sites, each
            # site's in one transaction, written back to back; timed from
            # before the first write until every site holds them all.
            writers = [(rep * 10 + k * max(1, n // args.scale_writers)) % n
                       for k in range(args.scale_writers)]
            prefix = "mange%d-" % rep
            want = len(set(writers)) * args.scale_courses
            t0 = time.perf_counter()
            for k, wi in enumerate(sorted(set(writers))):
                wdb = connect(sites[wi])
                wdb.execute("BEGIN IMMEDIATE")
                wdb.executemany(INSERT_SQL, rows_of(500 + rep * 100 + k, "%s%03d" % (prefix, wi),
                                                    args.scale_courses))
                wdb.execute("COMMIT")
                wdb.close()
            versions = [None] * n
            done = [False] * n
            deadline = time.monotonic() + 120 + n
            last_rss = 0.0
            while not all(done):
                for i in range(n):
                    if done[i]:
                        continue
                    v = readers[i].execute("PRAGMA data_version").fetchall()[0][0]
                    if v == versions[i]:
                        continue
                    versions[i] = v
                    got = readers[i].execute(
                        "SELECT count(*) FROM course WHERE id >= ? AND id < ?",
                        (prefix, prefix[:-1] + ".")).fetchall()[0][0]
                    done[i] = got >= want
                if time.monotonic() - last_rss >= 0.25:
                    last_rss = time.monotonic()
                    for s in [hub] + sites:
                        k = rss_kib(bench.procs[s].pid)
                        peak[s] = max(peak.get(s, 0), k)
                if all(done):
                    break
                if time.monotonic() > deadline:
                    raise BenchError("scale: %d of %d sites lack some of the %d courses "
                                     "after %d s" % (done.count(False), n, want,
                                                     120 + n))
                alive()
                time.sleep(0.01)
            sc["many"].append(time.perf_counter() - t0)
            sc["many_rows"] = want
            log("scale rep %d: %d courses from %d sites at all %d sites in %.3f s"
                % (rep + 1, want, len(set(writers)), n, sc["many"][-1]))
            time.sleep(1)
        sc["sync_sites"] = [peak[s] for s in sites]
        sc["sync_hub"] = peak[hub]
    finally:
        for r in readers:
            r.close()
    bench.lm(hub, "sync", "--wait", "--timeout", "120", timeout=150)
    time.sleep(3)
    sc["after_sites"] = [bench.rss_kib(s) for s in sites]
    sc["after_hub"] = bench.rss_kib(hub)
    res["scale"] = sc
    bench.stop_all()


# ---- report -------------------------------------------------------------


def num(v, fmt="{:,.0f}"):
    return fmt.format(v)


def report(args, res):
    reps = args.reps
    rows, targets = [], []
    row = lambda *c: rows.append(c)

    if "merge" in res:
        m = res["merge"]
        ratio = m["merge"] / m["bare"]
        row("merge into a store, one batch, rows/s", num(m["merge"]),
            "bare insert " + num(m["bare"]), "%.3f" % ratio)
        row("  %s, rows/s" % m["batched_name"][len("merge (B), "):], num(m["batched"]),
            "bare insert " + num(m["bare"]), "%.3f" % (m["batched"] / m["bare"]))
        targets.append(("merge / bare insert >= 0.5", "%.3f" % ratio, ratio >= 0.5))
    if "stream" in res:
        s = res["stream"]
        hub, direct, pgv = median(s["hub"]), median(s["direct"]), median(s["pg"])
        row("stream %s rows, via hub, rows/s" % num(args.rows), num(hub),
            "PostgreSQL " + num(pgv), "%.2f" % (hub / pgv))
        row("stream, direct, rows/s", num(direct), "PostgreSQL " + num(pgv),
            "%.2f" % (direct / pgv))
        row("  first row at B, via hub / direct, s", "%.2f / %.2f" % (
            median(s["first_hub"]), median(s["first_direct"])), "", "")
        for who, label in (("hub", "via hub"), ("direct", "direct")):
            row("  daemons' CPU, %s, user / system, s" % label, "%.2f / %.2f" % (
                median([c[0] for c in s["cpu_" + who]]),
                median([c[1] for c in s["cpu_" + who]])), "", "")
        targets.append(("stream via hub >= PostgreSQL", "%s vs %s rows/s" % (
            num(hub), num(pgv)), hub >= pgv))
    if "latency" in res:
        la = res["latency"]
        p = {k: (median(la[k]["p50"]), median(la[k]["p99"])) for k in
             ("hub", "direct", "pg", "pg_fsync")}
        for who, label in (("direct", "direct"), ("hub", "via hub")):
            for i, q in ((0, "p50"), (1, "p99")):
                row("%s single-row txns, %s, %s ms" % (num(args.changes), label, q),
                    "%.2f" % p[who][i], "PostgreSQL %.2f" % p["pg"][i],
                    "%.2f" % (p[who][i] / p["pg"][i]))
        row("  PostgreSQL, subscriber synchronous_commit=on, p50 / p99 ms", "",
            "%.2f / %.2f" % p["pg_fsync"], "")
        targets.append(("direct p50 and p99 <= PostgreSQL", "p50 %.2f vs %.2f, p99 %.2f "
                        "vs %.2f ms" % (p["direct"][0], p["pg"][0], p["direct"][1],
                                        p["pg"][1]),
                        p["direct"][0] <= p["pg"][0] and p["direct"][1] <= p["pg"][1]))
        targets.append(("via hub p99 <= 2x PostgreSQL p99", "%.2f vs 2 x %.2f ms" % (
            p["hub"][1], p["pg"][1]), p["hub"][1] <= 2 * p["pg"][1]))
    if "bootstrap" in res:
        b = res["bootstrap"]
        lm, pgv = median(b["lmsync"]), median(b["pg"])
        row("bootstrap %s rows, rows/s" % num(args.bootstrap_rows), num(lm),
            "PostgreSQL " + num(pgv), "%.2f" % (lm / pgv))
        row("  seconds to full sync", "%.1f" % (args.bootstrap_rows / lm),
            "%.1f" % (args.bootstrap_rows / pgv), "")
        targets.append(("bootstrap >= PostgreSQL copy_data", "%s vs %s rows/s" % (
            num(lm), num(pgv)), lm >= pgv))
    if "scale" in res:
        sc = res["scale"]
        n = sc["sites"]
        one = median(sc["one"])
        row("%d sites: one course at every site, s" % n, "%.3f" % one, "", "")
        row("%d sites: %d courses from %d sites at every site, s" % (
            n, sc["many_rows"], sc["many_rows"] // args.scale_courses),
            "%.3f" % median(sc["many"]), "", "")
        for key, label in (("idle", "idle"), ("sync", "during sync"),
                           ("after", "idle after the runs")):
            xs = sc[key + "_sites"]
            row("RSS of a site, %s, MiB (median, max)" % label,
                "%.1f, %.1f" % (mib(median(xs)), mib(max(xs))), "", "")
            row("RSS of the hub (%d sites), %s, MiB" % (n, label),
                "%.1f" % mib(sc[key + "_hub"]), "", "")
        targets.append(("one course at all %d sites < 5 s" % n, "%.3f s" % one, one < 5))
        idle = max(sc["idle_sites"])
        targets.append(("idle site daemon < 16 MiB", "max %.1f MiB" % mib(idle),
                        idle < 16 * 1024))
        targets.append(("idle hub daemon (%d sites) < 16 MiB" % n, "%.1f MiB" % mib(
            sc["idle_hub"]), sc["idle_hub"] < 16 * 1024))
    if "stream" in res or "latency" in res:
        if "stream" in res:
            s = res["stream"]
            wb, mp = median(s["bytes_hub"]), median(s["msgpack"])
            row("wire bytes per row, batched (A to hub)", "%.0f" % wb,
                "msgpack row %.0f" % mp, "%.2fx" % (wb / mp))
            targets.append(("wire / msgpack batched < 1.5x (issue 5)", "%.2fx" % (wb / mp),
                            wb / mp < 1.5))
        if "latency" in res:
            la = res["latency"]
            wb, mp = median(la["bytes_hub"]), median(la["msgpack"])
            row("wire bytes per row, single (A to hub)", "%.0f" % wb,
                "msgpack row %.0f" % mp, "%.2fx" % (wb / mp))

    out = ["", "compare_bench: lmsync against PostgreSQL 15 logical replication, median of "
           "%d repetition%s, on 127.0.0.1" % (reps, "" if reps == 1 else "s"), ""]
    issue = (100000, 2000, 1000000, 100, 10, 100, 100000)
    if (args.rows, args.changes, args.bootstrap_rows, args.sites, args.scale_writers,
            args.scale_courses, args.merge_rows) != issue:
        out += ["Sizes differ from issue 7's (%s): the verdicts hold for these sizes only%s."
                % ("--rows 100000 --changes 2000 --bootstrap-rows 1000000 --sites 100 "
                   "--scale-writers 10 --scale-courses 100 --merge-rows 100000",
                   "; --smoke sizes say nothing about the targets" if args.smoke else ""), ""]
    if rows:
        w = [max(len(str(r[i])) for r in rows + [("measure", "lmsync", "baseline", "ratio")])
             for i in range(4)]
        fmt = "| %%-%ds | %%%ds | %%%ds | %%%ds |" % tuple(w)
        out.append(fmt % ("measure", "lmsync", "baseline", "ratio"))
        out.append("|%s|%s:|%s:|%s:|" % tuple("-" * (x + 2 - (1 if i else 0))
                                               for i, x in enumerate(w)))
        out += [fmt % r for r in rows]
        out.append("")
    if targets:
        w0 = max(len(t[0]) for t in targets + [("target",)])
        w1 = max(len(t[1]) for t in targets + [("target", "measured")])
        fmt = "| %%-%ds | %%-%ds | %%-7s |" % (w0, w1)
        out.append(fmt % ("target (issue 7)", "measured", ""))
        out.append("|%s|%s|%s|" % ("-" * (w0 + 2), "-" * (w1 + 2), "-" * 9))
        out += [fmt % (t[0], t[1], verdict(t[2])) for t in targets]
    print("\n".join(out), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--build", default=os.path.join(os.path.dirname(here), "build"))
    ap.add_argument("--reps", type=int, default=3, help="repetitions of each measure")
    ap.add_argument("--rows", type=int, default=100000, help="rows of the stream")
    ap.add_argument("--changes", type=int, default=2000, help="single-row transactions")
    ap.add_argument("--bootstrap-rows", type=int, default=1000000)
    ap.add_argument("--sites", type=int, default=100, help="sites on the hub in scale")
    ap.add_argument("--scale-writers", type=int, default=10)
    ap.add_argument("--scale-courses", type=int, default=100)
    ap.add_argument("--merge-rows", type=int, default=100000)
    ap.add_argument("--merge-args", default="",
                    help="more merge_bench options, e.g. --merge-args=--bare-in-written-order")
    ap.add_argument("--only", default=",".join(SECTIONS),
                    help="comma-separated sections, of " + ",".join(SECTIONS))
    ap.add_argument("--log-level", default="info", help="lmsyncd's --log-level")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny sizes and one repetition, for ctest")
    args = ap.parse_args()
    if args.smoke:
        args.reps, args.rows, args.changes, args.bootstrap_rows = 1, 300, 20, 2000
        args.sites, args.scale_writers, args.scale_courses = 4, 2, 5
        args.merge_rows = 1000
    only = [s for s in args.only.split(",") if s]
    bad = [s for s in only if s not in SECTIONS]
    if bad:
        ap.error("unknown section %s (sections: %s)" % (", ".join(bad), ",".join(SECTIONS)))
    for name in ("reps", "rows", "changes", "bootstrap_rows", "sites", "scale_writers",
                 "scale_courses", "merge_rows"):
        if getattr(args, name) < 1:
            ap.error("--%s must be at least 1" % name.replace("_", "-"))
    if args.scale_writers > args.sites:
        ap.error("--scale-writers must not exceed --sites")
    args.merge_args = args.merge_args.split()
    args.build = os.path.abspath(args.build)
    keep = bool(os.environ.get("COMPARE_BENCH_KEEP"))
    cleanups = []

    def body(root):
        res = {}
        try:
            return sections(root, res)
        except BenchError:
            # What was measured before the failure is still worth seeing.
            if res:
                print("compare_bench: a section failed; the figures measured before it:",
                      file=sys.stderr)
                report(args, res)
            raise

    def sections(root, res):
        if "merge" in only:
            res["merge"] = section_merge(args)
        bench = Bench(args.build, root)
        bench.log_level = args.log_level
        cleanups.append(bench.stop_all)
        pg = None
        if any(s in only for s in ("stream", "latency", "bootstrap")):
            psycopg2_module()  # say it is missing before anything starts
            pg = PgPair(keep)
            cleanups.append(pg.close)
            log("PostgreSQL: two clusters (initdb)")
            pg.start()
            log("PostgreSQL publisher on port %d, subscriber on port %d"
                % (pg.pub.port, pg.sub.port))
        if "stream" in only or "latency" in only:
            log("stream and latency: A -> hub -> B, A -> B, publisher -> subscriber")
            section_stream_latency(bench, pg, args, "stream" in only, "latency" in only, res)
        if "bootstrap" in only:
            log("bootstrap: %d rows" % args.bootstrap_rows)
            section_bootstrap(bench, pg, args, res)
        if pg:
            pg.close()  # the clusters would take memory and CPU from the 100 sites
        if "scale" in only:
            log("scale: a hub and %d sites" % args.sites)
            section_scale(bench, args, res)
        log("done")
        report(args, res)
        return 0
    # Its own prefix: a run lasts minutes, and a glob cleaning up after
    # sync_bench (/tmp/lmsync-bench.*) once removed a hub's files mid-run.
    return run_bench("compare_bench", body, cleanups, "COMPARE_BENCH_KEEP",
                     prefix="lmsync-compare.")


if __name__ == "__main__":
    sys.exit(main())
