/* SPDX-License-Identifier: MIT */
/* Blocking control-socket client; see control_client.h. */
#include "cli/control_client.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "proto/ctl.h"
#include "proto/mp.h"

#define REPLY_MAX (16u << 20)

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int connect_socket(const char *path, int *fd_out, lm_err *err)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return lm_errf(err, "socket path %s is too long", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return lm_errf(err, "cannot create a socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;

		close(fd);
		if (e == ENOENT || e == ECONNREFUSED)
			return CONTROL_NOT_RUNNING;
		return lm_errf(err, "cannot connect to %s: %s", path, strerror(e));
	}
	*fd_out = fd;
	return CONTROL_REPLY;
}

static int send_all(int fd, const void *data, size_t len, lm_err *err)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return lm_errf(err, "sending to lmsyncd: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int recv_reply(int fd, struct ctl_reader *r, int timeout_ms, lm_err *err)
{
	int64_t deadline = now_ms() + timeout_ms;
	const uint8_t *msg;
	size_t len;
	char buf[8192];

	while (!ctl_reader_next(r, &msg, &len)) {
		struct pollfd pfd = {fd, POLLIN, 0};
		int64_t left = deadline - now_ms();
		ssize_t n;
		int rc;

		if (left <= 0)
			return lm_errf(err, "lmsyncd did not answer within %d ms", timeout_ms);
		rc = poll(&pfd, 1, (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return lm_errf(err, "waiting for lmsyncd: %s", strerror(errno));
		if (rc == 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return lm_errf(err, "reading from lmsyncd: %s", strerror(errno));
		if (n == 0)
			return lm_errf(err, "lmsyncd closed the connection without answering");
		if (ctl_reader_feed(r, buf, (size_t)n, err) != 0)
			return -1;
	}
	return 0;
}

/* msgpack-c's objects point into the bytes they were unpacked from, so the
 * reply gets its own copy, freed with its zone. */
static int unpack_owned(const uint8_t *msg, size_t len, msgpack_unpacked *reply, lm_err *err)
{
	char *copy = malloc(len ? len : 1);

	if (copy == NULL)
		return lm_errf(err, "out of memory reading the reply of lmsyncd");
	memcpy(copy, msg, len);
	if (msgpack_unpack_next(reply, copy, len, NULL) != MSGPACK_UNPACK_SUCCESS) {
		free(copy);
		return lm_errf(err, "lmsyncd sent a reply this lmsync cannot read");
	}
	if (!msgpack_zone_push_finalizer(reply->zone, free, copy)) {
		free(copy);
		msgpack_unpacked_destroy(reply);
		msgpack_unpacked_init(reply);
		return lm_errf(err, "out of memory reading the reply of lmsyncd");
	}
	return 0;
}

static int exchange(int fd, const char *command, const uint64_t *arg, int timeout_ms,
		    msgpack_unpacked *reply, lm_err *err)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct ctl_reader r;
	uint8_t hdr[CTL_HEADER_LEN];
	const uint8_t *msg;
	size_t len;
	int rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, arg ? 2 : 1);
	mp_pack_cstr(&pk, command);
	if (arg)
		msgpack_pack_uint64(&pk, *arg);
	ctl_header_write(hdr, (uint32_t)sb.size);
	ctl_reader_init(&r, REPLY_MAX);
	rc = send_all(fd, hdr, sizeof(hdr), err);
	if (rc == 0)
		rc = send_all(fd, sb.data, sb.size, err);
	if (rc == 0)
		rc = recv_reply(fd, &r, timeout_ms, err);
	if (rc == 0 && ctl_reader_next(&r, &msg, &len))
		rc = unpack_owned(msg, len, reply, err);
	ctl_reader_free(&r);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

static int request(const char *path, const char *command, const uint64_t *arg, int timeout_ms,
		   msgpack_unpacked *reply, lm_err *err)
{
	int fd = -1, rc;

	msgpack_unpacked_init(reply);
	rc = connect_socket(path, &fd, err);
	if (rc != CONTROL_REPLY)
		return rc;
	rc = exchange(fd, command, arg, timeout_ms, reply, err);
	close(fd);
	return rc;
}

int control_request(const char *path, const char *command, int timeout_ms, msgpack_unpacked *reply,
		    lm_err *err)
{
	return request(path, command, NULL, timeout_ms, reply, err);
}

int control_request_u64(const char *path, const char *command, uint64_t arg, int timeout_ms,
			msgpack_unpacked *reply, lm_err *err)
{
	return request(path, command, &arg, timeout_ms, reply, err);
}
