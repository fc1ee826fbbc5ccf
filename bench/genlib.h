/*
 * genlib: the socket, window and reporting plumbing the bench load generators share
 * (loadgen.c, chatgen.c, udpgen.c, tlsgen.c).
 *
 * Why a library: the four generators measure different protocols, but each parses the
 * same kind of "--key value" command line, builds the same xorshift byte pattern to
 * check echoes against, opens nonblocking TCP_NODELAY sockets registered with one epoll
 * set, arms EPOLLOUT only after EAGAIN, sizes its epoll_wait timeout from the next
 * deadline, and reports the same measuring window (monotonic time plus its own
 * getrusage CPU) as JSON lines a Python driver reads. One copy of each keeps the four
 * measuring the same way. Only what is identical lives here; each generator keeps its
 * own state machine and its own result fields.
 */
#ifndef GENLIB_H
#define GENLIB_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

/* Echo pattern: byte i is pattern[i % GL_PERIOD]; prime, so no message size lines up. */
#define GL_PERIOD 65521u

/* ---- command line ---- */

enum gl_opt_type { GL_STR, GL_LONG, GL_DOUBLE };

/* One "--name value" option; `ptr` points at a const char *, long or double. */
struct gl_opt {
    const char *name;
    enum gl_opt_type type;
    void *ptr;
};

/*
 * Parse argv as "--name value" pairs against `opts` (terminated by a {NULL} entry).
 * An unknown option or a missing value calls `usage` (which must not return).
 */
void gl_parse_args(int argc, char **argv, const struct gl_opt *opts, void (*usage)(void));

/* 127.0.0.1-style host and port to an IPv4 address; 0 when either is invalid. */
int gl_addr(const char *host, long port, struct sockaddr_in *addr);

/* ---- time and CPU ---- */

double gl_now(void);                        /* CLOCK_MONOTONIC, seconds */
void gl_cpu(double *user, double *sys);     /* this process's getrusage CPU, seconds */

/*
 * The epoll_wait timeout to reach `deadline` from now: rounded up (so the loop does not
 * spin just short of it), never negative, at most `cap_ms` (so the caller re-checks its
 * clocks and counters regularly).
 */
int gl_timeout_ms(double deadline, int cap_ms);

/* ---- the measured window ---- */

/* One end of a window: when, and how much CPU this process had used by then. */
struct gl_mark {
    double t, user, sys;
};

void gl_mark(struct gl_mark *m);

/*
 * Print {"event":"NAME"} and flush: the driver samples the server's CPU at the instant it
 * reads the line, so both ends of every CPU figure cover the same seconds.
 */
void gl_event(const char *name);

/* ---- byte pattern ---- */

/*
 * Fill buf[0 .. GL_PERIOD + extra) with the xorshift32 pattern, repeated past GL_PERIOD so
 * any `extra`-long slice starting below GL_PERIOD is contiguous.
 */
void gl_make_pattern(unsigned char *buf, size_t extra);

/* malloc or exit(1) with a message: the generators have nothing to fall back on. */
void *gl_xmalloc(size_t n);

/* ---- sockets and epoll ---- */

/* Set O_NONBLOCK; set TCP_NODELAY (each generator's messages are small and timed). */
void gl_nonblock(int fd);
void gl_nodelay(int fd);

/*
 * A nonblocking TCP_NODELAY socket with a connect to `addr` started; returns the fd, or
 * -1 (errno set) when the socket or the connect failed. The caller learns the outcome
 * from EPOLLOUT and gl_connect_error.
 */
int gl_connect_nb(const struct sockaddr_in *addr);

/*
 * A blocking connect bounded by a 5 s send timeout, then nonblocking and TCP_NODELAY;
 * returns the fd or -1 (errno set).
 */
int gl_connect_blocking(const struct sockaddr_in *addr);

/* SO_ERROR of a socket whose nonblocking connect epoll reported done (0: connected). */
int gl_connect_error(int fd);

/*
 * Watch `fd` for exactly `events` with data.ptr = ptr; *current holds what epoll watches
 * now (0: not registered yet) and is updated on success. No syscall when unchanged.
 */
int gl_watch(int epfd, int fd, void *ptr, uint32_t events, uint32_t *current);

/*
 * EPOLLIN always, EPOLLOUT only while `on`: armed after EAGAIN and dropped once the
 * pending bytes are out, since a level-triggered EPOLLOUT on a writable socket would wake
 * every turn. *armed is 0 or 1. The fd must already be registered.
 */
void gl_arm_out(int epfd, int fd, void *ptr, int on, int *armed);

#endif
