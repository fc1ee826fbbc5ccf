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
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define PERIOD 65521u          /* prime, so no message size lines up with it */
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

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void cpu_s(double *user, double *sys)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    *sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void make_pattern(void)
{
    uint32_t x = 2463534242u;  /* xorshift32: cheap, deterministic, not periodic in bytes */
    pattern = malloc(PERIOD + CHUNK);
    rbuf = malloc(CHUNK);
    if (pattern == NULL || rbuf == NULL) {
        perror("malloc");
        exit(1);
    }
    for (uint32_t i = 0; i < PERIOD; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        pattern[i] = (unsigned char)(x >> 24);
    }
    for (uint32_t i = PERIOD; i < PERIOD + CHUNK; i++)
        pattern[i] = pattern[i - PERIOD];
}

static void arm_out(struct conn *c, int on)
{
    if (c->out_armed == on)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
        c->out_armed = on;
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
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {.tv_sec = 5, .tv_usec = 0};  /* bounds a blocking connect */
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (const struct sockaddr *)addr, sizeof *addr) < 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
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
    long port = 0, conns = 0;
    double duration = 10.0, warmup = 1.0;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        const char *k = argv[i], *v = argv[++i];
        if (!strcmp(k, "--host"))
            host = v;
        else if (!strcmp(k, "--port"))
            port = atol(v);
        else if (!strcmp(k, "--mode"))
            mode = v;
        else if (!strcmp(k, "--conns"))
            conns = atol(v);
        else if (!strcmp(k, "--size"))
            msg_size = (uint64_t)atol(v);
        else if (!strcmp(k, "--inflight"))
            inflight = (uint64_t)atol(v);
        else if (!strcmp(k, "--duration"))
            duration = atof(v);
        else if (!strcmp(k, "--warmup"))
            warmup = atof(v);
        else if (!strcmp(k, "--verify"))
            verify_mode = v;
        else
            usage();
    }
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

    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
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
    double t_start = now_s();
    double t_measure = t_start + warmup, t_end = t_measure + duration;
    double t0 = 0, t1 = 0, u0 = 0, s0 = 0, u1 = 0, s1 = 0;
    uint64_t r0 = 0, r1 = 0;
    int measuring = 0;
    for (;;) {  /* bounded: leaves at t_end, or when every connection has failed */
        double now = now_s();
        if (!measuring && now >= t_measure) {
            measuring = 1;
            t0 = now;
            r0 = total_recvd;
            cpu_s(&u0, &s0);
            printf("{\"event\":\"measuring\"}\n");
            fflush(stdout);
        }
        if (measuring && now >= t_end) {
            t1 = now;
            r1 = total_recvd;
            cpu_s(&u1, &s1);
            break;
        }
        if (conn_errors >= (uint64_t)conns) {
            t1 = now;
            r1 = total_recvd;
            cpu_s(&u1, &s1);
            if (!measuring) {
                t0 = t1;
                r0 = r1;
                u0 = u1;
                s0 = s1;
            }
            break;
        }
        double next = measuring ? t_end : t_measure;
        int timeout_ms = (int)((next - now) * 1000.0) + 1;
        if (timeout_ms > 100)
            timeout_ms = 100;
        int n = epoll_wait(epfd, evs, MAX_EVENTS, timeout_ms);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            uint32_t e = evs[i].events;
            if (!c->dead && (e & (EPOLLIN | EPOLLERR | EPOLLHUP)))
                pump_recv(c);
            if (!c->dead && (e & EPOLLOUT))
                pump_send(c);
        }
    }

    double secs = t1 - t0;
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
           (unsigned long long)conn_errors, u1 - u0, s1 - s0);
    fflush(stdout);
    return errors ? 1 : 0;
}
