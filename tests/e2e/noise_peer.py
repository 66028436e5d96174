#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""An independent lmsync peer for the end-to-end tests.

It speaks docs/PROTOCOL.md with none of lmsync's C code: the Noise handshake
and transport come from dissononce (Noise_XX_25519_ChaChaPoly_BLAKE2b, prologue
"lmsync/1"), the key conversion from libsodium through PyNaCl, the messages
from msgpack. So a test that passes with it shows that lmsyncd talks the
documented protocol, not just to itself.

Besides a well-behaved peer (`connect`) it has the attacks the transport tests
throw at a daemon. Every subcommand prints one JSON line saying what happened
and is bounded in time: socket operations time out (--timeout, 10 s by
default) and a whole run is cut off shortly after that.

Exit codes:
  connect       0 the daemon's hello arrived (and names the expected site and
                  the key that ran the handshake), 3 the daemon sent an error
                  message, 1 anything else
  attacks       0 the daemon closed the connection without completing a
                  session (what a correct daemon does), 1 it did not
  hold, keygen  0 the run went through, 1 it did not
  2 usage errors

Run it with /usr/bin/python3 (it needs python3-dissononce, python3-nacl and
python3-msgpack).
"""
import argparse
import json
import math
import os
import select
import signal
import socket
import struct
import sys
import time

import msgpack
import nacl.bindings as sodium
from dissononce.cipher.chachapoly import ChaChaPolyCipher
from dissononce.dh.x25519.private import PrivateKey
from dissononce.dh.x25519.x25519 import X25519DH
from dissononce.exceptions.decrypt import DecryptFailedException
from dissononce.extras.dh.dangerous.dh_nogen import NoGenDH
from dissononce.hash.blake2b import Blake2bHash
from dissononce.processing.handshakepatterns.interactive.XX import XXHandshakePattern
from dissononce.processing.impl.cipherstate import CipherState
from dissononce.processing.impl.handshakestate import HandshakeState
from dissononce.processing.impl.symmetricstate import SymmetricState

PROLOGUE = b"lmsync/1"
PROTOCOL = 1
SOFTWARE = "noise_peer.py"


class Closed(Exception):
    """The daemon ended the connection (EOF or reset)."""

    def __init__(self, how):
        super().__init__(how)
        self.how = how


def emit(obj):
    print(json.dumps(obj, sort_keys=True), flush=True)


# ---- keys -----------------------------------------------------------------


def load_key(key_dir):
    """(ed25519 public key, X25519 key pair) from KEY_DIR/key."""
    with open(os.path.join(key_dir, "key")) as f:
        seed = bytes.fromhex(f.read().strip())
    pk, sk = sodium.crypto_sign_seed_keypair(seed)
    x_priv = sodium.crypto_sign_ed25519_sk_to_curve25519(sk)
    x_pub = sodium.crypto_sign_ed25519_pk_to_curve25519(pk)
    kp = X25519DH().generate_keypair(PrivateKey(x_priv))
    if kp.public.data != x_pub:
        raise SystemExit("key conversion is inconsistent: X25519(sk) != pk_to_curve25519(pk)")
    return pk, kp


def static_key(args):
    """The configured key if --key was given, else a fresh random one."""
    if getattr(args, "key", None):
        return load_key(args.key)
    return None, X25519DH().generate_keypair()


def x25519_of(site):
    try:
        return sodium.crypto_sign_ed25519_pk_to_curve25519(bytes(site))
    except Exception:  # not a point on the curve, wrong length, ...
        return None


# ---- connection and framing -----------------------------------------------


def parse_addr(text):
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise SystemExit("address must be HOST:PORT, not %r" % text)
    return host.strip("[]"), int(port)


class Conn:
    def __init__(self, addr, timeout):
        self.timeout = timeout
        self.sock = socket.create_connection(addr, timeout=timeout)
        self.t0 = time.monotonic()
        self.local = "%s:%d" % self.sock.getsockname()[:2]
        self.buf = b""

    def elapsed(self):
        return round(time.monotonic() - self.t0, 3)

    def send(self, data):
        self.sock.sendall(data)

    def send_frame(self, body):
        self.sock.sendall(struct.pack(">H", len(body)) + bytes(body))

    def shutdown_write(self):
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def _fill(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("timed out")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                raise Closed("reset")
            if not data:
                raise Closed("eof")
            self.buf += data

    def recv_frame(self, timeout=None):
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        self._fill(2, deadline)
        (n,) = struct.unpack(">H", self.buf[:2])
        self._fill(2 + n, deadline)
        frame, self.buf = self.buf[2 : 2 + n], self.buf[2 + n :]
        return frame

    def wait_closed(self, timeout=None):
        """Read and drop everything until the daemon closes. Returns a dict:
        closed_by_daemon, how (eof/reset), after_s (since connect), bytes_received."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        got = len(self.buf)
        self.buf = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return {"closed_by_daemon": False, "after_s": None, "bytes_received": got}
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                how = "reset"
                break
            except socket.timeout:
                continue
            if not data:
                how = "eof"
                break
            got += len(data)
        return {"closed_by_daemon": True, "how": how, "after_s": self.elapsed(), "bytes_received": got}

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---- Noise ------------------------------------------------------------------


