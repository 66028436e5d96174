#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""sync_bench: how fast, how small and how light sync between lmsyncd daemons is.

The sync benchmarks of issue 5, measured, not asserted: real lmsync and lmsyncd
binaries on 127.0.0.1, every connection Noise-encrypted and every change set
signed (there is no way to turn either off). Everything lives in a temporary
directory that is removed at the end; every daemon started is stopped (SIGTERM,
then SIGKILL), also on Ctrl-C or an error; every wait is bounded.

  1. throughput  N rows of a course table written at A in one transaction (by
                 Python's sqlite3: any SQLite client may write), timed from the
                 commit until B holds all N; A -> hub -> B, and A -> B direct.
  2. latency     single-row inserts at A, one at a time, each timed from its
                 commit until the row is visible at B (B polled every ~0.2 ms
                 on one connection, each poll its own read transaction).
  3. memory      VmRSS of idle daemons: a site connected to its hub, and a hub
                 serving --hub-sites sites (all connected and in step).
  4. wire bytes  bytes_out of A toward its peer (lmsync status --json) over (1)
                 and (2), per row, against the row's own values as a msgpack
                 array.

The issue's targets are printed beside the figures with "met" or "NOT met".

A full run takes about ten minutes on 2 cores, most of it the single changes
(see BENCHMARKS.md, "Sync (issue 5)"); --smoke (500 rows, 20 changes, 3 sites)
takes about 20 s and is the ctest test sync_bench_smoke.

Usage: /usr/bin/python3 bench/sync_bench.py [--build DIR] [--rows N]
           [--latency-changes N] [--hub-sites N] [--smoke] [--log-level L]
SYNC_BENCH_KEEP=1 keeps the temporary directory (and the daemons' logs).
"""

import argparse
import json
import math
import os
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

# ---- rows ---------------------------------------------------------------

TITLES = [
    "Mestringstreff for voksne", "KOLS-skole", "Diabeteskurs type 2",
    "Hjertekurs for nyopererte", "Lær å leve med langvarige smerter",
    "Pårørendeskole demens", "Kurs i mestring av depresjon (KiD)",
    "Bra mat for bedre helse", "Røykesluttkurs", "Søvnskole",
    "Kurs for personer med MS", "Revmatismeskole",
    "Pust og bevegelse etter kreftbehandling", "Astmaskole for foreldre",
    "Epilepsiskolen", "Leve med hørselstap", "Foreldreveiledning ICDP",
    "Mestringskurs for ungdom med angst", "Trening i vann for eldre",
    "Fallforebyggende trening", "Hjerneslag: livet etterpå", "Parkinsonskolen",
    "Samtalegruppe for etterlatte",
]
SUFFIXES = ["", "", " – høsten 2026", " (Molde)", " – gruppe 2",
            " for nye deltakere", " (digitalt)"]
SENTENCES = [
    "Kurset er for deg som lever med en langvarig sykdom og ønsker å lære mer "
    "om hvordan du kan mestre hverdagen.",
    "Du møter andre i samme situasjon og får dele erfaringer i en trygg gruppe.",
    "Undervisningen ledes av sykepleier, fysioterapeut og en erfaringskonsulent.",
    "Vi snakker om kosthold, fysisk aktivitet, søvn og hvordan du kan ta vare "
    "på deg selv.",
    "Pårørende er hjertelig velkomne til å delta på alle samlingene.",
    "Kurset går over fire kvelder, med en kort pause og servering av kaffe og frukt.",
    "Det er ingen egenandel, men du må melde deg på innen fristen.",
    "Ta kontakt med Frisklivssentralen dersom du har spørsmål eller trenger "
    "tilrettelegging.",
    "Samlingene holdes i lokaler med heis og teleslynge.",
    "Etter kurset får du tilbud om en oppfølgingssamtale etter tre måneder.",
    "Målet er at du skal kjenne deg tryggere på egen helse og vite hvor du kan "
    "få hjelp.",
    "Husk å ta med behagelige klær og innesko til treningsøkten.",
    "Tolk kan bestilles ved behov; gi beskjed ved påmelding.",
]
VENUES = [
    "Molde sjukehus, Parkvegen 84, 6412 Molde",
    "Frisklivssentralen, Rådhuset 2. etasje, Kristiansund",
    "Ålesund sjukehus, Åsehaugen 5, møterom Hjelmen",
    "Volda helsesenter, Løkjegata 4", "Kulturhuset i Sunndalsøra, sal B",
    "Digitalt møterom (lenke sendes ut etter påmelding)",
    "Lærings- og mestringssenteret, Helse Møre og Romsdal",
]
TARGETS = [
    "Voksne med type 2-diabetes og deres pårørende",
    "Personer med KOLS i alle stadier", "Ungdom mellom 16 og 23 år",
    "Pårørende til personer med demens", "Eldre over 67 år som bor hjemme",
]
# Open scopes (no @ROOT): every configured peer receives them.
SCOPES = ["molde", "kristiansund", "alesund", "volda", "sunndal", "surnadal",
          "orsta", "aukra"]

COURSE_SQL = (
    "CREATE TABLE course (id TEXT PRIMARY KEY NOT NULL, scope TEXT NOT NULL DEFAULT '', "
    "title TEXT, description TEXT, venue TEXT, target TEXT, "
    "seats INTEGER NOT NULL DEFAULT 0, starts TEXT, weeks INTEGER)")
COLUMNS = ["id", "scope", "title", "description", "venue", "target", "seats",
           "starts", "weeks"]
INSERT_SQL = "INSERT INTO course(%s) VALUES (%s)" % (
    ", ".join(COLUMNS), ", ".join("?" * len(COLUMNS)))


def make_row(rng, key):
    target = rng.randint(200, 600)  # bytes of UTF-8
    desc, size = [], 0
    while size < target:
        s = rng.choice(SENTENCES)
        n = len(s.encode()) + (1 if desc else 0)
        if desc and size + n > 600:
            break
        desc.append(s)
        size += n
    return (key, rng.choice(SCOPES), rng.choice(TITLES) + rng.choice(SUFFIXES),
            " ".join(desc), rng.choice(VENUES), rng.choice(TARGETS),
            rng.randint(6, 30),
            "2026-%02d-%02dT%02d:00" % (rng.randint(1, 12), rng.randint(1, 28),
                                        rng.randint(9, 19)),
            rng.randint(1, 8))


def msgpack(v):
    """A minimal msgpack encoder for str, int, None and lists of them."""
    if v is None:
        return b"\xc0"
    if isinstance(v, list) or isinstance(v, tuple):
        n = len(v)
        head = (bytes([0x90 | n]) if n < 16 else
                b"\xdc" + n.to_bytes(2, "big") if n < 65536 else
                b"\xdd" + n.to_bytes(4, "big"))
        return head + b"".join(msgpack(x) for x in v)
    if isinstance(v, int):
        if 0 <= v < 128:
            return bytes([v])
        if -32 <= v < 0:
            return (v & 0xFF).to_bytes(1, "big")
        for lo, hi, tag, n in ((0, 0xFF, 0xCC, 1), (0, 0xFFFF, 0xCD, 2),
                               (0, 0xFFFFFFFF, 0xCE, 4), (-128, 127, 0xD0, 1),
                               (-32768, 32767, 0xD1, 2),
                               (-2**31, 2**31 - 1, 0xD2, 4)):
            if lo <= v <= hi:
                return bytes([tag]) + v.to_bytes(n, "big", signed=lo < 0)
        return (b"\xcf" + v.to_bytes(8, "big") if v > 0 else
                b"\xd3" + v.to_bytes(8, "big", signed=True))
    b = v.encode()
    n = len(b)
    if n < 32:
        return bytes([0xA0 | n]) + b
    if n < 256:
        return b"\xd9" + bytes([n]) + b
    if n < 65536:
        return b"\xda" + n.to_bytes(2, "big") + b
    return b"\xdb" + n.to_bytes(4, "big") + b


# ---- processes and sites ------------------------------------------------


class BenchError(Exception):
    pass


class Bench:
    def __init__(self, build, root):
        self.lmsync = os.path.join(build, "cli", "lmsync")
        self.lmsyncd = os.path.join(build, "daemon", "lmsyncd")
        for exe in (self.lmsync, self.lmsyncd):
            if not os.access(exe, os.X_OK):
                raise BenchError("%s not found: build first (cmake --build %s)"
                                 % (exe, build))
        self.root = root
        self.procs = {}  # site dir -> Popen
        self.ids = {}
        self.ports = {}
        self.log_level = "info"

    def lm(self, site, *args, check=True, timeout=60):
        try:
            r = subprocess.run([self.lmsync, "-d", site] + list(args),
                               capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise BenchError("lmsync %s timed out after %d s" % (" ".join(args), timeout))
        if check and r.returncode != 0:
            raise BenchError("lmsync -d %s %s: exit %d: %s" % (
                site, " ".join(args), r.returncode, (r.stderr or r.stdout).strip()))
        return r

    def free_port(self):
        """A port no one listens on, below the kernel's ephemeral range: a
        port the kernel picked (bind to 0) may be handed out again as the
        source port of a site's outgoing connection before its daemon
        listens on it."""
        try:
            with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
                low = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            low = 32768
        taken = set(self.ports.values())
        for _ in range(1000):
            port = random.randrange(max(1024, low - 12000), low)
            if port in taken:
                continue
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
        raise BenchError("no free port below %d" % low)

    def new_site(self, name, kind="kommune", table=True):
        d = os.path.join(self.root, name)
        port = self.free_port()
        self.lm(d, "init", "--name", name, "--kind", kind, "--listen",
                "127.0.0.1:%d" % port)
        self.ports[d] = port
        self.ids[d] = self.lm(d, "id").stdout.strip()
        if table:
            db = sqlite3.connect(os.path.join(d, "store.db"), timeout=10)
            db.execute(COURSE_SQL)
            db.commit()
            db.close()
            self.lm(d, "table", "register", "course", "--key", "id", "--scope",
                    "scope", "--policy", "scope")
        return d

    def peer(self, site, other, hub=False):
        args = ["peer", "add", self.ids[other], "--addr",
                "127.0.0.1:%d" % self.ports[other], "--name",
                os.path.basename(other)]
        self.lm(site, *(args + (["--hub"] if hub else [])))

    def start(self, site, wait=True):
        log = open(os.path.join(site, "daemon.log"), "ab")
        try:
            p = subprocess.Popen([self.lmsyncd, "-d", site, "--log-level", self.log_level],
                                 stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        finally:
            log.close()
        self.procs[site] = p
        if wait:
            self.wait_ready(site)
        return p

    def wait_ready(self, site, timeout=15):
        p = self.procs[site]
        deadline = time.monotonic() + timeout
        while True:
            if p.poll() is not None:
                raise BenchError("lmsyncd in %s exited with %s at start: %s" % (
                    site, p.returncode, self.log_tail(site)))
            if self.lm(site, "status", check=False, timeout=10).returncode == 0:
                return
            if time.monotonic() > deadline:
                raise BenchError("lmsyncd in %s did not answer status within %d s"
                                 % (site, timeout))
            time.sleep(0.05)

    def log_tail(self, site, n=3):
        try:
            with open(os.path.join(site, "daemon.log"), errors="replace") as f:
                return " | ".join(f.read().splitlines()[-n:])
        except OSError:
            return "(no log)"

    def stop(self, site):
        p = self.procs.pop(site, None)
        if p is None or p.poll() is not None:
            return
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)

    def stop_all(self):
        # Only the processes this script started, by their own Popen handles.
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        for p in self.procs.values():
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    pass
        self.procs.clear()

    def status(self, site):
        return json.loads(self.lm(site, "status", "--json").stdout)

    def counters(self, site, peer_id):
        """(since, sync map) of the session toward peer_id."""
        since, sync = peer_sync(self.status(site), peer_id)
        if "bytes_out" not in sync:
            raise BenchError("`lmsync status --json` of %s has no bytes_out: "
                             "lmsync too old?" % site)
        return since, sync

    def rss_kib(self, site):
        with open("/proc/%d/status" % self.procs[site].pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise BenchError("no VmRSS for %s" % site)

    def check_alive(self, *sites):
        for s in sites:
            p = self.procs[s]
            if p.poll() is not None:
                raise BenchError("lmsyncd in %s died (exit %s): %s" % (
                    s, p.returncode, self.log_tail(s)))


def wait_until(what, timeout, pred, interval=0.05, alive=None):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if alive:
            alive()
        if time.monotonic() > deadline:
            raise BenchError("timed out after %g s waiting for %s" % (timeout, what))
        time.sleep(interval)


def connect(site):
    # Autocommit: every statement is its own transaction, so each poll reads
    # the newest snapshot.
    db = sqlite3.connect(os.path.join(site, "store.db"), timeout=30,
                         isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA busy_timeout = 30000")
    return db


def peer_sync(status, peer_id):
    for p in status["peers"]:
        if p["id"] == peer_id:
            if not p["connected"] or not p.get("sync"):
                raise BenchError("peer %s not connected (last error: %s)"
                                 % (p.get("name"), p.get("last_error")))
            return p["since"], p["sync"]
    raise BenchError("peer %s not in status" % peer_id)


def all_connected(bench, site, n):
    st = bench.status(site)
    return sum(1 for p in st["peers"] if p["connected"] and p.get("sync")
               and p["sync"].get("ready")) >= n


# ---- the measurements ---------------------------------------------------


def throughput(bench, a, b, toward, rows, timeout):
    """Write rows at a in one transaction; seconds from the commit until b
    holds them all, and a's bytes_out toward `toward` over it."""
    since0, s0 = bench.counters(a, bench.ids[toward])
    w = connect(a)
    r = connect(b)
    one = lambda q: r.execute(q).fetchall()[0][0] or 0
    count = lambda: one("SELECT count(*) FROM course")
    base, base_rowid = count(), one("SELECT max(rowid) FROM course")
    w.execute("BEGIN IMMEDIATE")
    w.executemany(INSERT_SQL, rows)
    w.execute("COMMIT")
    t0 = time.perf_counter()
    want = base + len(rows)
    version, have, first = None, 0, None
    deadline = time.monotonic() + timeout

    # Every 2 ms, when b's store has changed (data_version): max(rowid), a
    # B-tree descent, tells how many rows b has added; only once that says
    # all, count(*) (a scan of the key index) confirms.
    while True:
        v = one("PRAGMA data_version")
        if v != version:
            version = v
            got = one("SELECT max(rowid) FROM course") - base_rowid
            if got > 0 and first is None:
                first = time.perf_counter() - t0
            if got >= len(rows):
                have = count()
                if have >= want:
                    break
        if time.monotonic() > deadline:
            raise BenchError("throughput: %s holds %d of %d rows after %d s" % (
                os.path.basename(b), count() - base, len(rows), timeout))
        bench.check_alive(a, b, toward)
        time.sleep(0.002)
    dt = time.perf_counter() - t0
    w.close()
    r.close()
    since1, s1 = bench.counters(a, bench.ids[toward])
    if since1 != since0:
        raise BenchError("the connection from %s to %s was re-established "
                         "during the run; bytes_out are not comparable"
                         % (a, toward))
    return dt, first, s1["bytes_out"] - s0["bytes_out"]


def latency(bench, a, b, toward, rows, nudge=False, timeout=10):
    """Insert rows at a one at a time; for each, seconds from its commit
    until b sees it. Returns the list and a's bytes_out toward `toward`.

    nudge: after each commit, touch a's -wal file (utime), so that a's
    daemon gets one more inotify event, after the commit is visible. Not
    what a writer does: against the plain run it shows how long the daemon
    takes to notice another writer's commit (250 ms, its tick, before
    59bbb21; see "Sync (issue 5)" in BENCHMARKS.md)."""
    since0, s0 = bench.counters(a, bench.ids[toward])
    w = connect(a)
    r = connect(b)
    wal = os.path.join(a, "store.db-wal")
    times = []
    for i, row in enumerate(rows):
        w.execute(INSERT_SQL, row)  # autocommit: committed when it returns
        t0 = time.perf_counter()
        if nudge:
            os.utime(wal)
        deadline = t0 + timeout
        # fetchall() runs the statement to its end, so no read transaction
        # (and no old WAL snapshot) outlives a poll.
        while not r.execute("SELECT 1 FROM course WHERE id = ?", (row[0],)).fetchall():
            if time.perf_counter() > deadline:
                bench.check_alive(a, b, toward)
                raise BenchError("latency: change %d not at %s after %d s"
                                 % (i, os.path.basename(b), timeout))
            time.sleep(0.0002)
        times.append(time.perf_counter() - t0)
    w.close()
    r.close()
    since1, s1 = bench.counters(a, bench.ids[toward])
    if since1 != since0:
        raise BenchError("the connection from %s to %s was re-established "
                         "during the run" % (a, toward))
    return times, s1["bytes_out"] - s0["bytes_out"]


def pct(xs, p):
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, math.ceil(p / 100.0 * len(xs)) - 1))  # nearest rank
    return xs[k]


