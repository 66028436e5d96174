/* SPDX-License-Identifier: MIT */
/* Peer sessions: connect or accept, Noise XX handshake, hello, keepalive.
 * See session.h for the states and invariants.
 *
 * Happy path, outbound: resolve and connect; write handshake message 1; read
 * message 2 and check that the key is the dialled peer's; write message 3;
 * split; send hello; on the peer's hello, READY. Inbound: read message 1;
 * write message 2; read message 3; find the configured peer with that key;
 * split; send hello; on its hello, READY.
 *
 * Failure modes: a connect or read error, EOF, a frame out of turn, a Noise
 * failure or a malformed message close the session with the reason logged.
 * An unknown key is refused after its hello told us which site it claims,
 * with an "unknown-site" error so its operator learns why. A timeout in any
 * state before READY closes it; so does silence after READY.
 */
#include "daemon/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "conf/conf.h"
#include "daemon/daemon.h"
#include "daemon/link.h"
#include "daemon/log.h"
#include "daemon/sync.h"
#include "proto/msg.h"
#include "proto/siteid.h"

struct session_write {
	uv_write_t req;
	struct session *s;
	size_t len;
	uint8_t data[];
};

static const char *const state_names[] = {"connecting", "handshake", "hello", "ready", "closing"};

const char *session_state_name(enum session_state state)
{
	return (unsigned)state <= SESSION_CLOSING ? state_names[state] : "?";
}

static void peer_label(const struct session *s, char *out, size_t cap)
{
	char id[SITEID_SHORT_LEN + 1];

	if (s->link == NULL) {
		snprintf(out, cap, "addr=%s", s->remote);
		return;
	}
	siteid_to_short(s->link->peer.id, id);
	snprintf(out, cap, "site=%s addr=%s", id, s->remote);
}

/* ---- lifetime ---------------------------------------------------------- */

static struct session *session_new(struct daemon *d, int initiator)
{
	struct session *s = calloc(1, sizeof(*s));
	lm_err err;

	if (s == NULL)
		return NULL;
	s->d = d;
	s->initiator = initiator;
	s->opened_ms = s->last_recv_ms = uv_now(&d->loop);
	snprintf(s->remote, sizeof(s->remote), "?");
	if (frame_reader_init(&s->reader, FRAME_MAX_LEN, &err) != 0 ||
	    uv_tcp_init(&d->loop, &s->tcp) != 0) {
		free(s);
		return NULL;
	}
	s->tcp.data = s;
	s->pending = 1; /* the tcp handle */
	s->next = d->sessions;
	if (d->sessions)
		d->sessions->prev = s;
	d->sessions = s;
	d->nsessions++;
	return s;
}

static void session_free(struct session *s)
{
	struct daemon *d = s->d;

	if (s->prev)
		s->prev->next = s->next;
	else
		d->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	d->nsessions--;
	if (s->link)
		link_release(s->link);
	sync_free(s);
	frame_reader_free(&s->reader);
	noise_handshake_wipe(&s->hs);
	noise_cipher_wipe(&s->tx);
	noise_cipher_wipe(&s->rx);
	free(s);
}

static void session_settle(struct session *s)
{
	if (--s->pending == 0)
		session_free(s);
}

static void on_tcp_closed(uv_handle_t *h)
{
	session_settle(h->data);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	struct session *s = req->data;

	(void)status;
	uv_close((uv_handle_t *)&s->tcp, on_tcp_closed);
	session_settle(s);
}

