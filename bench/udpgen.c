/*
 * udpgen: a single-threaded load generator for UDP echo servers, with a bounded window.
 *
 * Why C, one thread and batched syscalls: the server under test is Python, so the client
 * must cost much less CPU than the server, or the benchmark measures the client.
 * recvmmsg/sendmmsg let one syscall carry a flow's whole batch of echoes and refills.
 *
 * Why a window: UDP has no flow control, so a sender that does not wait only measures
 * how fast the kernel drops datagrams. Here at most --window datagrams are in flight in
 * total, spread over --flows connected sockets (flow i has window/flows slots, the
 * remainder going to the first flows); a slot is refilled when its echo comes back, or
 * when it has waited --loss-timeout seconds (then the datagram counts as lost, and an
 * echo that still arrives later counts as late, not as echoed). So the generator never
 * stalls on a loss, and the server's receive queue never holds more than the window
 * (plus, after a stall, the datagrams it has already been sent and not yet answered).
 * Each flow remembers the state (sent, echoed, lost) of its last 65,536 sequence
 * numbers, which tells a late echo from a duplicate however many times a slot timed out.
 *
 * Each datagram (--size bytes, at least 16) is: nonce (u32, new each run), flow (u16),
 * slot (u16), sequence number (u64, per flow), then a payload taken from a pseudo-random
 * pattern at an offset that depends on flow and sequence, so a changed, truncated,
 * duplicated, stale or foreign echo is detected (memcmp of the whole datagram).
 *
 * Usage:
 *   udpgen --port P [--host 127.0.0.1] [--size 64] [--window 32] [--flows 4]
 *          [--duration 10] [--warmup 1] [--loss-timeout 0.2]
 *
 * Output (stdout, one JSON object a line):
 *   {"event":"measuring"}     when the warm-up ends
 *   {"event":"window_end"}    when the measured window ends (then it drains: it waits
 *                             for the datagrams in flight, at most --loss-timeout)
 *   {...}                     the result
 * Exit status: 0 when no echo was wrong and none came back, 1 otherwise (2: usage).
 * Lost datagrams are reported, not errors: UDP may drop.
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

#define PERIOD GL_PERIOD     /* prime: pattern offsets do not line up with sizes */
#define HEADER 16u
#define MAX_SIZE 1472u       /* one loopback-safe, unfragmented IPv4 payload */
#define MAX_FLOWS 256
#define MAX_WINDOW 4096
#define MAX_BATCH 64         /* datagrams per recvmmsg / sendmmsg */
#define RBUF 2048u           /* receive buffer per datagram: larger echoes show as too long */
#define RTT_BUCKETS 20000    /* 1 us buckets up to 20 ms, then one overflow bucket */
#define HISTORY 65536u       /* sequence numbers whose state each flow remembers */
enum { SENT = 1, ECHOED = 2, LOST = 3 };  /* history entry: seq << 2 | state */

struct slot {
    uint64_t seq;
    double sent_at;
    int busy;
};

struct flow {
    int fd;
    int id;
    int nslots;
    int out_armed;       /* EPOLLOUT registered after EAGAIN */
    uint64_t next_seq;
    struct slot *slots;
    uint64_t *history;   /* [seq % HISTORY] = seq << 2 | state */
};

static unsigned char pattern[PERIOD + MAX_SIZE];
static uint32_t nonce;
static unsigned size = 64;
static int epfd;
static int sending = 1;
static int measuring = 0;

/* Counters: *_w cover the measured window only. */
static uint64_t sent_total, echoed_total, lost_total, late_total;
static uint64_t sent_w, echoed_w, lost_w;
static uint64_t bad_length, bad_content, unexpected, foreign, conn_errors;
static uint64_t recv_calls, send_calls;
static uint64_t rtt_hist[RTT_BUCKETS + 1];
static double rtt_max_us;

/* The whole datagram for (flow, slot, seq), written to buf. */
static void fill(unsigned char *buf, const struct flow *f, int slot, uint64_t seq)
{
    uint16_t fid = (uint16_t)f->id, sid = (uint16_t)slot;
    memcpy(buf, &nonce, 4);
    memcpy(buf + 4, &fid, 2);
    memcpy(buf + 6, &sid, 2);
    memcpy(buf + 8, &seq, 8);
    uint32_t off = (uint32_t)((seq * 2654435761u + (uint64_t)f->id * 4099u) % PERIOD);
    memcpy(buf + HEADER, pattern + off, size - HEADER);
}

