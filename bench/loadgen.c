/*
 * loadgen: a single-threaded epoll load generator for echo servers.
 *
 * Why C and one thread: the server under test is Python, so the client must cost much
 * less CPU than the server, or the benchmark measures the client. Every connection
 * keeps a fixed number of messages in flight and sends more only as echoes come back,
 * so the rate measured is the server's round-trip throughput, not a queue filling up.
 *
 * Each connection sends a known byte stream: byte o of connection c is
 * pattern[(o + offset_c) % PERIOD], with a pseudo-random pattern and a prime PERIOD, so
 * one memcmp per read checks that the echo is exactly what was sent, in order (a lost,
 * duplicated or reordered chunk shows up as a mismatch).
 *
 * --verify full compares every byte; --verify sample compares the first 4 KiB of each
 * read and drops the rest in the kernel (MSG_TRUNC). Bulk uses sample by default: there
 * the copy out of the socket is most of the client's CPU (measured: about 0.9 of a core
 * at 1 GB/s with full, 0.4 with sample), and a client as costly as the server it loads
 * cannot show that the server is the bottleneck.
 *
 * Usage:
 *   loadgen --port P [--host 127.0.0.1] [--mode pipelined|bulk] [--conns N]
 *           [--size S] [--inflight K] [--duration D] [--warmup W] [--verify full|sample]
 * Defaults: pipelined 50 conns, 64 B, 16 in flight, full; bulk 10 conns, 64 KiB,
 * 2 in flight, sample; D = 10 s, W = 1 s.
 *
 * Output (stdout, one JSON object a line):
 *   {"event":"measuring"}                  when the warm-up ends (a caller can sample
 *                                          the server's CPU at the same instant)
 *   {"mode":..., "msgs_per_s":..., ...}    at the end
 * Exit status: 0 when no byte mismatched and no connection failed, else 1 (2: usage).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "genlib.h"

#define PERIOD GL_PERIOD
#define CHUNK (256u * 1024u)   /* largest single send/recv */
#define MAX_CONNS 1000
#define MAX_EVENTS 128
#define SAMPLE 4096u            /* bytes compared per read with sampled verification */

struct conn {
    int fd;
    int id;
    int out_armed;       /* EPOLLOUT registered */
    int dead;
    uint64_t sent;
    uint64_t recvd;
    uint32_t offset;     /* where this connection's stream starts in the pattern */
};

static unsigned char *pattern;  /* PERIOD + CHUNK bytes: any CHUNK-long slice is contiguous */
static unsigned char *rbuf;
static int epfd;
static uint64_t msg_size = 0;
static uint64_t inflight = 0;
static uint64_t total_recvd = 0;
static uint64_t mismatched_bytes = 0;
static uint64_t mismatched_reads = 0;
static uint64_t conn_errors = 0;
static uint64_t verified_bytes = 0;
static int sample_verify = 0;

static void make_pattern(void)
{
    pattern = gl_xmalloc(PERIOD + CHUNK);
    rbuf = gl_xmalloc(CHUNK);
    gl_make_pattern(pattern, CHUNK);
}

static void arm_out(struct conn *c, int on)
{
    gl_arm_out(epfd, c->fd, c, on, &c->out_armed);
}

static void kill_conn(struct conn *c, const char *why, int err)
{
    if (c->dead)
        return;
    fprintf(stderr, "loadgen: connection %d: %s: %s\n", c->id, why, err ? strerror(err) : "-");
    conn_errors++;
    c->dead = 1;
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
}

/* Send until `inflight` messages beyond the last fully echoed one are on the wire. */
static void pump_send(struct conn *c)
{
    uint64_t target = (c->recvd / msg_size + inflight) * msg_size;
    while (!c->dead && c->sent < target) {
        uint64_t want = target - c->sent;
        size_t n = want > CHUNK ? CHUNK : (size_t)want;
        const unsigned char *p = pattern + (c->sent + c->offset) % PERIOD;
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            c->sent += (uint64_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            arm_out(c, 1);
            return;
        } else {
            kill_conn(c, "send", w < 0 ? errno : 0);
            return;
        }
    }
    arm_out(c, 0);
}

/* Check n bytes just read against what this connection sent at that point. */
static void verify(struct conn *c, size_t n)
{
    if (c->recvd + n > c->sent) {
        /* More came back than was sent: count the surplus as wrong bytes. */
        mismatched_reads++;
        mismatched_bytes += c->recvd + n - c->sent;
    }
    const unsigned char *expect = pattern + (c->recvd + c->offset) % PERIOD;
    if (memcmp(rbuf, expect, n) != 0) {
        mismatched_reads++;
        for (size_t i = 0; i < n; i++)
            mismatched_bytes += rbuf[i] != expect[i];
    }
}

/*
 * Read what is waiting (level-triggered epoll calls again if more is), check it, then
 * refill. With sampled verification only the first SAMPLE bytes of each read are copied
 * out and compared; the rest is dropped inside the kernel (MSG_TRUNC), which spares the
 * copy that dominates a bulk client's CPU. A lost, duplicated or reordered chunk still
 * shifts the stream and fails the next sample.
 */
static void pump_recv(struct conn *c)
{
    ssize_t r = recv(c->fd, rbuf, sample_verify ? SAMPLE : CHUNK, 0);
    if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return;
        kill_conn(c, "recv", errno);
        return;
    }
    if (r == 0) {
        kill_conn(c, "closed by the server", 0);
        return;
    }
    verify(c, (size_t)r);
    c->recvd += (uint64_t)r;
    total_recvd += (uint64_t)r;
    verified_bytes += (uint64_t)r;
    if (sample_verify && (size_t)r == SAMPLE) {
        ssize_t d = recv(c->fd, NULL, CHUNK, MSG_TRUNC | MSG_DONTWAIT);
        if (d > 0) {
            if (c->recvd + (uint64_t)d > c->sent) {
                mismatched_reads++;
                mismatched_bytes += c->recvd + (uint64_t)d - c->sent;
            }
            c->recvd += (uint64_t)d;
            total_recvd += (uint64_t)d;
        }
    }
    pump_send(c);
}