void session_close(struct session *s, const char *reason, int flush)
{
	char who[128];
	int failure;

	if (s->state == SESSION_CLOSING)
		return;
	failure = s->state != SESSION_READY;
	peer_label(s, who, sizeof(who));
	if (s->state == SESSION_READY)
		log_info("peer", "disconnected %s reason=\"%s\"", who, reason);
	else
		log_warn("peer", "connection closed %s state=%s reason=\"%s\"", who,
			 session_state_name(s->state), reason);
	if (s->link)
		link_on_closed(s->link, s, reason, failure);
	s->state = SESSION_CLOSING;
	if (s->d->stopping)
		flush = 0;
	uv_read_stop((uv_stream_t *)&s->tcp);
	/* A shutdown completes after the queued writes, so the peer gets our
	 * last words (an error message) before the connection goes. */
	if (flush && uv_is_writable((uv_stream_t *)&s->tcp)) {
		s->shutdown_req.data = s;
		if (uv_shutdown(&s->shutdown_req, (uv_stream_t *)&s->tcp, on_shutdown) == 0) {
			s->pending++;
			return;
		}
	}
	if (!uv_is_closing((uv_handle_t *)&s->tcp))
		uv_close((uv_handle_t *)&s->tcp, on_tcp_closed);
}

/* ---- writing ----------------------------------------------------------- */

static void on_written(uv_write_t *req, int status)
{
	struct session_write *w = (struct session_write *)req;
	struct session *s = w->s;

	s->queued_bytes -= w->len;
	free(w);
	if (status < 0 && s->state != SESSION_CLOSING)
		session_close(s, uv_strerror(status), 0);
	session_settle(s);
}

/* Queue one frame whose body (len bytes) the caller fills at *body. */
static struct session_write *frame_alloc(struct session *s, size_t len, uint8_t **body)
{
	struct session_write *w = malloc(sizeof(*w) + FRAME_HEADER_LEN + len);
	lm_err err;

	if (w == NULL)
		return NULL;
	if (frame_write_header(w->data, len, &err) != 0) {
		free(w);
		return NULL;
	}
	w->s = s;
	w->len = FRAME_HEADER_LEN + len;
	*body = w->data + FRAME_HEADER_LEN;
	return w;
}

static int frame_send(struct session *s, struct session_write *w)
{
	uv_buf_t buf = uv_buf_init((char *)w->data, (unsigned)w->len);
	int rc = uv_write(&w->req, (uv_stream_t *)&s->tcp, &buf, 1, on_written);

	if (rc < 0) {
		free(w);
		session_close(s, uv_strerror(rc), 0);
		return -1;
	}
	s->pending++;
	s->queued_bytes += w->len;
	s->bytes_out += w->len;
	return 0;
}

/* Encrypt plain as one transport message and send it. */
int session_send(struct session *s, const uint8_t *plain, size_t len)
{
	struct session_write *w;
	uint8_t *body;
	size_t out_len;
	lm_err err;

	if (s->state == SESSION_CLOSING)
		return -1;
	w = frame_alloc(s, len + NOISE_TAGLEN, &body);
	if (w == NULL) {
		session_close(s, "out of memory", 0);
		return -1;
	}
	if (noise_cipher_encrypt(&s->tx, plain, len, body, len + NOISE_TAGLEN, &out_len, &err) !=
	    0) {
		free(w);
		session_close(s, err.msg, 0);
		return -1;
	}
	return frame_send(s, w);
}

static int send_handshake(struct session *s)
{
	uint8_t msg[256];
	struct session_write *w;
	uint8_t *body;
	size_t len;
	lm_err err;

	if (noise_handshake_write(&s->hs, NULL, 0, msg, sizeof(msg), &len, &err) != 0) {
		session_close(s, err.msg, 0);
		return -1;
	}
	w = frame_alloc(s, len, &body);
	if (w == NULL) {
		session_close(s, "out of memory", 0);
		return -1;
	}
	memcpy(body, msg, len);
	return frame_send(s, w);
}

/* Tell the peer why, then close once that is sent. */
static void fail_with(struct session *s, const char *code, const char *text)
{
	uint8_t buf[MSG_TEXT_MAX + 64];
	size_t len;
	lm_err err;

	if (noise_cipher_has_key(&s->tx) &&
	    msg_encode_error(code, text, buf, sizeof(buf), &len, &err) == 0 &&
	    session_send(s, buf, len) == 0) {
		session_close(s, text, 1);
		return;
	}
	session_close(s, text, 0);
}

