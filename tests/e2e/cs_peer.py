#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""An independent lmsync peer that speaks sync at the change-set level.

Written from docs/PROTOCOL.md alone ("Messages", "Change sets", "Sync"), on
top of noise_peer.py's transport (framing and Noise XX; none of lmsync's C
code). It decodes change sets strictly as the document specifies, verifies
them itself (Ed25519 over what the format says, BLAKE2b-256 hashes, the prev
chain, seq numbers) and builds and signs change sets of its own.

  pull  connect as a configured peer, announce an empty vector, read the
        daemon's vector, take every change set it streams (acknowledging
        each `sets` message), then send `mark 1` and wait for `marked 1`.
        Prints the change sets and their decoded rows.
  push  connect as a configured peer and send, as an origin of its own (the
        peer's key), a new change set in SCOPE with one row per --row; wait
        for the daemon's `ack`. The chain (last seq and hash per scope) is
        kept in KEY_DIR/chain.json so that a later push follows it.
        --tamper body|signature flips one byte of the sealed change set.

Every subcommand prints one JSON line and is bounded in time: each wait
times out (--timeout, 10 s by default) and a run is cut off after a budget.

Exit codes:
  pull  0 every change set decoded and verified, the daemon's vector was
          received in full and `marked` arrived with refused 0
        4 a change set failed decoding or verification, or one the daemon's
          vector announced did not arrive
  push  0 the daemon's ack reports the pushed change set's seq as its head
        5 the daemon refused it: its ack reports a lower head, or it sent
          `error` or closed the connection after the `sets`
  both  3 the daemon sent an error before sync began, 1 anything else,
        2 usage errors

Run it with /usr/bin/python3 (python3-dissononce, python3-nacl, python3-msgpack).
"""
import argparse
import json
import math
import os
import re
import signal
import socket
import sys
import time

import msgpack
import nacl.encoding
import nacl.exceptions
import nacl.hash
import nacl.signing

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import noise_peer as transport  # noqa: E402  (framing, Noise XX, keys)

SOFTWARE = "cs_peer.py"
ZERO32 = bytes(32)
SIG3_PREFIX = b"lmsync change set 3"  # PROTOCOL.md "Hash and signature"
MAX_ENVELOPE = 60000
MAX_PLAINTEXT = 65519
NAME_RE = re.compile(r"[A-Za-z0-9_]{1,64}\Z")


class Bad(Exception):
    """A change set or a message that breaks a rule of PROTOCOL.md."""


class Pairs(list):
    """A decoded msgpack map, as its (key, value) pairs in wire order."""


def blake2b32(data):
    return nacl.hash.blake2b(data, digest_size=32, encoder=nacl.encoding.RawEncoder)


def emit(obj):
    print(json.dumps(obj, sort_keys=True), flush=True)


def jsonable(v):
    """A decoded value for the JSON line: bytes as {"hex": ...}."""
    if isinstance(v, bytes):
        return {"hex": v.hex()}
    if isinstance(v, list):
        return [jsonable(x) for x in v]
    return v


# ---- strict decoding of change sets (PROTOCOL.md "Change sets") -----------


def unpack_strict(data):
    """Exactly one msgpack value, maps as Pairs, str as str (surrogate-escaped
    when the bytes are not UTF-8), bin as bytes."""
    try:
        return msgpack.unpackb(
            data,
            raw=False,
            unicode_errors="surrogateescape",
            object_pairs_hook=Pairs,
            strict_map_key=False,
            use_list=True,
        )
    except msgpack.ExtraData:
        raise Bad("bytes after the value")
    except Exception as e:
        raise Bad("not msgpack: %s" % e)


def depth(v):
    if isinstance(v, Pairs):
        return 1 + max([max(depth(k), depth(x)) for k, x in v] or [0])
    if isinstance(v, list):
        return 1 + max([depth(x) for x in v] or [0])
    return 0


def is_uint(v, limit=2**64 - 1):
    return type(v) is int and 0 <= v <= limit


def well_formed_text(s):
    """str decoded without surrogate escapes, i.e. well-formed UTF-8."""
    return isinstance(s, str) and not any(0xD800 <= ord(c) <= 0xDFFF for c in s)


def check_scope(s, what="scope"):
    if not well_formed_text(s):
        raise Bad("%s is not a str of well-formed UTF-8" % what)
    n = len(s.encode())
    if not 1 <= n <= 128:
        raise Bad("%s has %d bytes" % (what, n))
    if any(ord(c) <= 0x1F or 0x7F <= ord(c) <= 0x9F for c in s):
        raise Bad("%s has a control character" % what)


def check_value(v, where):
    if v is None or type(v) in (str, bytes):
        return
    if type(v) is int:
        if not -(2**63) <= v <= 2**63 - 1:
            raise Bad("%s: integer %d out of range" % (where, v))
        return
    if type(v) is float:
        if math.isnan(v):
            raise Bad("%s: NaN" % where)
        return
    raise Bad("%s: %s is not a value" % (where, type(v).__name__))


def decode_clock(b, where):
    if type(b) is not bytes or len(b) not in (8, 40):
        raise Bad("%s: a clock is a bin of 8 or 40 bytes" % where)
    c = {"hlc": int.from_bytes(b[:8], "big")}
    if len(b) == 40:
        c["origin"] = b[8:].hex()
    return c


def decode_row(row, fmt, i):
    where = "row %d" % i
    if not isinstance(row, list) or isinstance(row, Pairs) or len(row) not in (4, 5):
        raise Bad("%s is not an array of 4 or 5" % where)
    table, pk, cl, cols = row[:4]
    if not isinstance(table, str) or not NAME_RE.match(table):
        raise Bad("%s: bad table name %r" % (where, table))
    if not isinstance(pk, list) or isinstance(pk, Pairs) or not 1 <= len(pk) <= 8:
        raise Bad("%s: pk is not an array of 1 to 8 values" % where)
    for v in pk:
        if v is None:
            raise Bad("%s: nil in pk" % where)
        check_value(v, where + " pk")
    if not is_uint(cl) or cl < 1:
        raise Bad("%s: cl %r" % (where, cl))
    if not isinstance(cols, Pairs):
        raise Bad("%s: cols is not a map" % where)
    names = [k for k, _ in cols]
    for k, v in cols:
        if not isinstance(k, str) or not NAME_RE.match(k):
            raise Bad("%s: bad column name %r" % (where, k))
        check_value(v, "%s column %s" % (where, k))
    if len(set(names)) != len(names):
        raise Bad("%s: a column name twice" % where)
    if cl % 2 == 0 and cols:
        raise Bad("%s: a delete (cl %d) with columns" % (where, cl))
    out = {"table": table, "pk": pk, "cl": cl, "cols": {k: v for k, v in cols}}
    if len(row) == 5:
        if fmt < 2:
            raise Bad("%s: bases in format 1" % where)
        if not cols:
            raise Bad("%s: bases without columns" % where)
        bases = row[4]
        if type(bases) is bytes:
            one = decode_clock(bases, where + " bases")
            out["bases"] = {k: one for k in names}
        elif isinstance(bases, list) and not isinstance(bases, Pairs):
            if len(bases) != len(names):
                raise Bad("%s: %d bases for %d columns" % (where, len(bases), len(names)))
            got = []
            for j, b in enumerate(bases):
                if b is None:
                    got.append(None)
                elif type(b) is bytes:
                    got.append(decode_clock(b, "%s base %d" % (where, j)))
                elif is_uint(b):
                    if not (b < j and type(bases[b]) is bytes):
                        raise Bad("%s base %d: index %d is not an earlier clock" % (where, j, b))
                    got.append(got[b])
                else:
                    raise Bad("%s base %d: %r" % (where, j, b))
            out["bases"] = dict(zip(names, got))
        else:
            raise Bad("%s: bases is neither a clock nor an array" % where)
    return out


def decode_changeset(envelope):
    """Decode and check one envelope. Returns a dict with the body's fields,
    its rows, body, signature, digest, hash and the bytes signed."""
    if not 1 <= len(envelope) <= MAX_ENVELOPE:
        raise Bad("envelope of %d bytes" % len(envelope))
    env = unpack_strict(envelope)
    if not isinstance(env, list) or isinstance(env, Pairs) or len(env) != 2:
        raise Bad("the envelope is not an array of 2")
    body, sig = env
    if type(body) is not bytes or not body:
        raise Bad("the body is not a bin of 1 byte or more")
    if type(sig) is not bytes or len(sig) != 64:
        raise Bad("the signature is not a bin of 64 bytes")
    b = unpack_strict(body)
    if not isinstance(b, list) or isinstance(b, Pairs) or len(b) != 7:
        raise Bad("the body is not an array of 7")
    if depth(b) > 4:
        raise Bad("the body nests deeper than 4")
    fmt, origin, scope, seq, hlc, prev, rows = b
    if fmt not in (1, 2, 3) or type(fmt) is not int:
        raise Bad("format %r is not known here" % (fmt,))
    if type(origin) is not bytes or len(origin) != 32:
        raise Bad("origin is not a bin of 32")
    check_scope(scope)
    if not is_uint(seq) or seq < 1:
        raise Bad("seq %r" % (seq,))
    if not is_uint(hlc):
        raise Bad("hlc %r" % (hlc,))
    if type(prev) is not bytes or len(prev) != 32:
        raise Bad("prev is not a bin of 32")
    if seq == 1 and prev != ZERO32:
        raise Bad("seq 1 with a prev that is not zeros")
    if not isinstance(rows, list) or isinstance(rows, Pairs):
        raise Bad("rows is not an array")
    decoded = [decode_row(r, fmt, i) for i, r in enumerate(rows)]
    digest = blake2b32(body)
    signed = SIG3_PREFIX + digest if fmt == 3 else body
    return {
        "format": fmt,
        "origin": origin,
        "scope": scope,
        "seq": seq,
        "hlc": hlc,
        "prev": prev,
        "rows": decoded,
        "body": body,
        "signature": sig,
        "digest": digest,
        "hash": blake2b32(body + sig),
        "signed": signed,
    }


def verify_signature(cs):
    try:
        nacl.signing.VerifyKey(cs["origin"]).verify(cs["signed"], cs["signature"])
        return True
    except (nacl.exceptions.BadSignatureError, ValueError):
        return False


# ---- building change sets ---------------------------------------------------


def seal(seed, origin, scope, seq, prev, rows, fmt=3, hlc=None):
    """A signed envelope [body, signature] of the format, with `rows` as
    [table, pk, cl, cols-dict] (cols encoded in dict order)."""
    if hlc is None:
        hlc = int(time.time() * 1000) << 16
    body = msgpack.packb([fmt, origin, scope, seq, hlc, prev, rows], use_bin_type=True)
    return body, sign(seed, body, fmt)


def sign(seed, body, fmt):
    msg = SIG3_PREFIX + blake2b32(body) if fmt == 3 else body
    return nacl.signing.SigningKey(seed).sign(msg).signature


def envelope(body, sig):
    return msgpack.packb([body, sig], use_bin_type=True)


# ---- HEADS (PROTOCOL.md "HEADS: a version vector fragment") ----------------


def parse_heads(h, into):
    """Add a HEADS map's entries to into[(scope, origin)] = seq."""
    if not isinstance(h, Pairs):
        raise Bad("HEADS is not a map")
    for scope, entries in h:
        check_scope(scope, "HEADS key")
        if not isinstance(entries, list):
            raise Bad("HEADS value is not an array")
        for e in entries:
            if not isinstance(e, list) or isinstance(e, Pairs) or len(e) != 2:
                raise Bad("HEADS entry is not an array of 2")
            origin, seq = e
            if type(origin) is not bytes or len(origin) != 32 or not is_uint(seq):
                raise Bad("HEADS entry %r" % (e,))
            into[(scope, origin)] = seq


def heads_map(pairs):
    """{scope: [[origin, seq], ...]} of {(scope, origin): seq}."""
    out = {}
    for (scope, origin), seq in sorted(pairs.items()):
        out.setdefault(scope, []).append([origin, seq])
    return out


def vector_json(v):
    out = {}
    for (scope, origin), seq in sorted(v.items()):
        out.setdefault(scope, {})[origin.hex()] = seq
    return out


# ---- the session ------------------------------------------------------------


class Stop(Exception):
    """The daemon sent error."""


class SyncPeer:
    """One sync session as the initiator. `held` is what this peer announces
    and then holds per (scope, origin): (seq, hash)."""

    def __init__(self, args, held):
        self.args = args
        self.seed, self.site, self.kp = load_seed(args.key)
        self.held = dict(held)
        self.peer_vector = {}
        self.vector_complete = False
        self.hello = None
        self.sets_in = 0  # sets messages processed, for our acks
        self.acks = {}  # count -> {(scope, origin): seq}
        self.marked = {}
        self.error = None
        self.received = []  # decoded change sets, in arrival order
        self.failures = []
        self.forms = []  # where lmsync's bytes differ from what PROTOCOL.md says it writes
        self.pings = 0
        self.last_hlc = {}  # (scope, origin) -> hlc of the last change set taken

    def connect(self):
        self.conn = transport.Conn(transport.parse_addr(self.args.addr), self.args.timeout)
        self.session, _ = transport.handshake(self.conn, self.kp)
        hello = {
            "site": self.site,
            "software": SOFTWARE,
            "protocol": 1,
            "schema": 1,
            "heads": heads_map({k: s for k, (s, _) in self.held.items()}),
        }
        self.send(["hello", hello])

    def send(self, msg):
        plain = msgpack.packb(msg, use_bin_type=True)
        if len(plain) > MAX_PLAINTEXT:
            raise SystemExit("message of %d bytes" % len(plain))
        self.conn.send_frame(self.session.tx.encrypt_with_ad(b"", plain))

    def recv(self, timeout):
        frame = self.conn.recv_frame(timeout)
        plain = bytes(self.session.rx.decrypt_with_ad(b"", frame))
        # Maps as Pairs: a HEADS map may repeat a scope key.
        msg = unpack_strict(plain)
        if isinstance(msg, Pairs) or not isinstance(msg, list) or not msg or not isinstance(msg[0], str):
            raise Bad("transport plaintext is not an array starting with a str")
        return msg, plain

    def pump(self, done, what):
        """Handle messages until done() holds; bounded by --timeout."""
        deadline = time.monotonic() + self.args.timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("timed out waiting for %s" % what)
            msg, plain = self.recv(left)
            self.handle(msg, plain)

    def handle(self, msg, plain):
        kind = msg[0]
        if kind == "error":
            self.error = {"code": msg[1] if len(msg) > 1 else None, "text": msg[2] if len(msg) > 2 else None}
            raise Stop()
        if self.hello is None:
            if kind != "hello":
                raise Bad("%r before the daemon's hello" % kind)
            if plain[:8] not in (b"\x92\xa5hello\x85", b"\x92\xa5hello\x86"):
                self.forms.append("hello is not 92 a5 hello 85/86: %s" % plain[:8].hex())
            self.on_hello(msg)
        elif kind == "hello":
            raise Bad("a second hello")
        elif kind == "ping" and len(msg) >= 2:
            self.send(["pong", msg[1]])
            self.pings += 1
        elif kind == "heads":
            if self.vector_complete:
                raise Bad("heads after the vector was complete")
            if len(msg) < 3 or type(msg[2]) is not bool:
                raise Bad("heads without its bool")
            parse_heads(msg[1], self.peer_vector)
            self.vector_complete = not msg[2]
        elif kind == "sets":
            if not plain.startswith(b"\x92\xa4sets\xdd"):
                self.forms.append("sets array is not array 32: %s" % plain[:8].hex())
            self.on_sets(msg)
        elif kind == "ack":
            if len(msg) < 3 or not is_uint(msg[1]):
                raise Bad("malformed ack")
            n = len(msgpack.packb(msg[1]))
            if plain[: 5 + n + 1] != b"\x93\xa3ack" + msgpack.packb(msg[1]) + b"\xdf":
                self.forms.append("ack is not 93 a3 ack COUNT df: %s" % plain[:12].hex())
            parse_heads(msg[2], self.acks.setdefault(msg[1], {}))
        elif kind == "marked":
            if len(msg) < 3 or not is_uint(msg[1]) or not is_uint(msg[2]):
                raise Bad("malformed marked")
            self.marked[msg[1]] = msg[2]
        elif kind == "mark" and len(msg) >= 2:
            self.send(["marked", msg[1], 0])
        # pong and unknown types: ignored, as the rules say

    def on_hello(self, msg):
        if len(msg) < 2 or not isinstance(msg[1], Pairs):
            raise Bad("hello without a map")
        h = {}
        for k, v in msg[1]:
            h.setdefault(k, v)  # a repeated key: the first counts
        site = h.get("site")
        if type(site) is not bytes or len(site) != 32:
            raise Bad("hello site is not a bin of 32")
        if transport.x25519_of(site) != self.session.rs:
            raise Bad("hello names another site than the key of the handshake")
        if self.args.expect_site and site.hex() != self.args.expect_site.lower():
            raise Bad("hello names %s, not the expected site" % site.hex())
        if h.get("protocol") != 1:
            raise Bad("protocol %r" % h.get("protocol"))
        more = h.get("more", False)
        if type(more) is not bool:
            raise Bad("hello more is not a bool")
        parse_heads(h.get("heads", Pairs()), self.peer_vector)
        self.hello = {"site": site.hex(), "software": h.get("software"), "schema": h.get("schema")}
        self.vector_complete = not more

    def on_sets(self, msg):
        if len(msg) < 2 or not isinstance(msg[1], list) or not msg[1]:
            raise Bad("sets without a non-empty array")
        carried = set()
        for env in msg[1]:
            if type(env) is not bytes or not 1 <= len(env) <= MAX_ENVELOPE:
                raise Bad("a sets element that is not a bin of 1 to 60000 bytes")
            key = self.take(env)
            if key is not None:
                carried.add(key)
        # ack: the sets messages processed so far, and our head for every
        # (origin, scope) this one carried, refused ones included.
        self.sets_in += 1
        heads = {k: self.held.get(k, (0, ZERO32))[0] for k in carried}
        self.send(["ack", self.sets_in, heads_map(heads)])

    def take(self, env):
        """Decode and verify one change set; on success it extends `held`."""
        try:
            cs = decode_changeset(env)
        except Bad as e:
            self.failures.append({"decode": str(e), "envelope_head": env[:16].hex()})
            return None
        key = (cs["scope"], cs["origin"])
        have_seq, have_hash = self.held.get(key, (0, ZERO32))
        problems = []
        if self.args.flip_signature:
            cs["signature"] = bytes([cs["signature"][0] ^ 1]) + cs["signature"][1:]
        if not verify_signature(cs):
            problems.append("signature does not verify")
        if cs["seq"] != have_seq + 1:
            problems.append("seq %d after seq %d" % (cs["seq"], have_seq))
        if cs["prev"] != have_hash:
            problems.append("prev %s is not the hash of seq %d" % (cs["prev"].hex()[:16], have_seq))
        last_hlc = self.last_hlc.get(key)
        if last_hlc is not None and cs["hlc"] <= last_hlc:
            problems.append("hlc does not increase")
        # What PROTOCOL.md says lmsync writes (not a rule for receivers).
        if not (env[:1] == b"\x92" and env[-66:-64] == b"\xc4\x40"):
            self.forms.append("envelope of seq %d is not 92 ... c4 40" % cs["seq"])
        if cs["body"][:2] != bytes([0x97, cs["format"]]):
            self.forms.append("body of seq %d does not start 97 %02x" % (cs["seq"], cs["format"]))
        if problems:
            self.failures.append({"scope": cs["scope"], "origin": cs["origin"].hex(), "seq": cs["seq"], "problems": problems})
            return key
        self.held[key] = (cs["seq"], cs["hash"])
        self.last_hlc[key] = cs["hlc"]
        self.received.append(cs)
        return key

    def close(self):
        self.conn.close()


def load_seed(key_dir):
    with open(os.path.join(key_dir, "key")) as f:
        seed = bytes.fromhex(f.read().strip())
    site, kp = transport.load_key(key_dir)
    return seed, site, kp


def cs_json(cs):
    return {
        "origin": cs["origin"].hex(),
        "scope": cs["scope"],
        "seq": cs["seq"],
        "hlc": cs["hlc"],
        "format": cs["format"],
        "hash": cs["hash"].hex(),
        "rows": [
            {
                "table": r["table"],
                "pk": jsonable(r["pk"]),
                "cl": r["cl"],
                "cols": {k: jsonable(v) for k, v in r["cols"].items()},
                **({"bases": r["bases"]} if "bases" in r else {}),
            }
            for r in cs["rows"]
        ],
    }


# ---- pull -------------------------------------------------------------------


def cmd_pull(args):
    out = {"mode": "pull", "handshake": False}
    peer = SyncPeer(args, {})
    rc = 1
    try:
        peer.connect()
        out["handshake"] = True
        peer.pump(lambda: peer.hello is not None and peer.vector_complete, "the daemon's vector")
        out["vector"] = vector_json(peer.peer_vector)
        # Barrier: marked 1 comes once the daemon has sent all it holds that
        # this peer lacks (PROTOCOL.md "Barrier: mark and marked").
        peer.send(["mark", 1])
        peer.pump(lambda: 1 in peer.marked, "marked 1")
        missing = [
            {"scope": s, "origin": o.hex(), "announced": n, "held": peer.held.get((s, o), (0,))[0]}
            for (s, o), n in sorted(peer.peer_vector.items())
            if peer.held.get((s, o), (0,))[0] < n
        ]
        out.update(
            {
                "marked_refused": peer.marked[1],
                "missing": missing,
            }
        )
        ok = not peer.failures and not missing and peer.marked[1] == 0
        rc = 0 if ok else 4
    except Stop:
        rc = 3
    except transport.Closed as e:
        out["closed_by_daemon"] = e.how
    except Bad as e:
        out["bad_message"] = str(e)
    except Exception as e:
        out["failure"] = "%s: %s" % (type(e).__name__, e)
    finally:
        if getattr(peer, "conn", None):
            out["after_s"] = peer.conn.elapsed()
            peer.close()
    if peer.failures:
        rc = 4 if rc in (0, 1) else rc
    out.update(
        {
            "hello": peer.hello,
            "error": peer.error,
            "changesets": len(peer.received),
            "verified": len(peer.received),
            "failures": peer.failures,
            "doc_form_mismatches": peer.forms,
            "sets_messages": peer.sets_in,
            "pings_answered": peer.pings,
            "sets": [cs_json(cs) for cs in peer.received],
        }
    )
    emit(out)
    return rc


# ---- push -------------------------------------------------------------------


def load_chain(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def parse_row(text, table):
    """ID:COL=VALUE,COL=VALUE (VALUE an integer if it parses as one)."""
    key, _, rest = text.partition(":")
    cols = {}
    for item in filter(None, rest.split(",")):
        name, _, value = item.partition("=")
        try:
            cols[name] = int(value)
        except ValueError:
            cols[name] = value
    return [table, [key], 1, cols]


def cmd_push(args):
    out = {"mode": "push", "handshake": False, "accepted": False, "refused": False}
    chain_path = os.path.join(args.key, "chain.json")
    chain = load_chain(chain_path)
    seed, site, _ = load_seed(args.key)
    held = {}
    for scope, c in chain.items():
        held[(scope, site)] = (c["seq"], bytes.fromhex(c["hash"]))
    seq, prev = held.get((args.scope, site), (0, ZERO32))
    seq += 1
    rows = [parse_row(r, args.table) for r in args.row]
    body, sig = seal(seed, site, args.scope, seq, prev, rows)
    if args.tamper == "body":
        # One byte of a column value: the row still decodes, the signature
        # (over the digest of the body) no longer matches.
        at = body.rfind(b"tamper-me")
        if at < 0:
            raise SystemExit("--tamper body needs a row value containing 'tamper-me'")
        body = body[:at] + bytes([body[at] ^ 0x01]) + body[at + 1 :]
    elif args.tamper == "signature":
        sig = bytes([sig[0] ^ 0x01]) + sig[1:]
    env = envelope(body, sig)
    mine = (args.scope, site)
    out.update({"origin": site.hex(), "scope": args.scope, "seq": seq, "hash": blake2b32(body + sig).hex(), "tamper": args.tamper})
    peer = SyncPeer(args, held)
    rc = 1
    sent = False
    try:
        peer.connect()
        out["handshake"] = True
        peer.pump(lambda: peer.hello is not None and peer.vector_complete, "the daemon's vector")
        out["daemon_head_before"] = peer.peer_vector.get(mine, 0)
        peer.send(["sets", [env]])
        sent = True
        peer.pump(lambda: mine in peer.acks.get(1, {}), "the ack of our sets")
        head = peer.acks[1][mine]
        out["acked_head"] = head
        if head >= seq:
            out["accepted"] = True
            chain[args.scope] = {"seq": seq, "hash": out["hash"]}
            if not args.tamper:
                with open(chain_path + ".tmp", "w") as f:
                    json.dump(chain, f)
                os.replace(chain_path + ".tmp", chain_path)
            rc = 0
        else:
            out["refused"] = True
            rc = 5
    except Stop:
        rc = 5 if sent else 3
        out["refused"] = sent
    except transport.Closed as e:
        out["closed_by_daemon"] = e.how
        if sent:
            out["refused"] = True
            rc = 5
    except Bad as e:
        out["bad_message"] = str(e)
    except Exception as e:
        out["failure"] = "%s: %s" % (type(e).__name__, e)
    finally:
        if getattr(peer, "conn", None):
            out["after_s"] = peer.conn.elapsed()
            peer.close()
    out.update(
        {
            "hello": peer.hello,
            "error": peer.error,
            "received_changesets": len(peer.received),
            "failures": peer.failures,
            "doc_form_mismatches": peer.forms,
        }
    )
    emit(out)
    return rc


# ---- main -------------------------------------------------------------------


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--timeout", type=float, default=10.0, help="bound of each wait in seconds (10)")
    sub = p.add_subparsers(dest="cmd", required=True)

    pl = sub.add_parser("pull", help="take and verify the daemon's change sets")
    pl.add_argument("addr", metavar="HOST:PORT")
    pl.add_argument("--key", required=True, metavar="DIR")
    pl.add_argument("--expect-site", metavar="HEX")
    pl.add_argument("--flip-signature", action="store_true", help="self-test: flip a bit of every received signature before verifying (must fail)")
    pl.set_defaults(func=cmd_pull)

    ps = sub.add_parser("push", help="seal, sign and send a change set of this peer's own")
    ps.add_argument("addr", metavar="HOST:PORT")
    ps.add_argument("--key", required=True, metavar="DIR")
    ps.add_argument("--expect-site", metavar="HEX")
    ps.add_argument("--scope", required=True)
    ps.add_argument("--table", required=True)
    ps.add_argument("--row", action="append", required=True, metavar="ID:COL=VALUE,...")
    ps.add_argument("--tamper", choices=["body", "signature"])
    ps.set_defaults(func=cmd_push, flip_signature=False)

    args = p.parse_args()
    budget = 4 * args.timeout + 5

    def on_alarm(signum, frame):
        emit({"mode": args.cmd, "failure": "run exceeded %.0f s" % budget})
        os._exit(1)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(math.ceil(budget)))
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