def pair_phase(bench, label, hub, args, rng, key_prefix):
    """A -> hub -> B (hub set) or A -> B (hub None): throughput, latency."""
    a = bench.new_site(key_prefix + "a")
    b = bench.new_site(key_prefix + "b")
    if hub:
        for s in (a, b):
            bench.peer(s, hub, hub=True)
            bench.peer(hub, s)
        bench.start(hub)
        toward = hub
    else:
        bench.peer(a, b)
        bench.peer(b, a)
        toward = b
    bench.start(a)
    bench.start(b)
    wait_until("%s: sessions ready" % label, 30,
               lambda: all_connected(bench, a, 1) and all_connected(bench, b, 1),
               alive=lambda: bench.check_alive(*([a, b] + ([hub] if hub else []))))

    rows = [make_row(rng, "%s-kurs-%07d" % (key_prefix, i)) for i in range(args.rows)]
    changes = [make_row(rng, "%s-endring-%05d" % (key_prefix, i))
               for i in range(args.latency_changes)]
    nudged = [make_row(rng, "%s-dytt-%05d" % (key_prefix, i))
              for i in range(args.latency_changes)]
    tp_timeout = max(120, args.rows / 250)
    dt, first, tp_bytes = throughput(bench, a, b, toward, rows, tp_timeout)
    bench.lm(a, "sync", "--wait", "--timeout", "120", timeout=150)
    bench.lm(b, "sync", "--wait", "--timeout", "120", timeout=150)
    time.sleep(0.5)
    lat, lat_bytes = latency(bench, a, b, toward, changes)
    time.sleep(0.5)
    latn, _ = latency(bench, a, b, toward, nudged, nudge=True)
    res = {
        "rows_per_s": args.rows / dt, "seconds": dt, "first": first,
        "bytes_batched": tp_bytes / args.rows,
        "bytes_single": lat_bytes / args.latency_changes,
        "p50": pct(lat, 50) * 1e3, "p99": pct(lat, 99) * 1e3, "max": max(lat) * 1e3,
        "mean": statistics.mean(lat) * 1e3,
        "p50n": pct(latn, 50) * 1e3, "p99n": pct(latn, 99) * 1e3,
        "maxn": max(latn) * 1e3,
        "msgpack_batched": statistics.mean(len(msgpack(list(x))) for x in rows),
        "msgpack_single": statistics.mean(len(msgpack(list(x))) for x in changes),
    }
    # An idle site connected to its hub, after sync: idle 2 s, then RSS.
    if hub:
        bench.lm(a, "sync", "--wait", "--timeout", "60", timeout=90)
        time.sleep(2)
        res["rss_site_after"] = bench.rss_kib(a)
        res["rss_hub_after"] = bench.rss_kib(hub)
    for s in (a, b):
        bench.stop(s)
    if hub:
        bench.stop(hub)
    return res


