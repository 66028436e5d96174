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
                 COMMIT call until B holds all N; A -> hub -> B, and A -> B
                 direct.
  2. latency     single-row inserts at A, one at a time, each timed from the
                 call that commits it until the row is visible at B (the
                 call's return is too late a start: SQLite may checkpoint in
                 it after the commit shows; B polled every ~0.2 ms
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
import os
import random
import statistics
import sys
import time

# The shared pieces live beside this file; keep Python from writing
# bytecode into the source tree.
sys.dont_write_bytecode = True
from lmbench import (Bench, all_connected, connect, latency,  # noqa: E402
                     make_row, mib, msgpack, pair, pct, run_bench, throughput,
                     star, verdict, wait_until, INSERT_SQL)


def pair_phase(bench, label, hub, args, rng, key_prefix):
    """A -> hub -> B (hub set) or A -> B (hub None): throughput, latency."""
    a, b, toward = pair(bench, key_prefix, hub)

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
    hub, sites = star(bench, "mhub", ["m%02d" % i for i in range(nsites)])
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
    cleanups = []

    def body(root):
        bench = Bench(build, root)
        cleanups.append(bench.stop_all)
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
    return run_bench("sync_bench", body, cleanups, "SYNC_BENCH_KEEP")


if __name__ == "__main__":
    sys.exit(main())
