/*
 * tlsgen: a single-threaded epoll TLS load generator for echo servers (OpenSSL).
 *
 * Why C and one thread: the servers under test are Python, so the client must cost
 * less CPU than the server or the benchmark measures the client. TLS is symmetric in
 * cost (both ends run the key exchange, both encrypt and decrypt every byte), so the
 * client skips what a benchmark does not need: it does not verify the certificate
 * chain unless --ca is given (the handshake signature is still checked: TLS 1.3 always
 * verifies CertificateVerify), and it reads ahead to save system calls.
 *
 * Modes:
 *   handshake  N connections, each repeatedly: connect, full TLS handshake (a new SSL
 *              object; with --resume 1 the SSL_SESSION of the slot's previous
 *              connection is offered), send one --size message, read the echo back,
 *              send close_notify, wait for the server's close_notify and its TCP close
 *              (so every server sees a clean close), close. Counts completed cycles a
 *              second and handshake latency (connect() to handshake done).
 *   bulk       N connections, one handshake each, then --inflight messages of --size
 *              bytes in flight per connection; counts echoed bytes a second.
 *
 * Each connection sends a known byte stream: byte o of connection c is
 * pattern[(o + offset_c) % PERIOD] (xorshift, prime PERIOD), so a lost, duplicated or
 * reordered chunk of echo shows up as a mismatch. --verify full compares every byte
 * read; sample compares the first 4 KiB of each SSL_read (bulk; the decryption has
 * copied the bytes anyway, so this only spares the memcmp).
 *
 * Usage:
 *   tlsgen --port P [--mode handshake|bulk] [--tls 1.2|1.3] [--resume 0|1]
 *          [--conns N] [--size S] [--inflight K] [--duration D] [--warmup W]
 *          [--verify full|sample] [--ca CA.pem] [--sni NAME]
 * Defaults: handshake 16 conns, 64 B; bulk 10 conns, 64 KiB, 2 in flight; TLS 1.3;
 * D = 10 s, W = 1 s.
 *
 * Output (stdout, one JSON object a line): {"event":"measuring"} when the warm-up ends,
 * then one result object. Exit status: 0 when no byte mismatched and no connection
 * failed, else 1 (2: usage).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "genlib.h"

#define PERIOD GL_PERIOD        /* prime, so no message size lines up with it */
#define CHUNK (256u * 1024u)    /* largest single SSL_write / SSL_read */
#define MAX_CONNS 1000
#define MAX_EVENTS 128
#define SAMPLE 4096u            /* bytes compared per read with sampled verification */
#define MAX_SAMPLES (1u << 21)  /* latency samples kept (about 16 MiB of doubles) */
#define READS_PER_TURN 64       /* SSL_reads per connection before others get a turn */
#define CYCLE_DEADLINE 10.0     /* seconds a cycle (or a bulk echo) may make no progress */
#define STALL_S 2.0             /* at the end: no progress for this long counts as an error */
#define MAX_FAILURES 200        /* give up after this many failed connections */

enum state {
    S_IDLE, S_CONNECTING, S_HANDSHAKE, S_SEND, S_RECV, S_SHUTDOWN, S_EOF, S_BULK, S_DEAD
};

struct conn {
    int fd;
    int id;
    enum state state;
    SSL *ssl;
    SSL_SESSION *session;  /* the slot's last resumable session (--resume 1) */
    uint32_t events;       /* what epoll watches now (0: not registered) */
    int want_write;        /* the last SSL call asked to write: watch EPOLLOUT */
    int queued;            /* in the again list (SSL holds unread data) */
    double t_connect;      /* cycle start: connect() */
    double t_progress;     /* the cycle started or echoed bytes came back */
    uint64_t sent;         /* application bytes of this connection's stream */
    uint64_t recvd;
    size_t retry_len;      /* length of an SSL_write to repeat after WANT_* (0: none) */
    uint32_t offset;       /* where this connection's stream starts in the pattern */
};