static int open_conn(struct conn *c, const struct sockaddr_in *addr)
{
    int fd = gl_connect_blocking(addr);
    if (fd < 0)
        return -1;
    c->fd = fd;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        close(fd);
        return -1;
    }
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: loadgen --port P [--host 127.0.0.1] [--mode pipelined|bulk] [--conns N]\n"
            "               [--size S] [--inflight K] [--duration D] [--warmup W]\n"
            "               [--verify full|sample]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    const char *mode = "pipelined";
    const char *verify_mode = NULL;
    long port = 0, conns = 0, size = 0, inflight_arg = 0;
    double duration = 10.0, warmup = 1.0;
    const struct gl_opt opts[] = {
        {"--host", GL_STR, &host},         {"--port", GL_LONG, &port},
        {"--mode", GL_STR, &mode},         {"--conns", GL_LONG, &conns},
        {"--size", GL_LONG, &size},        {"--inflight", GL_LONG, &inflight_arg},
        {"--duration", GL_DOUBLE, &duration}, {"--warmup", GL_DOUBLE, &warmup},
        {"--verify", GL_STR, &verify_mode}, {NULL, GL_STR, NULL},
    };
    gl_parse_args(argc, argv, opts, usage);
    msg_size = (uint64_t)size;
    inflight = (uint64_t)inflight_arg;
    int bulk = !strcmp(mode, "bulk");
    if (!bulk && strcmp(mode, "pipelined"))
        usage();
    if (conns == 0)
        conns = bulk ? 10 : 50;
    if (msg_size == 0)
        msg_size = bulk ? 65536 : 64;
    if (inflight == 0)
        inflight = bulk ? 2 : 16;
    if (verify_mode == NULL)
        verify_mode = bulk ? "sample" : "full";
    sample_verify = !strcmp(verify_mode, "sample");
    if (!sample_verify && strcmp(verify_mode, "full"))
        usage();
    if (port <= 0 || port > 65535 || conns < 1 || conns > MAX_CONNS || duration <= 0 ||
        warmup < 0 || msg_size > 16u * 1024 * 1024 || inflight > 1024)
        usage();

    struct sockaddr_in addr;
    if (!gl_addr(host, port, &addr))
        usage();

    make_pattern();
    epfd = epoll_create1(0);
    struct conn *cs = calloc((size_t)conns, sizeof *cs);
    if (epfd < 0 || cs == NULL) {
        perror("setup");
        return 1;
    }
    for (long i = 0; i < conns; i++) {
        cs[i].id = (int)i;
        cs[i].offset = (uint32_t)((i * 4099u) % PERIOD);
        if (open_conn(&cs[i], &addr) < 0) {
            fprintf(stderr, "loadgen: connect %s:%ld: %s\n", host, port, strerror(errno));
            return 1;
        }
    }
    for (long i = 0; i < conns; i++)
        pump_send(&cs[i]);

    struct epoll_event evs[MAX_EVENTS];
    double t_start = gl_now();
    double t_measure = t_start + warmup, t_end = t_measure + duration;
    struct gl_mark m0 = {0}, m1 = {0};
    uint64_t r0 = 0, r1 = 0;
    int measuring = 0;
    for (;;) {  /* bounded: leaves at t_end, or when every connection has failed */
        double now = gl_now();
        if (!measuring && now >= t_measure) {
            measuring = 1;
            gl_mark(&m0);
            r0 = total_recvd;
            gl_event("measuring");
        }
        if ((measuring && now >= t_end) || conn_errors >= (uint64_t)conns) {
            gl_mark(&m1);
            r1 = total_recvd;
            if (!measuring) {
                m0 = m1;
                r0 = r1;
            }
            break;
        }
        int n = epoll_wait(epfd, evs, MAX_EVENTS, gl_timeout_ms(measuring ? t_end : t_measure, 100));
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            uint32_t e = evs[i].events;
            if (!c->dead && (e & (EPOLLIN | EPOLLERR | EPOLLHUP)))
                pump_recv(c);
            if (!c->dead && (e & EPOLLOUT))
                pump_send(c);
        }
    }

    double secs = m1.t - m0.t;
    double bytes = (double)(r1 - r0);
    double msgs = bytes / (double)msg_size;
    uint64_t errors = mismatched_reads + conn_errors;
    printf("{\"mode\":\"%s\",\"conns\":%ld,\"size\":%llu,\"inflight\":%llu,"
           "\"verify\":\"%s\",\"verified_bytes\":%llu,\"duration_s\":%.3f,\"msgs\":%.0f,\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,"
           "\"errors\":%llu,\"mismatched_bytes\":%llu,\"conn_errors\":%llu,"
           "\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f}\n",
           mode, conns, (unsigned long long)msg_size, (unsigned long long)inflight,
           verify_mode, (unsigned long long)verified_bytes, secs,
           msgs, secs > 0 ? msgs / secs : 0.0, secs > 0 ? bytes / secs / 1e6 : 0.0,
           (unsigned long long)errors, (unsigned long long)mismatched_bytes,
           (unsigned long long)conn_errors, m1.user - m0.user, m1.sys - m0.sys);
    fflush(stdout);
    return errors ? 1 : 0;
}
