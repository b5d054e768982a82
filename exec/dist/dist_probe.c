/* dist_probe.c — the listeners' watchdog.
 *
 * nng 1.5.2 has a defect (nanomsg/nng#1518, fixed upstream after 1.5.2):
 * when a peer goes away in the middle of the connection's setup, the
 * listener's accept loop takes the failed write for "closed" and stops
 * for good.  Connections still complete inside the transport, so a
 * worker believes it is connected, but the socket never sees them: a
 * port scanner, or a worker killed at the wrong moment, could leave the
 * coordinator deaf to every new worker.
 *
 * So every DIST_PROBE_SECS the backend connects to each of its own
 * listeners with a plain socket that speaks nng's 8-byte connection
 * header, and waits for that connection to appear on
 * the coordinator's socket (recognised by its peer: this process's pid
 * on ipc, the probe's own port on tcp).  One that does not appear within
 * DIST_PROBE_WAIT means the listener is dead: it is closed (with the
 * connections it had accepted: their workers dial again) and started
 * again on the same address, and the daemon's log says so.  The probe is
 * let go only once the coordinator has seen it whole, so the probe never
 * causes what it looks for.
 *
 * Everything here runs on the backend's thread. */
#include "dist_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define DIST_PROBE_SECS 5.0
#define DIST_PROBE_WAIT 3.0

/* The SP header both ends of an nng connection send first: "\0SP\0",
 * the protocol (pair1: 1 * 16 + 1), two zero bytes.  The probe speaks it
 * on a plain socket: nng 1.5.2's nng_close() of a socket of its own can
 * hang, a plain close() cannot. */
static const unsigned char sp_header[8] = {0, 'S', 'P', 0, 0, 0x11, 0, 0};

static void probe_end(struct backend *b)
{
	if (b->probe_fd >= 0)
		close(b->probe_fd);
	b->probe_fd = -1;
	b->probe_open = false;
	atomic_store(&b->probe_port, 0);
}

/* A non-blocking socket connecting to listener which: 0, or -errno. */
static int probe_connect(struct backend *b, int which)
{
	int fd = -1, rc;
	if (which == 0) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		if (strlen(b->sock_path) >= sizeof(sa.sun_path))
			return -ENAMETOOLONG;
		strcpy(sa.sun_path, b->sock_path);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
			return -errno;
		rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	} else {
		/* tcp://HOST:PORT; a wildcard host is reached on loopback. */
		char host[256];
		const char *h = b->url_tcp + 6, *colon = strrchr(h, ':');
		if (strncmp(b->url_tcp, "tcp://", 6) || !colon || (size_t)(colon - h) >= sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - h), h);
		if (!strcmp(host, "0.0.0.0") || !strcmp(host, "*") || !*host)
			strcpy(host, "127.0.0.1");
		struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai;
		if (getaddrinfo(host, colon + 1, &hints, &ai))
			return -EHOSTUNREACH;
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		rc = fd < 0 ? -1 : connect(fd, ai->ai_addr, ai->ai_addrlen);
		freeaddrinfo(ai);
		if (fd < 0)
			return -errno;
		struct sockaddr_in me;
		socklen_t len = sizeof(me);
		if (!getsockname(fd, (struct sockaddr *)&me, &len))
			atomic_store(&b->probe_port, ntohs(me.sin_port));
	}
	if (rc && errno != EINPROGRESS) {
		rc = -errno;
		close(fd);
		return rc;
	}
	b->probe_fd = fd;
	return 0;
}

static void probe_start(struct backend *b, int which, double now)
{
	b->probe_which = which;
	b->probe_t = now;
	b->probe_seen = false;
	b->probe_sent = b->probe_got = 0;
	b->probe_open = probe_connect(b, which) == 0;
}

/* Move the SP handshake on, without blocking: our header out, the
 * listener's in (that completes the connection on its side too). */
static void probe_step(struct backend *b)
{
	struct pollfd p = {.fd = b->probe_fd, .events = POLLIN | POLLOUT};
	if (poll(&p, 1, 0) <= 0)
		return;
	if (b->probe_sent < sizeof(sp_header) && (p.revents & POLLOUT)) {
		ssize_t n = send(b->probe_fd, sp_header + b->probe_sent,
				 sizeof(sp_header) - b->probe_sent, MSG_NOSIGNAL);
		if (n > 0)
			b->probe_sent += (size_t)n;
	}
	if (b->probe_got < sizeof(sp_header) && (p.revents & POLLIN)) {
		unsigned char buf[8];
		ssize_t n = recv(b->probe_fd, buf, sizeof(sp_header) - b->probe_got, 0);
		if (n > 0)
			b->probe_got += (size_t)n;
	}
}

/* Close listener which and listen on its address again. */
static void relisten(struct backend *b, int which)
{
	const char *url = which == 0 ? b->url_ipc : b->url_tcp;
	dist_log(b, "the listener on %s stopped taking connections (nng 1.5.2's defect after a "
		    "peer left mid-connection); listening again", url);
	if (which == 0 && b->lipc_on) {
		nng_listener_close(b->lipc);
		b->lipc_on = false;
		if (dist_listen_ipc(b))
			dist_log(b, "cannot listen on %s again: local workers cannot connect", url);
	} else if (which == 1 && b->ltcp_on) {
		nng_listener_close(b->ltcp);
		b->ltcp_on = false;
		if (dist_listen_tcp(b))
			dist_log(b, "cannot listen on %s again: pilots cannot connect", url);
	}
}

bool dist_probe_claims(struct backend *b, nng_pipe p)
{
	if (!b->probe_open || b->probe_seen)
		return false;
	nng_sockaddr sa;
	uint64_t pid = 0;
	if (nng_pipe_get_addr(p, NNG_OPT_REMADDR, &sa))
		return false;
	bool mine = false;
	if (b->probe_which == 0 && sa.s_family == NNG_AF_IPC)
		mine = !nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_PID, &pid) &&
		       pid == (uint64_t)getpid();
	else if (b->probe_which == 1 && sa.s_family == NNG_AF_INET)
		mine = atomic_load(&b->probe_port) &&
		       ntohs(sa.s_in.sa_port) == atomic_load(&b->probe_port);
	if (mine)
		b->probe_seen = true;
	return mine;
}

void dist_probe_tick(struct backend *b)
{
	double now = dist_now();
	if (b->probe_open) {
		probe_step(b);
		if (b->probe_seen && b->probe_got == sizeof(sp_header)) {
			probe_end(b); /* seen whole: the listener works */
			b->probe_last = now;
		} else if (now - b->probe_t >= DIST_PROBE_WAIT) {
			int which = b->probe_which;
			probe_end(b);
			relisten(b, which);
			b->probe_last = now;
		}
		return;
	}
	if (now - b->probe_last < DIST_PROBE_SECS)
		return;
	/* ipc and tcp in turn. */
	int which = b->probe_next;
	b->probe_next = b->ltcp_on ? !which : 0;
	b->probe_last = now;
	if ((which == 0 && b->lipc_on) || (which == 1 && b->ltcp_on))
		probe_start(b, which, now);
}

void dist_probe_stop(struct backend *b)
{
	probe_end(b);
}