static unsigned char *pattern;  /* PERIOD + CHUNK bytes: any CHUNK-long slice is contiguous */
static unsigned char *rbuf;
static int epfd;
static SSL_CTX *ctx;
static struct sockaddr_in addr;
static const char *sni = "localhost";
static int bulk = 0, resume = 0, sample_verify = 0, measuring = 0, stopping = 0;
static uint64_t msg_size = 0, inflight = 0;
static uint64_t total_recvd = 0, verified_bytes = 0;
static uint64_t mismatched_bytes = 0, mismatched_reads = 0, conn_errors = 0;
static uint64_t cycles = 0, handshakes = 0, resumed = 0;  /* in the window */
static uint64_t hs_total = 0, resumed_total = 0;          /* whole run */
static uint64_t closed_without_notify = 0, stream_offset = 0;
static double *hs_lat, *cycle_lat;
static size_t n_hs_lat = 0, n_cycle_lat = 0;
static struct conn **again;
static size_t n_again = 0;
static char version_seen[32] = "", cipher_seen[64] = "", group_seen[32] = "";

static void make_pattern(void)
{
    pattern = gl_xmalloc(PERIOD + CHUNK);
    rbuf = gl_xmalloc(CHUNK);
    hs_lat = gl_xmalloc(MAX_SAMPLES * sizeof *hs_lat);
    cycle_lat = gl_xmalloc(MAX_SAMPLES * sizeof *cycle_lat);
    gl_make_pattern(pattern, CHUNK);
}

/* Watch what the connection's state needs: EPOLLOUT while connecting or when the last
 * SSL call wanted to write, EPOLLIN otherwise. */
static void watch(struct conn *c)
{
    uint32_t ev = (c->state == S_CONNECTING) ? EPOLLOUT : EPOLLIN;
    if (c->want_write)
        ev |= EPOLLOUT;
    gl_watch(epfd, c->fd, c, ev, &c->events);
}

static void drop_socket(struct conn *c)
{
    if (c->ssl != NULL) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0) {
        close(c->fd);  /* also removes it from the epoll set */
        c->fd = -1;
    }
    c->events = 0;
    c->want_write = 0;
    c->retry_len = 0;
}

static int start_cycle(struct conn *c);

static void fail(struct conn *c, const char *why, int err)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "-";
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    if (conn_errors < 10)
        fprintf(stderr, "tlsgen: connection %d (state %d): %s: %s %s\n", c->id, c->state,
                why, err ? strerror(err) : "", buf);
    ERR_clear_error();
    conn_errors++;
    drop_socket(c);
    c->state = S_DEAD;
    /* handshake mode: the slot starts over, until too much has failed */
    if (!bulk && !stopping && conn_errors < MAX_FAILURES)
        start_cycle(c);
}

/* Check n bytes just read against what this connection sent at that point. */
static void verify(struct conn *c, size_t n)
{
    if (c->recvd + n > c->sent) {
        mismatched_reads++;
        mismatched_bytes += c->recvd + n - c->sent;
    }
    size_t m = (sample_verify && n > SAMPLE) ? SAMPLE : n;
    const unsigned char *expect = pattern + (c->recvd + c->offset) % PERIOD;
    if (memcmp(rbuf, expect, m) != 0) {
        mismatched_reads++;
        for (size_t i = 0; i < m; i++)
            mismatched_bytes += rbuf[i] != expect[i];
    }
    verified_bytes += m;
}

/* The error of an SSL call that returned r <= 0: 1 to wait (WANT_READ/WANT_WRITE set
 * want_write accordingly), 0 after failing the connection. */
static int ssl_wait(struct conn *c, int r, const char *what)
{
    int err = SSL_get_error(c->ssl, r);
    if (err == SSL_ERROR_WANT_READ) {
        c->want_write = 0;
        return 1;
    }
    if (err == SSL_ERROR_WANT_WRITE) {
        c->want_write = 1;
        return 1;
    }
    fail(c, what, err == SSL_ERROR_SYSCALL ? errno : 0);
    return 0;
}

static void note_session(struct conn *c)
{
    if (version_seen[0] == 0) {
        snprintf(version_seen, sizeof version_seen, "%s", SSL_get_version(c->ssl));
        snprintf(cipher_seen, sizeof cipher_seen, "%s", SSL_get_cipher_name(c->ssl));
        int nid = (int)SSL_get_negotiated_group(c->ssl);
        const char *g = nid > 0 ? OBJ_nid2sn(nid) : "?";
        snprintf(group_seen, sizeof group_seen, "%s", g ? g : "?");
    }
}