static void send_ping(struct session *s, uint64_t now)
{
	uint8_t buf[32];
	size_t len;
	lm_err err;

	s->ping_nonce++;
	if (msg_encode_ping(s->ping_nonce, buf, sizeof(buf), &len, &err) != 0)
		return;
	if (session_send(s, buf, len) == 0) {
		s->ping_sent_ms = now;
		s->ping_sent_ns = uv_hrtime();
		s->ping_outstanding = 1;
	}
}

/* ---- handshake --------------------------------------------------------- */

static int handshake_start(struct session *s)
{
	uint8_t x_priv[32], x_pub[32];
	lm_err err;
	int rc;

	rc = noise_static_from_ed25519(s->d->key.secret_key, x_priv, x_pub, &err);
	if (rc == 0)
		rc = noise_handshake_init(&s->hs, NOISE_XX, s->initiator,
					  (const uint8_t *)NOISE_PROLOGUE_LMSYNC,
					  NOISE_PROLOGUE_LMSYNC_LEN, x_priv, NULL, &err);
	sodium_memzero(x_priv, sizeof(x_priv));
	if (rc != 0) {
		session_close(s, err.msg, 0);
		return -1;
	}
	s->state = SESSION_HANDSHAKE;
	if (s->initiator)
		return send_handshake(s);
	return 0;
}

/* Outbound: the key must be the one of the peer we meant to reach. */
static int check_dialled_key(struct session *s)
{
	uint8_t rs[32];
	char reason[PEER_ADDR_MAX + 96], id[SITEID_SHORT_LEN + 1];
	lm_err err;

	if (noise_handshake_remote_static(&s->hs, rs, &err) != 0) {
		session_close(s, err.msg, 0);
		return -1;
	}
	if (sodium_memcmp(rs, s->link->x25519, 32) == 0)
		return 0;
	siteid_to_short(s->link->peer.id, id);
	snprintf(reason, sizeof(reason),
		 "the site at %s is not %s (another key answered); check the peer's address",
		 s->remote, id);
	session_close(s, reason, 0);
	return -1;
}

/* Inbound: find the configured peer with this key, if any. */
static void identify_initiator(struct session *s)
{
	struct link *l = link_by_key(s->d, s->remote_key);

	if (l != NULL) {
		s->link = l;
		l->refs++;
	}
}

static int handshake_finish(struct session *s)
{
	lm_err err;

	if (noise_handshake_remote_static(&s->hs, s->remote_key, &err) != 0 ||
	    noise_handshake_split(&s->hs, &s->tx, &s->rx, &err) != 0) {
		session_close(s, err.msg, 0);
		return -1;
	}
	noise_handshake_wipe(&s->hs);
	s->state = SESSION_HELLO;
	return 0;
}

static void handshake_on_frame(struct session *s, const uint8_t *frame, size_t len)
{
	uint8_t payload[NOISE_MAX_MSG_LEN];
	size_t plen;
	lm_err err;

	if (noise_handshake_writes_next(&s->hs)) {
		session_close(s, "handshake message out of turn", 0);
		return;
	}
	if (noise_handshake_read(&s->hs, frame, len, payload, sizeof(payload), &plen, &err) != 0) {
		session_close(s, err.msg, 0);
		return;
	}
	if (s->initiator && noise_handshake_is_done(&s->hs) == 0 && check_dialled_key(s) != 0)
		return;
	if (!noise_handshake_is_done(&s->hs) && send_handshake(s) != 0)
		return;
	if (!noise_handshake_is_done(&s->hs))
		return;
	if (handshake_finish(s) != 0)
		return;
	if (!s->initiator)
		identify_initiator(s);
	/* An unknown initiator gets nothing until its hello says who it is. */
	if (s->link != NULL)
		sync_send_hello(s);
}

/* ---- messages ---------------------------------------------------------- */

