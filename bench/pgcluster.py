# SPDX-License-Identifier: MIT
"""pgcluster: throwaway PostgreSQL 15 clusters for compare_bench's baselines.

Each PgCluster is a fresh data directory made by initdb under a temporary
directory of its own, started with pg_ctl on 127.0.0.1 at a free port and
stopped and removed by close(), which compare_bench registers as a cleanup
before the cluster is started, so an error or Ctrl-C cannot leave a
postmaster behind. PostgreSQL refuses to run as root: as root (CI, make
check) every server program runs as the user postgres through runuser, and
the temporary directory belongs to that user.

Settings: what initdb ships, plus only what a local logical replication
pair needs: listen_addresses = 127.0.0.1, the port, no Unix socket (nothing
outside the bench can reach the cluster), wal_level = logical. fsync,
synchronous_commit, shared_buffers and checkpoints stay at their shipped
defaults, so a commit at the publisher is durable as an lmsync commit is
(SQLite synchronous=FULL). Authentication is trust: the clusters listen
only on loopback, hold only bench rows and live for one run.

Access from Python is psycopg2 from Debian (python3-psycopg2): psql
subprocesses cost milliseconds each, too slow for polling.
"""

import os
import pwd
import shutil
import subprocess
import tempfile
import time

from lmbench import BenchError, free_port

PG_BIN = "/usr/lib/postgresql/15/bin"


def psycopg2_module():
    """psycopg2, or a BenchError that says how to install it."""
    try:
        import psycopg2
        import psycopg2.extensions
    except ImportError:
        raise BenchError("python3-psycopg2 is missing: run scripts/install-deps "
                         "(or apt-get install python3-psycopg2)")
    return psycopg2


class PgCluster:
    """One PostgreSQL cluster; owned by the caller, who must call close()."""

    def __init__(self, name, bindir=PG_BIN, keep=False):
        for exe in ("initdb", "pg_ctl", "postgres"):
            if not os.access(os.path.join(bindir, exe), os.X_OK):
                raise BenchError("%s/%s not found: PostgreSQL 15 is needed for the "
                                 "baselines (scripts/install-deps installs it)"
                                 % (bindir, exe))
        self.name = name
        self.bindir = bindir
        self.port = None
        self.keep = keep
        self.root = tempfile.mkdtemp(prefix="lmsync-compare-pg-%s." % name, dir="/tmp")
        self.data = os.path.join(self.root, "data")
        self.log = os.path.join(self.root, "server.log")
        self.prefix = []
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise BenchError("running as root, but there is no user postgres to run "
                                 "PostgreSQL as (install the postgresql package)")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            self.prefix = ["runuser", "-u", "postgres", "--"]

    def run(self, *argv, timeout=120):
        cmd = self.prefix + [os.path.join(self.bindir, argv[0])] + list(argv[1:])
        try:
            # cwd: the server programs chdir back to where they were started,
            # which the user postgres may not be allowed to read.
            r = subprocess.run(cmd, cwd=self.root, capture_output=True, text=True,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            raise BenchError("%s timed out after %d s (log: %s)" % (
                " ".join(cmd), timeout, self.log_tail()))
        if r.returncode != 0:
            raise BenchError("%s: exit %d: %s %s" % (
                " ".join(cmd), r.returncode, (r.stderr or r.stdout).strip()[-400:],
                self.log_tail()))
        return r

    def log_tail(self, n=3):
        try:
            with open(self.log, errors="replace") as f:
                return "| server log: " + " | ".join(f.read().splitlines()[-n:])
        except OSError:
            return ""

    def init_and_start(self):
        # C locale: text keys compare bytewise, as SQLite's default BINARY
        # collation does in the lmsync stores.
        self.run("initdb", "-D", self.data, "-U", "postgres", "--auth=trust",
                 "--encoding=UTF8", "--locale=C", "--no-instructions")
        self.port = free_port()
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("\n# compare_bench (bench/pgcluster.py)\n"
                    "listen_addresses = '127.0.0.1'\n"
                    "port = %d\n"
                    "unix_socket_directories = ''\n"
                    "wal_level = logical\n" % self.port)
        self.run("pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "start")

    def conninfo(self, dbname="postgres"):
        return "host=127.0.0.1 port=%d user=postgres dbname=%s" % (self.port, dbname)

    def connect(self, dbname="postgres", autocommit=True):
        psycopg2 = psycopg2_module()
        deadline = time.monotonic() + 30
        while True:
            try:
                c = psycopg2.connect(self.conninfo(dbname), connect_timeout=10)
                break
            except psycopg2.OperationalError as e:
                # pg_ctl -w returns once the postmaster is ready, but a
                # cluster still finishing a checkpoint may refuse briefly.
                if time.monotonic() > deadline:
                    raise BenchError("cannot connect to PostgreSQL %s on port %d: %s %s"
                                     % (self.name, self.port, str(e).strip(),
                                        self.log_tail()))
                time.sleep(0.1)
        c.autocommit = autocommit
        return c

    def close(self):
        """Stop the server (fast, then immediate) and remove its files
        (unless keep)."""
        # postmaster.pid: a server is (or may still be) running, even if
        # pg_ctl start timed out.
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            try:
                self.run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "-t", "30", "stop",
                         timeout=45)
            except BenchError:
                self.run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "-t", "30",
                         "stop", timeout=45)
        if self.keep:
            return
        shutil.rmtree(self.root, ignore_errors=True)