def new_symmetric():
    return SymmetricState(CipherState(ChaChaPolyCipher()), Blake2bHash())


def new_handshake(prologue, s, dh=None, symmetric=None, initiator=True):
    hs = HandshakeState(symmetric or new_symmetric(), dh or X25519DH())
    hs.initialize(XXHandshakePattern(), initiator, prologue, s=s)
    return hs


class Session:
    """A Noise transport session, initiator side."""

    def __init__(self, conn, tx, rx, rs):
        self.conn, self.tx, self.rx, self.rs = conn, tx, rx, rs

    def send(self, msg):
        self.conn.send_frame(self.tx.encrypt_with_ad(b"", msgpack.packb(msg, use_bin_type=True)))

    def recv(self, timeout=None):
        frame = self.conn.recv_frame(timeout)
        plain = self.rx.decrypt_with_ad(b"", frame)
        return msgpack.unpackb(plain, raw=False, strict_map_key=False)


def handshake(conn, kp, prologue=PROLOGUE):
    """Run XX as initiator. Returns (Session, [message 1, message 3])."""
    hs = new_handshake(prologue, kp)
    m1 = bytearray()
    hs.write_message(b"", m1)
    conn.send_frame(m1)
    hs.read_message(conn.recv_frame(), bytearray())
    m3 = bytearray()
    tx, rx = hs.write_message(b"", m3)
    conn.send_frame(m3)
    return Session(conn, tx, rx, hs.rs.data), [bytes(m1), bytes(m3)]


# ---- connect ----------------------------------------------------------------


def hello_message(site, protocol):
    return ["hello", {"site": site, "software": SOFTWARE, "protocol": protocol, "schema": 1}]


def cmd_connect(args):
    site, kp = load_key(args.key)
    out = {
        "mode": "connect",
        "handshake": False,
        "hello": None,
        "error": None,
        "accepted": False,
        "site_matches_key": None,
        "site_matches_expected": None,
        "pings_answered": 0,
        "closed_by_daemon": False,
    }
    conn = None
    try:
        conn = Conn(parse_addr(args.addr), args.timeout)
        out["local"] = conn.local
        session, _ = handshake(conn, kp)
        out["handshake"] = True
        session.send(hello_message(site, args.protocol))
        # The daemon sends its hello after the handshake (to a configured
        # peer), then, once it accepted ours, a ping; or an error message.
        stay_until = None
        while True:
            timeout = None
            if stay_until is not None:
                timeout = stay_until - time.monotonic()
                if timeout <= 0:
                    break
            try:
                msg = session.recv(timeout)
            except socket.timeout:
                if stay_until is not None:
                    break
                raise
            if not isinstance(msg, list) or not msg or not isinstance(msg[0], str):
                out["bad_message"] = repr(msg)[:200]
                break
            if msg[0] == "hello" and out["hello"] is None:
                h = msg[1] if len(msg) > 1 and isinstance(msg[1], dict) else {}
                s = h.get("site")
                out["hello"] = {
                    "site": s.hex() if isinstance(s, bytes) else repr(s),
                    "software": h.get("software"),
                    "protocol": h.get("protocol"),
                    "schema": h.get("schema"),
                }
                out["site_matches_key"] = isinstance(s, bytes) and x25519_of(s) == session.rs
                if args.expect_site:
                    out["site_matches_expected"] = isinstance(s, bytes) and s.hex() == args.expect_site.lower()
            elif msg[0] == "error":
                out["error"] = {
                    "code": msg[1] if len(msg) > 1 else None,
                    "text": msg[2] if len(msg) > 2 else None,
                }
            elif msg[0] == "ping" and len(msg) > 1:
                session.send(["pong", msg[1]])
                out["pings_answered"] += 1
                if out["hello"] is not None and not out["accepted"]:
                    out["accepted"] = True
                    stay_until = time.monotonic() + args.stay
    except Closed as e:
        out["closed_by_daemon"] = True
        out["how"] = e.how
    except Exception as e:  # a timeout, a failed decryption, a malformed reply
        out["failure"] = "%s: %s" % (type(e).__name__, e)
    finally:
        if conn:
            out["after_s"] = conn.elapsed()
            conn.close()
    emit(out)
    if out["error"] is not None:
        return 3
    ok = (
        out["hello"] is not None
        and out["site_matches_key"] is True
        and out["site_matches_expected"] is not False
    )
    return 0 if ok else 1