static void step(struct conn *c);

/* Start one handshake-mode cycle (or the bulk connection): a nonblocking connect. */
static int start_cycle(struct conn *c)
{
    c->state = S_CONNECTING;
    c->t_connect = c->t_progress = gl_now();
    c->sent = c->recvd = 0;
    c->offset = (uint32_t)((stream_offset++ * 4099u) % PERIOD);
    int fd = gl_connect_nb(&addr);
    if (fd < 0) {
        fail(c, "connect", errno);
        return -1;
    }
    c->fd = fd;
    watch(c);  /* EPOLLOUT: connected (or failed) */
    return 0;
}

static void begin_tls(struct conn *c)
{
    int err = gl_connect_error(c->fd);
    if (err != 0) {
        fail(c, "connect", err);
        return;
    }
    c->ssl = SSL_new(ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
        fail(c, "SSL_new", 0);
        return;
    }
    SSL_set_connect_state(c->ssl);
    SSL_set_tlsext_host_name(c->ssl, sni);
    if (resume && c->session != NULL)
        SSL_set_session(c->ssl, c->session);
    c->state = S_HANDSHAKE;
    step(c);
}

static void handshake_done(struct conn *c)
{
    double t = gl_now();
    note_session(c);
    int reused = SSL_session_reused(c->ssl);
    hs_total++;
    resumed_total += (uint64_t)reused;
    if (measuring) {
        handshakes++;
        resumed += (uint64_t)reused;
        if (n_hs_lat < MAX_SAMPLES)
            hs_lat[n_hs_lat++] = t - c->t_connect;
    }
    c->state = bulk ? S_BULK : S_SEND;
}

/* Send until `inflight` messages beyond the last fully echoed one are written (bulk), or
 * the one message (handshake mode). Returns 0 once the connection failed. */
static int pump_send(struct conn *c)
{
    uint64_t target = bulk ? (c->recvd / msg_size + inflight) * msg_size : msg_size;
    while (c->sent < target) {
        uint64_t want = target - c->sent;
        size_t n = c->retry_len ? c->retry_len : (want > CHUNK ? CHUNK : (size_t)want);
        const unsigned char *p = pattern + (c->sent + c->offset) % PERIOD;
        int w = SSL_write(c->ssl, p, (int)n);
        if (w > 0) {
            c->sent += (uint64_t)w;
            c->retry_len = 0;
            continue;
        }
        c->retry_len = n;  /* OpenSSL wants the same call repeated */
        return ssl_wait(c, w, "SSL_write");
    }
    c->want_write = 0;
    return 1;
}

/* Read what is there (until WANT_READ, or READS_PER_TURN reads), checking it. Returns 0
 * once the connection failed. */
static int pump_recv(struct conn *c)
{
    for (int i = 0; i < READS_PER_TURN; i++) {
        int r = SSL_read(c->ssl, rbuf, CHUNK);
        if (r <= 0)
            return ssl_wait(c, r, "SSL_read");
        verify(c, (size_t)r);
        c->t_progress = gl_now();
        c->recvd += (uint64_t)r;
        total_recvd += (uint64_t)r;
        if (!bulk && c->recvd >= msg_size)
            return 1;
        if (bulk && !pump_send(c))
            return 0;
    }
    if (SSL_has_pending(c->ssl) && !c->queued) {
        c->queued = 1;  /* the rest is in OpenSSL's buffer: epoll will not report it */
        again[n_again++] = c;
    }
    return 1;
}

static void cycle_done(struct conn *c)
{
    double t = gl_now();
    if (measuring) {
        cycles++;
        if (n_cycle_lat < MAX_SAMPLES)
            cycle_lat[n_cycle_lat++] = t - c->t_connect;
    }
    drop_socket(c);
    c->state = S_IDLE;
    if (!stopping)
        start_cycle(c);
}