def hub_memory(bench, nsites, rows_each, rng):
    hub = bench.new_site("mhub", kind="hub", table=False)
    sites = []
    for i in range(nsites):
        s = bench.new_site("m%02d" % i)
        bench.peer(s, hub, hub=True)
        bench.peer(hub, s)
        sites.append(s)
    bench.start(hub)
    time.sleep(1)
    rss_hub_alone = bench.rss_kib(hub)
    for s in sites:  # staggered: no thundering herd of handshakes
        bench.start(s, wait=False)
        time.sleep(0.05)
    alive = lambda: bench.check_alive(hub, *sites)
    wait_until("all %d sites connected to the hub" % nsites, 60 + nsites,
               lambda: all_connected(bench, hub, nsites), interval=0.25, alive=alive)
    for i, s in enumerate(sites):
        db = connect(s)
        db.execute("BEGIN IMMEDIATE")
        db.executemany(INSERT_SQL, [make_row(rng, "m%02d-kurs-%d" % (i, j))
                                    for j in range(rows_each)])
        db.execute("COMMIT")
        db.close()
    total = nsites * rows_each

    def everywhere():
        for s in sites:
            db = connect(s)
            n = db.execute("SELECT count(*) FROM course").fetchall()[0][0]
            db.close()
            if n < total:
                return False
        return True
    wait_until("every site holding all %d rows" % total, 60 + 2 * nsites,
               everywhere, interval=0.25, alive=alive)
    bench.lm(hub, "sync", "--wait", "--timeout", "120", timeout=150)
    time.sleep(2)
    site_rss = [bench.rss_kib(s) for s in sites]
    res = {"rss_hub": bench.rss_kib(hub), "rss_hub_alone": rss_hub_alone,
           "rss_site_median": statistics.median(site_rss), "rss_site_max": max(site_rss),
           "rss_site_min": min(site_rss)}
    bench.stop_all()
    return res