# ---- attacks ----------------------------------------------------------------


def finish(out, conn, closed):
    out.update(closed)
    out["local"] = conn.local
    conn.close()
    emit(out)
    return 0 if out["closed_by_daemon"] and not out.get("completed") else 1


def cmd_garbage(args):
    conn = Conn(parse_addr(args.addr), args.timeout)
    data = os.urandom(args.bytes)
    conn.send(data)
    conn.shutdown_write()
    out = {"mode": "garbage", "sent": len(data), "head": data[:8].hex()}
    return finish(out, conn, conn.wait_closed())


def cmd_truncated(args):
    conn = Conn(parse_addr(args.addr), args.timeout)
    conn.send(struct.pack(">H", 96) + os.urandom(10))
    conn.shutdown_write()
    return finish({"mode": "truncated", "announced": 96, "sent": 10}, conn, conn.wait_closed())


def cmd_zero_length(args):
    conn = Conn(parse_addr(args.addr), args.timeout)
    conn.send(b"\x00\x00")
    return finish({"mode": "zero-length"}, conn, conn.wait_closed())


class RecordingSymmetric(SymmetricState):
    """Keeps what it decrypts, for ForgingSymmetric."""

    def __init__(self):
        super().__init__(CipherState(ChaChaPolyCipher()), Blake2bHash())
        self.plaintexts = []

    def decrypt_and_hash(self, ciphertext):
        plain = super().decrypt_and_hash(ciphertext)
        self.plaintexts.append(plain)
        return plain


class ForgingSymmetric(SymmetricState):
    """A symmetric state that, where the tag does not verify, takes the
    plaintext another state (same keys, other prologue) got and goes on as if
    it had decrypted it: so a handshake with a wrong prologue can be completed
    from the initiator's side, and the daemon is the one that must notice."""

    def __init__(self, plaintexts):
        super().__init__(CipherState(ChaChaPolyCipher()), Blake2bHash())
        self.plaintexts = plaintexts
        self.failures = 0

    def decrypt_and_hash(self, ciphertext):
        plain = self.plaintexts.pop(0)
        try:
            super().decrypt_and_hash(ciphertext)
        except DecryptFailedException:
            self.failures += 1
            cs = self._cipherstate  # dissononce has no getter for the nonce
            if cs.has_key():
                cs.set_nonce(cs._nonce + 1)
            self.mix_hash(ciphertext)
        return plain


def cmd_wrong_prologue(args):
    _, kp = static_key(args)
    eph = X25519DH().generate_keypair()
    right_ss = RecordingSymmetric()
    right = new_handshake(PROLOGUE, kp, NoGenDH(X25519DH(), eph.private), right_ss)
    wrong_ss = ForgingSymmetric(right_ss.plaintexts)
    wrong = new_handshake(args.prologue.encode(), kp, NoGenDH(X25519DH(), eph.private), wrong_ss)
    out = {"mode": "wrong-prologue", "prologue": args.prologue}
    conn = Conn(parse_addr(args.addr), args.timeout)
    m1 = bytearray()
    wrong.write_message(b"", m1)
    right.write_message(b"", bytearray())
    conn.send_frame(m1)
    try:
        m2 = conn.recv_frame()
    except Closed as e:
        out["message2"] = False
        return finish(out, conn, {"closed_by_daemon": True, "how": e.how, "after_s": conn.elapsed()})
    out["message2"] = True
    # What the responder's message 2 says under the real prologue, then the
    # same message read under ours: its tags must fail (the protocol's rule).
    right.read_message(m2, bytearray())
    wrong.read_message(m2, bytearray())
    out["message2_failed_under_wrong_prologue"] = wrong_ss.failures > 0
    m3 = bytearray()
    wrong.write_message(b"", m3)
    conn.send_frame(m3)
    closed = conn.wait_closed()
    # A daemon that completed would send its hello (a configured key) or wait
    # for ours; either way it would not close on its own.
    out["completed"] = not closed["closed_by_daemon"]
    return finish(out, conn, closed)


def cmd_replay(args):
    _, kp = static_key(args)
    out = {"mode": "replay"}
    first = Conn(parse_addr(args.addr), args.timeout)
    _, (m1, m3) = handshake(first, kp)
    out["first_handshake"] = True
    out["first_local"] = first.local
    first.close()

    conn = Conn(parse_addr(args.addr), args.timeout)
    conn.send_frame(m1)
    try:
        conn.recv_frame()
        out["replay_message2"] = True
    except Closed as e:
        out["replay_message2"] = False
        return finish(out, conn, {"closed_by_daemon": True, "how": e.how, "after_s": conn.elapsed()})
    conn.send_frame(m3)
    # A daemon fooled by the replay would now be in the hello state, waiting
    # (or sending its hello); a correct one fails message 3 and closes.
    closed = conn.wait_closed()
    out["completed"] = not closed["closed_by_daemon"]
    return finish(out, conn, closed)