static void arm_out(struct flow *f, int on)
{
    gl_arm_out(epfd, f->fd, f, on, &f->out_armed);
}

/* Send a datagram into every free slot of the flow, in as few sendmmsg calls as fit. */
static void refill(struct flow *f, double now)
{
    static unsigned char bufs[MAX_BATCH][MAX_SIZE];
    static struct iovec iov[MAX_BATCH];
    static struct mmsghdr msgs[MAX_BATCH];
    int slot_of[MAX_BATCH];
    if (!sending)
        return;
    int s = 0;
    while (s < f->nslots) {  /* bounded: s only grows */
        int n = 0;
        for (; s < f->nslots && n < MAX_BATCH; s++) {
            if (f->slots[s].busy)
                continue;
            fill(bufs[n], f, s, f->next_seq + (uint64_t)n);
            iov[n].iov_base = bufs[n];
            iov[n].iov_len = size;
            memset(&msgs[n], 0, sizeof msgs[n]);
            msgs[n].msg_hdr.msg_iov = &iov[n];
            msgs[n].msg_hdr.msg_iovlen = 1;
            slot_of[n] = s;
            n++;
        }
        if (n == 0)
            break;
        int done = 0;
        for (int tries = 0; done < n && tries < 4; tries++) {
            int r = sendmmsg(f->fd, msgs + done, (unsigned)(n - done), 0);
            send_calls++;
            if (r > 0) {
                for (int i = done; i < done + r; i++) {
                    struct slot *sl = &f->slots[slot_of[i]];
                    sl->seq = f->next_seq++;
                    sl->sent_at = now;
                    sl->busy = 1;
                    f->history[sl->seq % HISTORY] = sl->seq << 2 | SENT;
                }
                done += r;
                sent_total += (uint64_t)r;
                if (measuring)
                    sent_w += (uint64_t)r;
            } else if (r < 0 && errno == EINTR) {
                continue;
            } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
                arm_out(f, 1);
                return;
            } else {
                /* ECONNREFUSED: an ICMP port unreachable from an earlier datagram. */
                conn_errors++;
            }
        }
        if (done < n)
            return;  /* the unsent slots stay free; the next refill numbers them anew */
    }
    arm_out(f, 0);
}

static void record_rtt(double us)
{
    if (us < 0)
        us = 0;
    size_t b = us >= RTT_BUCKETS ? RTT_BUCKETS : (size_t)us;
    rtt_hist[b]++;
    if (us > rtt_max_us)
        rtt_max_us = us;
}

static double rtt_percentile(double q)
{
    uint64_t total = 0;
    for (int i = 0; i <= RTT_BUCKETS; i++)
        total += rtt_hist[i];
    if (total == 0)
        return 0;
    uint64_t want = (uint64_t)(q * (double)total), seen = 0;
    for (int i = 0; i <= RTT_BUCKETS; i++) {
        seen += rtt_hist[i];
        if (seen > want)
            return i == RTT_BUCKETS ? rtt_max_us : (double)i + 0.5;
    }
    return rtt_max_us;
}

/* Check one echo against what the slot it names holds; free the slot if it matches. */
static void take_echo(struct flow *f, const unsigned char *buf, size_t len, int truncated,
                      double now)
{
    static unsigned char expect[MAX_SIZE];
    if (truncated || len != size) {
        bad_length++;
        return;
    }
    uint32_t n;
    uint16_t fid, sid;
    uint64_t seq;
    memcpy(&n, buf, 4);
    memcpy(&fid, buf + 4, 2);
    memcpy(&sid, buf + 6, 2);
    memcpy(&seq, buf + 8, 8);
    if (n != nonce || fid != (uint16_t)f->id || sid >= f->nslots || seq >= f->next_seq) {
        foreign++;  /* never sent by this flow in this run */
        return;
    }
    uint64_t *h = &f->history[seq % HISTORY];
    uint64_t state = *h >> 2 == seq ? *h & 3 : 0;
    fill(expect, f, sid, seq);
    if (memcmp(expect, buf, size) != 0) {
        bad_content++;
        if (state == SENT)
            f->slots[sid].busy = 0;  /* answered, wrongly: the slot moves on */
        if (state != 0)
            *h = seq << 2 | ECHOED;
        return;
    }
    if (state == LOST) {
        late_total++;  /* timed out, its slot moved on; found now */
        *h = seq << 2 | ECHOED;
        return;
    }
    struct slot *sl = &f->slots[sid];
    if (state != SENT || !(sl->busy && sl->seq == seq)) {
        unexpected++;  /* already echoed (a duplicate), or older than the history */
        return;
    }
    *h = seq << 2 | ECHOED;
    sl->busy = 0;
    echoed_total++;
    if (measuring) {
        echoed_w++;
        record_rtt((now - sl->sent_at) * 1e6);
    }
}