# ---- report -------------------------------------------------------------


def mib(kib):
    return kib / 1024.0


def verdict(ok):
    return "met" if ok else "NOT met"


def report(args, hub, direct, mem):
    lines = []
    add = lines.append
    add("lmsync sync bench: %d rows batched, %d single changes, %d sites on a hub; "
        "loopback, Noise + Ed25519" % (args.rows, args.latency_changes, args.hub_sites))
    add("")
    fmt = "| %-34s | %12s | %12s | %-26s |"
    add(fmt % ("measure", "via hub", "direct", "target (issue 5)"))
    add("|%s|%s:|%s:|%s|" % ("-" * 36, "-" * 13, "-" * 13, "-" * 28))
    tp_ok = hub["rows_per_s"] >= 50000
    add(fmt % ("throughput, rows/s", "{:,.0f}".format(hub["rows_per_s"]),
               "{:,.0f}".format(direct["rows_per_s"]),
               ">= 50,000 via hub: " + verdict(tp_ok)))
    add(fmt % ("  seconds, commit to all at B", "%.2f" % hub["seconds"],
               "%.2f" % direct["seconds"], ""))
    add(fmt % ("  seconds, commit to first at B", "%.2f" % hub["first"],
               "%.2f" % direct["first"], ""))
    add(fmt % ("  hub / direct", "%.2f" % (hub["rows_per_s"] / direct["rows_per_s"]), "", ""))
    for k, label in (("p50", "single change, p50 ms"), ("p99", "single change, p99 ms"),
                     ("max", "single change, max ms"), ("mean", "single change, mean ms")):
        tgt = "< 10 ms via hub: " + verdict(hub["p99"] < 10) if k == "p99" else ""
        add(fmt % (label, "%.2f" % hub[k], "%.2f" % direct[k], tgt))
    for k, label in (("p50n", "  WAL nudged after commit, p50 ms"),
                     ("p99n", "  WAL nudged after commit, p99 ms"),
                     ("maxn", "  WAL nudged after commit, max ms")):
        add(fmt % (label, "%.2f" % hub[k], "%.2f" % direct[k], ""))
    add(fmt % ("row as msgpack array, bytes", "%.0f" % hub["msgpack_batched"],
               "%.0f" % direct["msgpack_batched"], ""))
    add(fmt % ("wire bytes per row, batched", "%.0f" % hub["bytes_batched"],
               "%.0f" % direct["bytes_batched"], ""))
    rb = hub["bytes_batched"] / hub["msgpack_batched"]
    add(fmt % ("  wire / msgpack, batched", "%.2fx" % rb,
               "%.2fx" % (direct["bytes_batched"] / direct["msgpack_batched"]),
               "< 1.5x: " + verdict(rb < 1.5)))
    add(fmt % ("wire bytes per row, single", "%.0f" % hub["bytes_single"],
               "%.0f" % direct["bytes_single"], ""))
    add(fmt % ("  wire / msgpack, single", "%.2fx" % (hub["bytes_single"] / hub["msgpack_single"]),
               "%.2fx" % (direct["bytes_single"] / direct["msgpack_single"]), ""))
    idle = mem["rss_site_max"]
    add(fmt % ("RSS idle site, MiB (median, max)", "%.1f, %.1f" % (
        mib(mem["rss_site_median"]), mib(idle)), "",
        "< 16 MiB: " + verdict(mib(idle) < 16)))
    add(fmt % ("RSS site A after the runs, MiB", "%.1f" % mib(hub["rss_site_after"]), "",
               "< 16 MiB: " + verdict(mib(hub["rss_site_after"]) < 16)))
    add(fmt % ("RSS hub, %d sites, MiB" % args.hub_sites, "%.1f" % mib(mem["rss_hub"]), "", ""))
    add(fmt % ("RSS hub, no site yet, MiB", "%.1f" % mib(mem["rss_hub_alone"]), "", ""))
    add(fmt % ("RSS hub after the runs, MiB", "%.1f" % mib(hub["rss_hub_after"]), "", ""))
    add("")
    add("The hub has no course table: it verifies, logs and forwards the change sets "
        "(relay mode of a site of kind hub).")
    add("WAL nudged: the bench touches A's store.db-wal after each commit, one more inotify "
        "event once the commit shows; plain minus nudged is what noticing a commit costs.")
    print("\n".join(lines), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--build", default=os.path.join(os.path.dirname(here), "build"))
    ap.add_argument("--rows", type=int, default=100000)
    ap.add_argument("--latency-changes", type=int, default=1000)
    ap.add_argument("--hub-sites", type=int, default=50)
    ap.add_argument("--log-level", default="info",
                    help="lmsyncd's --log-level (debug to investigate); logs are "
                    "in each site's daemon.log, kept with SYNC_BENCH_KEEP=1")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny sizes (500 rows, 20 changes, 3 sites), for ctest")
    args = ap.parse_args()
    if args.smoke:
        args.rows, args.latency_changes, args.hub_sites = 500, 20, 3
    if args.rows < 1 or args.latency_changes < 1 or args.hub_sites < 1:
        ap.error("sizes must be at least 1")
    build = os.path.abspath(args.build)

    # Ctrl-C and SIGTERM (ctest's timeout, kill) end the run through the
    # finally below, even when the shell started us with SIGINT ignored.
    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    root = tempfile.mkdtemp(prefix="lmsync-bench.", dir="/tmp")
    bench = None
    try:
        bench = Bench(build, root)
        bench.log_level = args.log_level
        rng = random.Random(5)
        t = time.monotonic()
        hub = bench.new_site("hub", kind="hub", table=False)
        log = lambda m: print("[%6.1f s] %s" % (time.monotonic() - t, m), file=sys.stderr,
                              flush=True)
        log("A -> hub -> B")
        via_hub = pair_phase(bench, "via hub", hub, args, rng, "h")
        log("A -> B direct")
        direct = pair_phase(bench, "direct", None, args, rng, "d")
        log("hub with %d sites" % args.hub_sites)
        mem = hub_memory(bench, args.hub_sites, 5, rng)
        log("done")
        report(args, via_hub, direct, mem)
        return 0
    except BenchError as e:
        print("sync_bench: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sync_bench: interrupted", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if bench:
            bench.stop_all()
        if os.environ.get("SYNC_BENCH_KEEP"):
            print("sync_bench: kept %s" % root, file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