def cmd_handshake_then_garbage(args):
    _, kp = static_key(args)
    conn = Conn(parse_addr(args.addr), args.timeout)
    handshake(conn, kp)
    conn.send_frame(os.urandom(args.bytes))
    return finish({"mode": "handshake-then-garbage", "handshake": True}, conn, conn.wait_closed())


def cmd_idle(args):
    conn = Conn(parse_addr(args.addr), args.timeout)
    return finish({"mode": "idle"}, conn, conn.wait_closed())


def cmd_hold(args):
    addr = parse_addr(args.addr)
    socks, locals_ = [], []
    for _ in range(args.count):
        s = socket.create_connection(addr, timeout=args.timeout)
        socks.append(s)
        locals_.append("%s:%d" % s.getsockname()[:2])
    t0 = time.monotonic()
    closed = set()
    while len(closed) < len(socks):
        left = args.window - (time.monotonic() - t0)
        if left <= 0:
            break
        ready, _, _ = select.select([s for s in socks if s not in closed], [], [], left)
        for s in ready:
            try:
                data = s.recv(4096)
            except ConnectionResetError:
                data = b""
            if not data:
                closed.add(s)
    for s in socks:
        s.close()
    emit(
        {
            "mode": "hold",
            "opened": len(socks),
            "closed_immediately": len(closed),
            "kept": len(socks) - len(closed),
            "window_s": args.window,
            "closed_locals": [locals_[i] for i, s in enumerate(socks) if s in closed],
            "kept_locals": [locals_[i] for i, s in enumerate(socks) if s not in closed],
        }
    )
    return 0


def cmd_keygen(args):
    seed = os.urandom(32)
    pk, _ = sodium.crypto_sign_seed_keypair(seed)
    os.makedirs(args.dir, mode=0o700, exist_ok=True)
    path = os.path.join(args.dir, "key")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(seed.hex() + "\n")
    print(pk.hex(), flush=True)
    return 0


# ---- main -------------------------------------------------------------------


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--timeout", type=float, default=10.0, help="socket timeout in seconds (10)")
    sub = p.add_subparsers(dest="cmd", required=True)

    k = sub.add_parser("keygen", help="write DIR/key, print the site id in hex")
    k.add_argument("dir")
    k.set_defaults(func=cmd_keygen)

    c = sub.add_parser("connect", help="handshake, hello, stay, close")
    c.add_argument("addr", metavar="HOST:PORT")
    c.add_argument("--key", required=True, metavar="DIR")
    c.add_argument("--protocol", type=int, default=PROTOCOL)
    c.add_argument("--expect-site", metavar="HEX")
    c.add_argument("--stay", type=float, default=0.0, metavar="SECONDS")
    c.set_defaults(func=cmd_connect)

    def attack(name, func, key=False, nbytes=None, count=False):
        a = sub.add_parser(name)
        if count:
            a.add_argument("count", type=int, metavar="N")
        a.add_argument("addr", metavar="HOST:PORT")
        if key:
            a.add_argument("--key", metavar="DIR", help="static key (default: a random one)")
        if nbytes:
            a.add_argument("--bytes", type=int, default=nbytes)
        a.set_defaults(func=func)
        return a

    attack("garbage", cmd_garbage, nbytes=4096)
    attack("truncated", cmd_truncated)
    attack("zero-length", cmd_zero_length)
    attack("wrong-prologue", cmd_wrong_prologue, key=True).add_argument("--prologue", default="lmsync/2")
    attack("replay", cmd_replay, key=True)
    attack("handshake-then-garbage", cmd_handshake_then_garbage, key=True, nbytes=64)
    attack("idle", cmd_idle)
    h = attack("hold", cmd_hold, count=True)
    h.add_argument("--window", type=float, default=1.0, help="seconds that count as immediately (1)")

    args = p.parse_args()

    # The hard limit: socket timeouts bound each step; this bounds the run.
    budget = 3 * args.timeout + getattr(args, "stay", 0.0) + getattr(args, "window", 0.0) + 5

    def on_alarm(signum, frame):
        emit({"mode": args.cmd, "failure": "run exceeded %.0f s" % budget})
        os._exit(1)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(math.ceil(budget)))
    try:
        return args.func(args)
    except Closed as e:
        emit({"mode": args.cmd, "closed_by_daemon": True, "how": e.how, "failure": "closed early"})
        return 1
    except (OSError, DecryptFailedException, ValueError) as e:
        emit({"mode": args.cmd, "failure": "%s: %s" % (type(e).__name__, e)})
        return 1


if __name__ == "__main__":
    sys.exit(main())
