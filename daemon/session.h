/* SPDX-License-Identifier: MIT */
/* A session: one TCP connection to a peer, from connect or accept through the
 * Noise handshake and hello to a ready, authenticated channel.
 *
 *   CONNECTING -> HANDSHAKE -> HELLO -> READY -> CLOSING
 *   (outbound)    (inbound starts here)
 *
 * Invariants:
 *  - A session is READY only after the handshake authenticated a configured
 *    peer's key and that peer's hello named the same site and our protocol.
 *  - Everything a peer sends is hostile until then: a frame out of turn, a
 *    failed decryption, a malformed message closes this session only.
 *  - A session is freed only in its handles' close callbacks (libuv's rule);
 *    once CLOSING it sends and processes nothing more.
 *
 * Owner: the daemon's session list, from creation to the last close callback.
 */
#ifndef LMSYNC_DAEMON_SESSION_H
#define LMSYNC_DAEMON_SESSION_H

#include <stdint.h>
#include <uv.h>

#include "proto/err.h"
#include "proto/frame.h"
#include "proto/noise.h"
#include "store/peer.h"

struct daemon;
struct link;
struct sync;

enum session_state {
	SESSION_CONNECTING,
	SESSION_HANDSHAKE,
	SESSION_HELLO,
	SESSION_READY,
	SESSION_CLOSING,
};

struct session {
	uv_tcp_t tcp;
	uv_connect_t connect_req;
	uv_getaddrinfo_t resolve_req;
	uv_shutdown_t shutdown_req;
	struct daemon *d;
	struct link *link; /* known from the start outbound; after auth inbound */
	struct session *prev, *next;
	int initiator;
	enum session_state state;
	int pending; /* handles and requests whose callbacks are still due */

	noise_handshake hs;
	noise_cipher tx, rx;
	frame_reader reader;

	uint64_t opened_ms, last_recv_ms, ping_sent_ms, ready_ms;
	uint64_t ping_sent_ns; /* uv_hrtime, for the round-trip time */
	uint64_t ping_nonce;
	int ping_outstanding;
	size_t queued_bytes;	      /* written but not yet handed to the kernel */
	uint64_t bytes_out, bytes_in; /* on the wire, frames and tags included */
	char remote[PEER_ADDR_MAX];   /* the peer's address, for logs and status */
	struct sync *sync;	      /* from READY on (sync.h) */
	uint8_t remote_key[32];	      /* the peer's Noise static key, after the handshake */
};

/* Accept a connection on the listener into a new inbound session. */
int session_accept(struct daemon *d, uv_stream_t *server);

/* Dial the link's address; the session reports to the link as it goes.
 * Fails only before a session exists (a bad address, out of memory). */
int session_dial(struct daemon *d, struct link *link, lm_err *err);

/* Close: log why, tell the link, and free once libuv is done. With flush,
 * what was written is sent first (used after an error message). */
void session_close(struct session *s, const char *reason, int flush);

/* Encrypt plain (one message) and queue it. -1: the session is closing. */
int session_send(struct session *s, const uint8_t *plain, size_t len);

/* Housekeeping, called every tick: handshake timeout, keepalive, dead peer. */
void session_tick(struct session *s, uint64_t now);

const char *session_state_name(enum session_state state);

#endif