static void refuse_unknown(struct session *s, const struct msg_hello *hello)
{
	char id[2 * 32 + 1], mine[SITEID_TEXT_LEN + 1], text[MSG_TEXT_MAX];
	uint8_t claimed[32];
	lm_err err;

	/* Name the site only if the key that ran the handshake really is its key. */
	if (noise_public_from_ed25519(hello->site, claimed, &err) == 0 &&
	    sodium_memcmp(s->remote_key, claimed, 32) == 0)
		siteid_to_text(hello->site, id);
	else
		sodium_bin2hex(id, sizeof(id), s->remote_key, sizeof(s->remote_key));
	siteid_to_text(s->d->key.public_key, mine);
	snprintf(text, sizeof(text), "site %s is not a configured peer of %s", id, mine);
	log_warn("peer",
		 "refused unknown site=%s addr=%s (add it with `lmsync peer add` if it "
		 "belongs here)",
		 id, s->remote);
	fail_with(s, MSG_ERROR_UNKNOWN_SITE, text);
}

static void on_hello(struct session *s, const struct msg_hello *hello)
{
	char text[MSG_TEXT_MAX];

	if (s->link == NULL) {
		refuse_unknown(s, hello);
		return;
	}
	if (hello->protocol != MSG_PROTOCOL_VERSION) {
		snprintf(text, sizeof(text),
			 "protocol version mismatch: the peer speaks %u, this site speaks %d; "
			 "upgrade the older side",
			 hello->protocol, MSG_PROTOCOL_VERSION);
		fail_with(s, MSG_ERROR_PROTOCOL, text);
		return;
	}
	if (sodium_memcmp(hello->site, s->link->peer.id, 32) != 0) {
		fail_with(s, MSG_ERROR_WRONG_SITE, "hello names another site than the key");
		return;
	}
	s->state = SESSION_READY;
	s->ready_ms = uv_now(&s->d->loop);
	log_debug("peer", "hello software=\"%s\" schema=%u", hello->software, hello->schema);
	link_on_ready(s->link, s);
	if (s->state != SESSION_READY)
		return;
	send_ping(s, s->ready_ms);
	if (sync_start(s, hello) != 0)
		session_close(s, "out of memory", 0);
}

static void on_pong(struct session *s, uint64_t nonce)
{
	if (!s->ping_outstanding || nonce != s->ping_nonce)
		return;
	s->ping_outstanding = 0;
	if (s->link)
		s->link->rtt_us = (int64_t)((uv_hrtime() - s->ping_sent_ns) / 1000);
}

static void on_error_message(struct session *s, const struct msg_error *e)
{
	char reason[MSG_CODE_MAX + MSG_TEXT_MAX + 32];

	snprintf(reason, sizeof(reason), "refused by peer: %s (%s)", e->text, e->code);
	session_close(s, reason, 0);
}

static void message_on_frame(struct session *s, const uint8_t *frame, size_t len)
{
	uint8_t plain[NOISE_MAX_PAYLOAD_LEN];
	struct msg m;
	size_t plen;
	uint8_t buf[32];
	lm_err err;

	if (noise_cipher_decrypt(&s->rx, frame, len, plain, sizeof(plain), &plen, &err) != 0) {
		session_close(s, err.msg, 0);
		return;
	}
	if (msg_decode(plain, plen, &m, &err) != 0) {
		fail_with(s, MSG_ERROR_BAD_MESSAGE, err.msg);
		return;
	}
	if (s->state == SESSION_HELLO && m.type != MSG_HELLO && m.type != MSG_ERROR) {
		fail_with(s, MSG_ERROR_BAD_MESSAGE, "the first message must be hello");
		return;
	}
	switch (m.type) {
	case MSG_HELLO:
		if (s->state != SESSION_HELLO)
			fail_with(s, MSG_ERROR_BAD_MESSAGE, "hello sent twice");
		else
			on_hello(s, &m.u.hello);
		break;
	case MSG_PING:
		if (msg_encode_pong(m.u.nonce, buf, sizeof(buf), &plen, &err) == 0)
			session_send(s, buf, plen);
		break;
	case MSG_PONG:
		on_pong(s, m.u.nonce);
		break;
	case MSG_ERROR:
		on_error_message(s, &m.u.error);
		break;
	case MSG_HEADS:
	case MSG_SETS:
	case MSG_ACK:
	case MSG_MARK:
	case MSG_MARKED:
		sync_on_message(s, &m);
		break;
	case MSG_UNKNOWN:
		log_debug("peer", "ignored message type=\"%s\"", m.type_name);
		break;
	}
}

