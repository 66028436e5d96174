# SPDX-License-Identifier: MIT
"""lmbench: what the benchmarks that drive real lmsyncd daemons share.

sync_bench.py (issue 5) and compare_bench.py (issue 7) both create sites under
a temporary directory, start lmsyncd on 127.0.0.1, write course rows with
Python's sqlite3 (any SQLite client may write a registered table) and poll the
receiving store. This module holds those pieces so the two measure the same
way: the course rows, the Bench class that owns every daemon it starts, the
bounded waits, the throughput and latency measurements, and run_bench, which
turns Ctrl-C and SIGTERM into a clean stop.

Standard library only (Debian's /usr/bin/python3).
"""

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


# Every port handed out in this process, by Bench and by the PostgreSQL
# clusters of compare_bench alike: none is given twice.
_ports_given = set()


def free_port():
    """A port no one listens on, below the kernel's ephemeral range: a
    port the kernel picked (bind to 0) may be handed out again as the
    source port of a site's outgoing connection before its daemon
    listens on it."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for _ in range(1000):
        port = random.randrange(max(1024, low - 12000), low)
        if port in _ports_given:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _ports_given.add(port)
        return port
    raise BenchError("no free port below %d" % low)


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
        return free_port()

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

    def cpu_times(self, *sites):
        """(user, system) CPU seconds the daemons of sites have used so far,
        summed (/proc/PID/stat)."""
        tick = os.sysconf("SC_CLK_TCK")
        user = system = 0
        for s in sites:
            with open("/proc/%d/stat" % self.procs[s].pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            user += int(fields[11])
            system += int(fields[12])
        return user / tick, system / tick

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
    """Write rows at a in one transaction; seconds from the COMMIT call until
    b holds them all, and a's bytes_out toward `toward` over it."""
    since0, s0 = bench.counters(a, bench.ids[toward])
    w = connect(a)
    r = connect(b)
    one = lambda q: r.execute(q).fetchall()[0][0] or 0
    count = lambda: one("SELECT count(*) FROM course")
    base, base_rowid = count(), one("SELECT max(rowid) FROM course")
    w.execute("BEGIN IMMEDIATE")
    w.executemany(INSERT_SQL, rows)
    # From the commit call, not its return: SQLite may checkpoint inside
    # the call after the commit shows (see latency).
    t0 = time.perf_counter()
    w.execute("COMMIT")
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
    """Insert rows at a one at a time; for each, seconds from the call that
    commits it until b sees it. Returns the list and a's bytes_out toward `toward`.

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
        # Timed from the call that commits, as PostgreSQL's are: a commit
        # shows before the call returns, and once the WAL passes 1,000 pages
        # SQLite checkpoints inside the call, after that (0.75 ms); timed
        # from the return, the daemon had that head start.
        t0 = time.perf_counter()
        w.execute(INSERT_SQL, row)  # autocommit: committed when it returns
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


def cpu_busy(interval):
    """The machine's CPU use over interval seconds, 0.0 to 1.0 (/proc/stat)."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return v[3] + v[4], sum(v)  # idle + iowait, all
    i0, t0 = sample()
    time.sleep(interval)
    i1, t1 = sample()
    return 1.0 - (i1 - i0) / max(1, t1 - t0)


def wait_quiet(limit=15.0, busy=0.10, interval=0.25):
    """Wait until the machine is quiet (CPU use under busy over interval),
    at most limit seconds; returns the seconds waited. What one system does
    after a run (PostgreSQL's autovacuum and checkpoints, lmsyncd's
    checkpoints) must not slow the run of the next."""
    t0 = time.monotonic()
    while cpu_busy(interval) > busy and time.monotonic() - t0 < limit:
        pass
    return time.monotonic() - t0


def pct(xs, p):
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, math.ceil(p / 100.0 * len(xs)) - 1))  # nearest rank
    return xs[k]


def median(xs):
    return statistics.median(xs)


def mib(kib):
    return kib / 1024.0


def verdict(ok):
    return "met" if ok else "NOT met"


def run_bench(name, body, cleanups, keep_env, prefix="lmsync-bench."):
    """Run body(root) in a fresh temporary directory /tmp/<prefix>* and return
    its exit code; every function in cleanups (appended to by body as it
    starts things) runs at the end, also on an error or Ctrl-C, newest
    first, and then the directory is removed unless the environment
    variable keep_env is set. BenchError ends the run with exit 1 and its
    message, Ctrl-C or SIGTERM with 130."""
    # Ctrl-C and SIGTERM (ctest's timeout, kill) end the run through the
    # finally below, even when the shell started us with SIGINT ignored.
    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    root = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    try:
        return body(root)
    except BenchError as e:
        print("%s: %s" % (name, e), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("%s: interrupted" % name, file=sys.stderr)
        return 130
    finally:
        # A second Ctrl-C must not cut the cleanup short and leave daemons
        # or database clusters behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for fn in reversed(cleanups):
            try:
                fn()
            except Exception as e:  # one failed cleanup must not skip the rest
                print("%s: cleanup: %s" % (name, e), file=sys.stderr)
        if os.environ.get(keep_env):
            print("%s: kept %s" % (name, root), file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


def star(bench, hub_name, site_names):
    """A hub (without the course table) and one site per name, each a peer
    of the hub and the hub of each; nothing started. Returns (hub, sites)."""
    hub = bench.new_site(hub_name, kind="hub", table=False)
    sites = []
    for name in site_names:
        s = bench.new_site(name)
        bench.peer(s, hub, hub=True)
        bench.peer(hub, s)
        sites.append(s)
    return hub, sites


def pair(bench, prefix, hub):
    """Sites A and B, through hub (or direct if hub is None), running and
    in session; the hub is started here unless it runs already. Returns
    (a, b, toward): toward is the peer A sends to."""
    a = bench.new_site(prefix + "a")
    b = bench.new_site(prefix + "b")
    if hub:
        for s in (a, b):
            bench.peer(s, hub, hub=True)
            bench.peer(hub, s)
        if hub not in bench.procs:
            bench.start(hub)
        toward = hub
    else:
        bench.peer(a, b)
        bench.peer(b, a)
        toward = b
    bench.start(a)
    bench.start(b)
    wait_until("%s: sessions ready" % prefix, 30,
               lambda: all_connected(bench, a, 1) and all_connected(bench, b, 1),
               alive=lambda: bench.check_alive(*([a, b] + ([hub] if hub else []))))
    return a, b, toward