/* Run the connection's state machine until an SSL call has to wait for the socket. */
static void step(struct conn *c)
{
    for (int guard = 0; guard < 16; guard++) {  /* a cycle has 6 states: bounded */
        int r;
        switch (c->state) {
        case S_HANDSHAKE:
            r = SSL_do_handshake(c->ssl);
            if (r != 1) {
                if (ssl_wait(c, r, "handshake"))
                    watch(c);
                return;
            }
            handshake_done(c);
            break;
        case S_SEND:
            if (!pump_send(c))
                return;
            if (c->sent < msg_size) {
                watch(c);
                return;
            }
            c->state = S_RECV;
            break;
        case S_RECV:
            if (!pump_recv(c))
                return;
            if (c->recvd < msg_size) {
                watch(c);
                return;
            }
            if (resume) {
                /* TLS 1.3 tickets arrive after the handshake: take the session now */
                SSL_SESSION *s = SSL_get1_session(c->ssl);
                if (s != NULL && SSL_SESSION_is_resumable(s)) {
                    SSL_SESSION_free(c->session);
                    c->session = s;
                } else {
                    SSL_SESSION_free(s);
                }
            }
            c->state = S_SHUTDOWN;
            r = SSL_shutdown(c->ssl);  /* sends close_notify */
            if (r < 0 && !ssl_wait(c, r, "SSL_shutdown"))
                return;
            break;
        case S_SHUTDOWN:
            if (c->want_write) {  /* close_notify not fully written yet */
                r = SSL_shutdown(c->ssl);
                if (r < 0) {
                    if (ssl_wait(c, r, "SSL_shutdown"))
                        watch(c);
                    return;
                }
                c->want_write = 0;
            }
            r = SSL_read(c->ssl, rbuf, CHUNK);
            if (r > 0) {
                fail(c, "data after the echo", 0);
                return;
            }
            {
                int err = SSL_get_error(c->ssl, r);
                if (err == SSL_ERROR_ZERO_RETURN) {
                    /* the server's close_notify: now wait for its TCP close, so the
                     * server sees a clean close and not a reset */
                    c->state = S_EOF;
                    break;
                }
                if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
                    closed_without_notify++;  /* TCP closed without close_notify */
                    cycle_done(c);
                    return;
                }
                if (err == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_error()) ==
                                                SSL_R_UNEXPECTED_EOF_WHILE_READING) {
                    ERR_clear_error();
                    closed_without_notify++;
                    cycle_done(c);
                    return;
                }
            }
            if (ssl_wait(c, r, "SSL_read (closing)"))
                watch(c);
            return;
        case S_EOF: {
            ssize_t n = recv(c->fd, rbuf, CHUNK, 0);
            if (n == 0) {
                cycle_done(c);
            } else if (n > 0) {
                fail(c, "bytes after close_notify", 0);
            } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                c->want_write = 0;
                watch(c);
            } else {
                fail(c, "recv (closing)", errno);
            }
            return;
        }
        case S_BULK:
            /* send last, so want_write says whether a write is waiting for room */
            if (!pump_recv(c) || !pump_send(c))
                return;
            watch(c);
            return;
        default:
            return;
        }
    }
}

static void on_event(struct conn *c)
{
    if (c->state == S_CONNECTING)
        begin_tls(c);
    else if (c->state != S_IDLE && c->state != S_DEAD)
        step(c);
}

/* Without --ca: accept the chain without building it (OpenSSL would otherwise still run
 * X509_verify_cert under SSL_VERIFY_NONE, only to ignore the result). */