static void session_on_frame(struct session *s, const uint8_t *frame, size_t len)
{
	if (s->state == SESSION_HANDSHAKE)
		handshake_on_frame(s, frame, len);
	else if (s->state == SESSION_HELLO || s->state == SESSION_READY)
		message_on_frame(s, frame, len);
}

/* ---- reading ----------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct session *s = h->data;

	(void)suggested;
	/* One buffer for all sessions: each read is consumed before the next. */
	*buf = uv_buf_init((char *)s->d->rbuf, sizeof(s->d->rbuf));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct session *s = stream->data;
	const uint8_t *data = (const uint8_t *)buf->base, *frame;
	size_t left = nread > 0 ? (size_t)nread : 0, used, flen;
	lm_err err;

	if (nread == UV_EOF) {
		session_close(s,
			      frame_reader_pending(&s->reader) ? "peer closed mid-frame"
							       : "peer closed the connection",
			      0);
		return;
	}
	if (nread < 0) {
		session_close(s, uv_strerror((int)nread), 0);
		return;
	}
	s->last_recv_ms = uv_now(&s->d->loop);
	s->bytes_in += left;
	while (left > 0 && s->state != SESSION_CLOSING) {
		int rc = frame_reader_next(&s->reader, data, left, &used, &frame, &flen, &err);

		if (rc < 0) {
			session_close(s, err.msg, 0);
			return;
		}
		data += used;
		left -= used;
		if (rc == 1)
			session_on_frame(s, frame, flen);
	}
	frame_reader_release(&s->reader);
}

static int start_reading(struct session *s)
{
	int rc = uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read);

	if (rc < 0) {
		session_close(s, uv_strerror(rc), 0);
		return -1;
	}
	return 0;
}

/* ---- inbound ----------------------------------------------------------- */

static void describe_peer_addr(struct session *s)
{
	struct sockaddr_storage sa;
	int len = sizeof(sa);
	char host[48];

	if (uv_tcp_getpeername(&s->tcp, (struct sockaddr *)&sa, &len) != 0)
		return;
	if (sa.ss_family == AF_INET6) {
		uv_ip6_name((struct sockaddr_in6 *)&sa, host, sizeof(host));
		snprintf(s->remote, sizeof(s->remote), "[%s]:%u", host,
			 ntohs(((struct sockaddr_in6 *)&sa)->sin6_port));
	} else {
		uv_ip4_name((struct sockaddr_in *)&sa, host, sizeof(host));
		snprintf(s->remote, sizeof(s->remote), "%s:%u", host,
			 ntohs(((struct sockaddr_in *)&sa)->sin_port));
	}
}

static int count_inbound_handshakes(const struct daemon *d)
{
	const struct session *s;
	int n = 0;

	for (s = d->sessions; s; s = s->next)
		n += !s->initiator && s->state != SESSION_READY && s->state != SESSION_CLOSING;
	return n;
}

int session_accept(struct daemon *d, uv_stream_t *server)
{
	const struct conf_limits *lim = &d->conf.limits;
	int busy = (uint32_t)d->nsessions >= lim->max_connections ||
		   (uint32_t)count_inbound_handshakes(d) >= lim->max_handshakes;
	struct session *s = session_new(d, 0);

	if (s == NULL) {
		log_error("peer", "out of memory accepting a connection");
		return -1;
	}
	if (uv_accept(server, (uv_stream_t *)&s->tcp) != 0) {
		session_close(s, "accept failed", 0);
		return -1;
	}
	describe_peer_addr(s);
	s->state = SESSION_HANDSHAKE; /* inbound: the handshake starts at once */
	if (busy) {
		session_close(s,
			      "too many connections; raise max_connections or "
			      "max_handshakes if this is expected",
			      0);
		return -1;
	}
	uv_tcp_nodelay(&s->tcp, 1);
	if (handshake_start(s) != 0)
		return -1;
	return start_reading(s);
}