/* Read every echo waiting on the flow's socket (recvmmsg batches), then refill. */
static void drain(struct flow *f, double now)
{
    static unsigned char bufs[MAX_BATCH][RBUF];
    static struct iovec iov[MAX_BATCH];
    static struct mmsghdr msgs[MAX_BATCH];
    for (int rounds = 0; rounds < 64; rounds++) {  /* bounded; epoll calls again if more */
        for (int i = 0; i < MAX_BATCH; i++) {
            iov[i].iov_base = bufs[i];
            iov[i].iov_len = RBUF;
            memset(&msgs[i], 0, sizeof msgs[i]);
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int r = recvmmsg(f->fd, msgs, MAX_BATCH, MSG_DONTWAIT, NULL);
        recv_calls++;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                conn_errors++;  /* ECONNREFUSED: the server's port is closed */
            break;
        }
        for (int i = 0; i < r; i++)
            take_echo(f, bufs[i], msgs[i].msg_len, (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0,
                      now);
        if (r < MAX_BATCH)
            break;
    }
    refill(f, now);
}

/* Declare lost every datagram that has waited longer than the timeout; refill its slot. */
static void expire(struct flow *flows, int nflows, double now, double timeout)
{
    for (int i = 0; i < nflows; i++) {
        struct flow *f = &flows[i];
        int freed = 0;
        for (int s = 0; s < f->nslots; s++) {
            struct slot *sl = &f->slots[s];
            if (sl->busy && now - sl->sent_at > timeout) {
                sl->busy = 0;
                f->history[sl->seq % HISTORY] = sl->seq << 2 | LOST;
                lost_total++;
                if (measuring)
                    lost_w++;
                freed = 1;
            }
        }
        if (freed)
            refill(f, now);
    }
}

static int busy_slots(const struct flow *flows, int nflows)
{
    int busy = 0;
    for (int i = 0; i < nflows; i++)
        for (int s = 0; s < flows[i].nslots; s++)
            busy += flows[i].slots[s].busy;
    return busy;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: udpgen --port P [--host 127.0.0.1] [--size 64] [--window 32] [--flows 4]\n"
            "              [--duration 10] [--warmup 1] [--loss-timeout 0.2]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    long port = 0, window = 32, nflows = 4, size_arg = 64;
    double duration = 10.0, warmup = 1.0, timeout = 0.2;
    const struct gl_opt opts[] = {
        {"--host", GL_STR, &host},         {"--port", GL_LONG, &port},
        {"--size", GL_LONG, &size_arg},    {"--window", GL_LONG, &window},
        {"--flows", GL_LONG, &nflows},     {"--duration", GL_DOUBLE, &duration},
        {"--warmup", GL_DOUBLE, &warmup},  {"--loss-timeout", GL_DOUBLE, &timeout},
        {NULL, GL_STR, NULL},
    };
    gl_parse_args(argc, argv, opts, usage);
    if (size_arg < HEADER || size_arg > MAX_SIZE || nflows < 1 || nflows > MAX_FLOWS ||
        window < nflows || window > MAX_WINDOW || duration <= 0 || warmup < 0 ||
        timeout <= 0 || timeout > 10)
        usage();
    size = (unsigned)size_arg;
    struct sockaddr_in addr;
    if (!gl_addr(host, port, &addr))
        usage();

    gl_make_pattern(pattern, MAX_SIZE);
    nonce = (uint32_t)(gl_now() * 1e6) ^ ((uint32_t)getpid() << 16);
    epfd = epoll_create1(0);
    struct flow *flows = calloc((size_t)nflows, sizeof *flows);
    if (epfd < 0 || flows == NULL) {
        perror("setup");
        return 1;
    }
    for (long i = 0; i < nflows; i++) {
        struct flow *f = &flows[i];
        f->id = (int)i;
        f->nslots = (int)(window / nflows + (i < window % nflows ? 1 : 0));
        f->slots = calloc((size_t)f->nslots, sizeof *f->slots);
        f->history = calloc(HISTORY, sizeof *f->history);  /* 0: no state */
        /* Connected: send/recv without addresses, and only the server's echoes arrive. */
        f->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        if (f->slots == NULL || f->history == NULL || f->fd < 0 ||
            connect(f->fd, (const struct sockaddr *)&addr, sizeof addr) < 0) {
            fprintf(stderr, "udpgen: flow %ld: %s\n", i, strerror(errno));
            return 1;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = f};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, f->fd, &ev) < 0) {
            perror("epoll_ctl");
            return 1;
        }
    }

    double t_start = gl_now();
    double t_measure = t_start + warmup, t_end = t_measure + duration;
    double t_drain_end = t_end + timeout + 0.05;
    struct gl_mark m0 = {0}, m1 = {0};
    double scan_every = timeout / 4, next_scan = t_start + scan_every;
    for (long i = 0; i < nflows; i++)
        refill(&flows[i], t_start);

    struct epoll_event evs[MAX_FLOWS];
    for (;;) {  /* bounded: ends at t_drain_end at the latest */
        double now = gl_now();
        if (!measuring && sending && now >= t_measure) {
            measuring = 1;
            gl_mark(&m0);
            gl_event("measuring");
        }
        if (measuring && now >= t_end) {
            measuring = 0;
            sending = 0;
            gl_mark(&m1);
            gl_event("window_end");
        }
        if (!sending && (busy_slots(flows, (int)nflows) == 0 || now >= t_drain_end))
            break;
        if (now >= next_scan) {
            expire(flows, (int)nflows, now, timeout);
            next_scan = now + scan_every;
        }
        double next = next_scan;
        if (sending && !measuring && t_measure < next)
            next = t_measure;
        if (measuring && t_end < next)
            next = t_end;
        if (!sending && t_drain_end < next)
            next = t_drain_end;
        int n = epoll_wait(epfd, evs, MAX_FLOWS, gl_timeout_ms(next, 100));
        if (n <= 0)
            continue;
        now = gl_now();
        for (int i = 0; i < n; i++) {
            struct flow *f = evs[i].data.ptr;
            if (evs[i].events & (EPOLLIN | EPOLLERR))
                drain(f, now);
            if (evs[i].events & EPOLLOUT)
                refill(f, now);
        }
    }

    double secs = m1.t - m0.t;
    int outstanding = busy_slots(flows, (int)nflows);
    uint64_t errors = bad_length + bad_content + unexpected + foreign + conn_errors;
    if (echoed_w == 0)
        errors++;
    printf("{\"size\":%u,\"window\":%ld,\"flows\":%ld,\"loss_timeout_s\":%.3f,"
           "\"duration_s\":%.3f,\"sent\":%llu,\"echoed\":%llu,\"dgrams_per_s\":%.1f,"
           "\"mb_per_s\":%.3f,\"lost\":%llu,\"loss_rate\":%.6f,"
           "\"sent_total\":%llu,\"echoed_total\":%llu,\"lost_total\":%llu,\"late_total\":%llu,"
           "\"outstanding_at_end\":%d,\"errors\":%llu,\"bad_length\":%llu,"
           "\"bad_content\":%llu,\"unexpected\":%llu,\"foreign\":%llu,\"conn_errors\":%llu,"
           "\"rtt_p50_us\":%.1f,\"rtt_p99_us\":%.1f,\"rtt_max_us\":%.1f,"
           "\"recv_calls\":%llu,\"send_calls\":%llu,\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f}\n",
           size, window, nflows, timeout, secs, (unsigned long long)sent_w,
           (unsigned long long)echoed_w, secs > 0 ? (double)echoed_w / secs : 0.0,
           secs > 0 ? (double)echoed_w * size / secs / 1e6 : 0.0, (unsigned long long)lost_w,
           sent_w ? (double)lost_w / (double)sent_w : 0.0, (unsigned long long)sent_total,
           (unsigned long long)echoed_total, (unsigned long long)lost_total,
           (unsigned long long)late_total, outstanding, (unsigned long long)errors,
           (unsigned long long)bad_length, (unsigned long long)bad_content,
           (unsigned long long)unexpected, (unsigned long long)foreign,
           (unsigned long long)conn_errors, rtt_percentile(0.5), rtt_percentile(0.99),
           rtt_max_us, (unsigned long long)recv_calls, (unsigned long long)send_calls,
           m1.user - m0.user, m1.sys - m0.sys);
    fflush(stdout);
    return errors ? 1 : 0;
}