static int accept_chain(X509_STORE_CTX *store, void *arg)
{
    (void)store;
    (void)arg;
    return 1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double quantile_ms(double *v, size_t n, double q)
{
    if (n == 0)
        return 0.0;
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return v[i] * 1e3;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: tlsgen --port P [--host 127.0.0.1] [--mode handshake|bulk] [--tls 1.2|1.3]\n"
            "              [--resume 0|1] [--conns N] [--size S] [--inflight K]\n"
            "              [--duration D] [--warmup W] [--verify full|sample] [--ca CA.pem]\n"
            "              [--sni NAME]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *mode = "handshake", *tls = "1.3";
    const char *verify_mode = "full", *ca = NULL;
    long port = 0, conns = 0, resume_arg = 0, size = 0, inflight_arg = 0;
    double duration = 10.0, warmup = 1.0;
    const struct gl_opt opts[] = {
        {"--host", GL_STR, &host},          {"--port", GL_LONG, &port},
        {"--mode", GL_STR, &mode},          {"--tls", GL_STR, &tls},
        {"--resume", GL_LONG, &resume_arg}, {"--conns", GL_LONG, &conns},
        {"--size", GL_LONG, &size},         {"--inflight", GL_LONG, &inflight_arg},
        {"--duration", GL_DOUBLE, &duration}, {"--warmup", GL_DOUBLE, &warmup},
        {"--verify", GL_STR, &verify_mode}, {"--ca", GL_STR, &ca},
        {"--sni", GL_STR, &sni},            {NULL, GL_STR, NULL},
    };
    gl_parse_args(argc, argv, opts, usage);
    resume = (int)resume_arg;
    msg_size = (uint64_t)size;
    inflight = (uint64_t)inflight_arg;
    bulk = !strcmp(mode, "bulk");
    if (!bulk && strcmp(mode, "handshake"))
        usage();
    if (conns == 0)
        conns = bulk ? 10 : 16;
    if (msg_size == 0)
        msg_size = bulk ? 65536 : 64;
    if (inflight == 0)
        inflight = bulk ? 2 : 1;
    sample_verify = !strcmp(verify_mode, "sample");
    if (!sample_verify && strcmp(verify_mode, "full"))
        usage();
    int version = !strcmp(tls, "1.2") ? TLS1_2_VERSION : !strcmp(tls, "1.3") ? TLS1_3_VERSION : 0;
    if (version == 0 || conns < 1 || conns > MAX_CONNS ||
        duration <= 0 || warmup < 0 || msg_size < 1 || msg_size > 16u * 1024 * 1024 ||
        inflight > 1024 || (resume && bulk))
        usage();
    if (!gl_addr(host, port, &addr))
        usage();

    ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        ERR_print_errors_fp(stderr);
        return 1;
    }
    SSL_CTX_set_min_proto_version(ctx, version);
    SSL_CTX_set_max_proto_version(ctx, version);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (bulk) {
        /* Read whole runs of records per recv (fewer system calls); in handshake mode a
         * 64 KiB buffer per short-lived connection would cost more than it saves. */
        SSL_CTX_set_read_ahead(ctx, 1);
        SSL_CTX_set_default_read_buffer_len(ctx, 64 * 1024);
    }
    /* Sessions are kept by hand per slot (--resume); no client cache. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (ca != NULL) {
        if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
            ERR_print_errors_fp(stderr);
            return 1;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        X509_VERIFY_PARAM_set1_host(SSL_CTX_get0_param(ctx), sni, 0);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        if (getenv("TLSGEN_BUILD_CHAIN") == NULL)
            SSL_CTX_set_cert_verify_callback(ctx, accept_chain, NULL);
    }

    make_pattern();
    epfd = epoll_create1(0);
    struct conn *cs = calloc((size_t)conns, sizeof *cs);
    again = calloc((size_t)conns, sizeof *again);
    if (epfd < 0 || cs == NULL || again == NULL) {
        perror("setup");
        return 1;
    }
    for (long i = 0; i < conns; i++) {
        cs[i].id = (int)i;
        cs[i].fd = -1;
        start_cycle(&cs[i]);
    }

    struct epoll_event evs[MAX_EVENTS];
    double t_start = gl_now();
    double t_measure = t_start + warmup, t_end = t_measure + duration, t_check = t_start;
    struct gl_mark m0 = {0}, m1 = {0};
    uint64_t r0 = 0, r1 = 0;
    for (;;) {  /* bounded: leaves at t_end, or when too many connections failed */
        double now = gl_now();
        if (!measuring && now >= t_measure) {
            measuring = 1;
            gl_mark(&m0);
            r0 = total_recvd;
            gl_event("measuring");
        }
        int live = 0;
        for (long i = 0; i < conns; i++)
            live += cs[i].state != S_DEAD;
        if ((measuring && now >= t_end) || live == 0 || conn_errors >= MAX_FAILURES) {
            gl_mark(&m1);
            r1 = total_recvd;
            if (!measuring) {
                m0 = m1;
                r0 = r1;
            }
            break;
        }
        if (now - t_check >= 0.1) {  /* a connection stuck past the deadline fails */
            t_check = now;
            for (long i = 0; i < conns; i++)
                if (cs[i].state != S_DEAD && cs[i].state != S_IDLE &&
                    now - cs[i].t_progress > CYCLE_DEADLINE)
                    fail(&cs[i], "no progress (deadline)", ETIMEDOUT);
        }
        /* 0 while OpenSSL holds read data: epoll would not report it */
        int timeout_ms = n_again > 0 ? 0 : gl_timeout_ms(measuring ? t_end : t_measure, 100);
        int n = epoll_wait(epfd, evs, MAX_EVENTS, timeout_ms);
        for (int i = 0; i < n; i++)
            on_event(evs[i].data.ptr);
        size_t pending = n_again;  /* connections whose data waits inside OpenSSL */
        n_again = 0;
        for (size_t i = 0; i < pending; i++) {
            struct conn *c = again[i];
            c->queued = 0;
            if (c->state == S_BULK)
                step(c);
        }
    }
    stopping = 1;
    /* A lost echo shows as a connection that stopped moving, not as a wrong byte. */
    uint64_t stalled = 0;
    for (long i = 0; i < conns; i++)
        if (cs[i].state != S_DEAD && cs[i].state != S_IDLE && m1.t - cs[i].t_progress > STALL_S) {
            fprintf(stderr, "tlsgen: connection %ld: no progress for %.1f s (state %d)\n", i,
                    m1.t - cs[i].t_progress, cs[i].state);
            stalled++;
        }

    double secs = m1.t - m0.t;
    double bytes = (double)(r1 - r0);
    double msgs = bulk ? bytes / (double)msg_size : (double)cycles;
    uint64_t errors = mismatched_reads + conn_errors + stalled;
    qsort(hs_lat, n_hs_lat, sizeof *hs_lat, cmp_double);
    qsort(cycle_lat, n_cycle_lat, sizeof *cycle_lat, cmp_double);
    printf("{\"mode\":\"%s\",\"tls\":\"%s\",\"resume\":%d,\"conns\":%ld,\"size\":%llu,"
           "\"inflight\":%llu,\"verify\":\"%s\",\"verify_chain\":%s,"
           "\"version\":\"%s\",\"cipher\":\"%s\",\"group\":\"%s\","
           "\"duration_s\":%.3f,\"msgs\":%.0f,\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,"
           "\"handshakes\":%llu,\"handshakes_per_s\":%.1f,\"cycles_per_s\":%.1f,"
           "\"resumed\":%llu,\"resumed_fraction\":%.4f,"
           "\"handshakes_total\":%llu,\"resumed_total\":%llu,"
           "\"hs_p50_ms\":%.3f,\"hs_p99_ms\":%.3f,\"cycle_p50_ms\":%.3f,\"cycle_p99_ms\":%.3f,"
           "\"closed_without_notify\":%llu,\"stalled\":%llu,\"verified_bytes\":%llu,"
           "\"errors\":%llu,\"mismatched_bytes\":%llu,\"conn_errors\":%llu,"
           "\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f}\n",
           mode, tls, resume, conns, (unsigned long long)msg_size,
           (unsigned long long)inflight, verify_mode, ca ? "true" : "false",
           version_seen, cipher_seen, group_seen,
           secs, msgs, secs > 0 ? msgs / secs : 0.0, secs > 0 ? bytes / secs / 1e6 : 0.0,
           (unsigned long long)handshakes, secs > 0 ? (double)handshakes / secs : 0.0,
           secs > 0 ? (double)cycles / secs : 0.0,
           (unsigned long long)resumed, handshakes ? (double)resumed / (double)handshakes : 0.0,
           (unsigned long long)hs_total, (unsigned long long)resumed_total,
           quantile_ms(hs_lat, n_hs_lat, 0.5), quantile_ms(hs_lat, n_hs_lat, 0.99),
           quantile_ms(cycle_lat, n_cycle_lat, 0.5), quantile_ms(cycle_lat, n_cycle_lat, 0.99),
           (unsigned long long)closed_without_notify, (unsigned long long)stalled,
           (unsigned long long)verified_bytes,
           (unsigned long long)errors, (unsigned long long)mismatched_bytes,
           (unsigned long long)conn_errors, m1.user - m0.user, m1.sys - m0.sys);
    fflush(stdout);
    return errors ? 1 : 0;
}