/* ---- outbound ---------------------------------------------------------- */

static void on_connected(uv_connect_t *req, int status)
{
	struct session *s = req->data;

	if (s->state != SESSION_CLOSING) {
		if (status < 0)
			session_close(s, uv_strerror(status), 0);
		else if (uv_tcp_nodelay(&s->tcp, 1), handshake_start(s) == 0)
			start_reading(s);
	}
	session_settle(s);
}

static int connect_to(struct session *s, const struct sockaddr *sa)
{
	int rc;

	s->connect_req.data = s;
	rc = uv_tcp_connect(&s->connect_req, &s->tcp, sa, on_connected);
	if (rc < 0) {
		session_close(s, uv_strerror(rc), 0);
		return -1;
	}
	s->pending++;
	return 0;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct session *s = req->data;
	char reason[128];

	if (s->state != SESSION_CLOSING) {
		if (status < 0 || res == NULL) {
			snprintf(reason, sizeof(reason), "cannot resolve the address: %s",
				 uv_strerror(status));
			session_close(s, reason, 0);
		} else {
			connect_to(s, res->ai_addr);
		}
	}
	uv_freeaddrinfo(res);
	session_settle(s);
}

int session_dial(struct daemon *d, struct link *l, lm_err *err)
{
	struct conf_addr addr;
	struct sockaddr_in6 sa6;
	struct sockaddr_in sa4;
	struct addrinfo hints;
	char port[8];
	struct session *s;

	if (conf_addr_parse(l->peer.addr, &addr, err) != 0)
		return -1;
	s = session_new(d, 1);
	if (s == NULL)
		return lm_errf(err, "out of memory dialling %s", l->peer.addr);
	s->link = l;
	l->refs++;
	l->dialing = s;
	snprintf(s->remote, sizeof(s->remote), "%s", l->peer.addr);
	/* From here on every failure goes through session_close to the link. */
	if (uv_ip4_addr(addr.host, addr.port, &sa4) == 0) {
		connect_to(s, (const struct sockaddr *)&sa4);
		return 0;
	}
	if (uv_ip6_addr(addr.host, addr.port, &sa6) == 0) {
		connect_to(s, (const struct sockaddr *)&sa6);
		return 0;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%u", addr.port);
	s->resolve_req.data = s;
	if (uv_getaddrinfo(&d->loop, &s->resolve_req, on_resolved, addr.host, port, &hints) != 0)
		session_close(s, "cannot start resolving the address", 0);
	else
		s->pending++;
	return 0;
}

/* ---- time -------------------------------------------------------------- */

void session_tick(struct session *s, uint64_t now)
{
	const struct conf_limits *lim = &s->d->conf.limits;
	char reason[96];

	if (s->state == SESSION_CLOSING)
		return;
	if (s->state != SESSION_READY) {
		if (now - s->opened_ms >= lim->handshake_timeout_ms) {
			snprintf(reason, sizeof(reason), "no hello within %ums (handshake_timeout)",
				 lim->handshake_timeout_ms);
			session_close(s, reason, 0);
		}
		return;
	}
	if (now - s->last_recv_ms >= lim->dead_after_ms) {
		snprintf(reason, sizeof(reason), "peer silent for %ums (dead_after)",
			 (unsigned)(now - s->last_recv_ms));
		session_close(s, reason, 0);
		return;
	}
	if (now - s->ping_sent_ms >= lim->keepalive_ms)
		send_ping(s, now);
	sync_tick(s, now);
}
