/*
 * chatgen: a single-threaded epoll load generator for chat fan-out.
 *
 * Why C and one thread: the chat servers under test are Python, and a fan-out of one
 * message to 500 members is 500 reads on the client side; a Python client would be the
 * bottleneck. Like loadgen.c it uses level-triggered epoll and nonblocking sockets.
 *
 * Workload: M members connect; member 0 is the one sender, every member (the sender
 * included, unless --sender-receives 0) is a receiver that reads as fast as it can.
 * The sender sends lines of --size bytes (CRLF included):
 *
 *     ~m<nonce> <seq, 10 digits> xxxx...xxxx\r\n
 *
 * Window: a message is complete when the SLOWEST receiver has it, and the sender keeps
 * at most --window messages beyond the last complete one on the wire. So nothing in the
 * server grows without bound (no receiver is ever more than W messages behind the
 * sender), and the throughput measured is what the server delivers to every member,
 * not how fast it can queue.
 *
 * Verification: each receiver must see seq 1, 2, 3... in order, and each message line
 * must end with exactly the text that was sent (the server may put a prefix before it,
 * like netsuite's "[#lobby] <guest1> "). A gap, a duplicate, a reordering or a changed
 * byte is an error. Lines without the run's nonce (greetings, joins) are ignored and
 * counted. After the window the sender stops and the generator waits (bounded) until
 * every receiver has every message sent; any still missing are errors.
 *
 * Start-up: members connect with nonblocking connects, 32 in progress at once. Then the
 * sender sends probe lines (~p<nonce>), at growing intervals, until every receiver has
 * seen one, so a server that registers members after accept (threads, the reactor, a
 * hub fanning out joins) has them all in the room before message 1.
 *
 * Usage:
 *   chatgen --port P [--host 127.0.0.1] [--members M] [--size S] [--window W]
 *           [--duration D] [--warmup X] [--sender-receives 1|0] [--drain T]
 *           [--ports P1,P2,...]
 * --ports spreads the members over several servers of one hub (bench/scale.py: chat
 * processes joined by a backbone): member i connects to port i mod N, so the sender,
 * member 0, is on the first; --port is then not needed.
 * Defaults: 50 members, 64 B, W = 32, D = 10 s, X = 1 s, drain 5 s.
 *
 * Output (stdout, one JSON object a line):
 *   {"event":"measuring"}      when the warm-up ends (the caller samples server CPU)
 *   {"event":"window_end"}     when the window ends (before the drain)
 *   {"members":..., "deliveries_per_s":..., "errors":..., ...}   at the end
 * Exit status: 0 when no error, else 1 (2: usage).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "genlib.h"

#define MAX_MEMBERS 2000
#define MAX_PORTS 16
#define MAX_EVENTS 512
#define RBUF (64u * 1024u)
#define PART 1024           /* longest line kept across reads; longer ones are "other" */
#define RING 4096           /* > the largest window: texts of the messages in flight */
#define MAX_SIZE 512
#define PROBE_FIRST 0.01    /* probe interval: 10 ms, growing 1.5x up to 250 ms */
#define PROBE_MAX 0.25
#define SYNC_TIMEOUT 60.0   /* for every receiver to see a probe */
#define CONNECTING 32       /* connects in progress at once */
#define CONNECT_TIMEOUT 30.0

struct conn {
    int fd;
    int id;
    int dead;
    int receiver;          /* counts towards completion */
    int synced;            /* has seen a probe: it is in the room */
    int out_armed;
    int connecting;        /* nonblocking connect in progress */
    uint64_t last;         /* last seq received */
    uint64_t got;          /* message lines received */
    uint64_t other;        /* lines without the nonce */
    int plen;              /* bytes of a partial line in part */
    int pover;             /* the partial line was too long: skip to its end */
    char part[PART];
};

static int epfd;
static long connecting = 0;          /* connects in progress */
static struct conn *cs;
static long members;
static uint64_t receivers;
static char nonce_m[16], nonce_p[16];
static size_t nonce_len;
static size_t msg_size = 64;
static uint64_t window = 32;

static char texts[RING][MAX_SIZE];   /* the line sent for seq s is texts[s % RING] */
static size_t text_len;              /* without CRLF */
static uint32_t ring_count[RING];    /* receivers that have seq s */
static uint64_t sent_seq = 0;        /* last seq put in the send buffer */
static uint64_t completed = 0;       /* every receiver has 1..completed */
static int sending = 0;              /* 1 while the sender may send messages */

static char sbuf[RING * MAX_SIZE];
static size_t spos = 0, slen = 0;    /* pending bytes of the sender: sbuf[spos..slen) */

static uint64_t gaps = 0, content_errors = 0, conn_errors = 0, synced_count = 0;
static uint64_t late_other = 0;      /* non-message lines after message 1 arrived */
static uint64_t delivered_line = 0;  /* length of the first message line delivered */

static void kill_conn(struct conn *c, const char *why, int err)
{
    if (c->dead)
        return;
    fprintf(stderr, "chatgen: member %d: %s: %s\n", c->id, why, err ? strerror(err) : "-");
    conn_errors++;
    c->dead = 1;
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
}

static void arm_out(struct conn *c, int on)
{
    gl_arm_out(epfd, c->fd, c, on, &c->out_armed);
}

/* Write the sender's pending bytes; arm EPOLLOUT only after EAGAIN. */
static void flush_sender(void)
{
    struct conn *c = &cs[0];
    while (!c->dead && spos < slen) {
        ssize_t w = send(c->fd, sbuf + spos, slen - spos, MSG_NOSIGNAL);
        if (w > 0) {
            spos += (size_t)w;
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
    spos = slen = 0;
    arm_out(c, 0);
}

static void make_text(uint64_t seq)
{
    char *t = texts[seq % RING];
    int n = snprintf(t, MAX_SIZE, "%s %010llu ", nonce_m, (unsigned long long)seq);
    memset(t + n, 'x', text_len - (size_t)n);
    t[text_len] = '\0';
}

/* Queue messages up to `window` beyond the last complete one, then send them at once. */
static void pump_sender(void)
{
    if (!sending || cs[0].dead || spos < slen)
        return;
    spos = slen = 0;
    while (sent_seq < completed + window) {
        sent_seq++;
        make_text(sent_seq);
        memcpy(sbuf + slen, texts[sent_seq % RING], text_len);
        slen += text_len;
        sbuf[slen++] = '\r';
        sbuf[slen++] = '\n';
    }
    flush_sender();
}

static void send_probe(void)
{
    if (cs[0].dead || spos < slen)
        return;
    slen = (size_t)snprintf(sbuf, sizeof sbuf, "%s\r\n", nonce_p);
    spos = 0;
    flush_sender();
}

/* Receiver c got message `seq`: advance completion when every receiver has it. */
static void count_delivery(uint64_t seq)
{
    if (++ring_count[seq % RING] < receivers || seq != completed + 1)
        return;
    while (completed < sent_seq && ring_count[(completed + 1) % RING] >= receivers) {
        completed++;
        ring_count[completed % RING] = 0;
    }
    pump_sender();
}

static void on_line(struct conn *c, const char *line, size_t len)
{
    if (len && line[len - 1] == '\r')
        len--;
    /* Fast path: a message line ends with the text sent, so the nonce starts text_len
     * bytes before its end; memmem (6.7% of chatgen's profile) only for other lines. */
    const char *hit = NULL;
    if (len >= text_len && memcmp(line + len - text_len, nonce_m, nonce_len) == 0)
        hit = line + len - text_len;
    else if (len >= nonce_len)
        hit = memmem(line, len, nonce_m, nonce_len);
    if (hit == NULL) {
        if (len >= nonce_len && memmem(line, len, nonce_p, nonce_len) != NULL) {
            if (!c->synced && c->receiver) {
                c->synced = 1;
                synced_count++;
            }
            return;
        }
        c->other++;
        if (c->last > 0)
            late_other++;
        return;
    }
    if (!c->receiver)
        return;
    uint64_t seq = c->last + 1;
    size_t rest = len - (size_t)(hit - line);
    if (seq > sent_seq) {
        gaps++;  /* more messages than were sent */
        return;
    }
    if (rest != text_len || memcmp(hit, texts[seq % RING], text_len) != 0) {
        /* Tell a gap or reordering (another well-formed seq) from a changed byte. */
        unsigned long long other = 0;
        int parsed = rest == text_len && sscanf(hit + nonce_len, " %10llu", &other) == 1;
        if (parsed && other != seq)
            gaps++;
        else
            content_errors++;
        /* Resynchronise: count the messages skipped (or the changed one) as settled for
         * this receiver, so one fault is one error and the run goes on instead of
         * stalling the window. A duplicate (other < seq) is just dropped. */
        if (parsed && other >= seq && other <= sent_seq) {
            while (c->last < other)
                count_delivery(++c->last);
        }
        return;
    }
    if (delivered_line == 0)
        delivered_line = len + 2;
    c->last = seq;
    c->got++;
    count_delivery(seq);
}

/* Split what was read into lines; a line cut by the read waits in c->part. */
static void on_bytes(struct conn *c, const char *buf, size_t n)
{
    const char *p = buf, *end = buf + n;
    if (c->plen || c->pover) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;
        if (!c->pover && c->plen + take <= PART) {
            memcpy(c->part + c->plen, p, take);
            c->plen += (int)take;
        } else {
            c->pover = 1;
        }
        if (nl == NULL)
            return;
        if (c->pover) {
            c->other++;
        } else {
            on_line(c, c->part, (size_t)c->plen);
        }
        c->plen = c->pover = 0;
        p = nl + 1;
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL) {
            size_t left = (size_t)(end - p);
            if (left <= PART) {
                memcpy(c->part, p, left);
                c->plen = (int)left;
            } else {
                c->pover = 1;
            }
            return;
        }
        on_line(c, p, (size_t)(nl - p));
        p = nl + 1;
    }
}

static void pump_recv(struct conn *c)
{
    static char rbuf[RBUF];
    ssize_t r = recv(c->fd, rbuf, sizeof rbuf, 0);
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
    on_bytes(c, rbuf, (size_t)r);
}

/* Start a nonblocking connect; finish_connect completes it when epoll says so. */
static int start_connect(struct conn *c, const struct sockaddr_in *addr)
{
    int fd = gl_connect_nb(addr);
    if (fd < 0)
        return -1;
    c->fd = fd;
    c->connecting = 1;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        close(fd);
        return -1;
    }
    connecting++;
    return 0;
}

static void finish_connect(struct conn *c)
{
    int err = gl_connect_error(c->fd);
    c->connecting = 0;
    connecting--;
    if (err) {
        kill_conn(c, "connect", err);
        return;
    }
    c->out_armed = 1;
    arm_out(c, 0);
}

static void poll_once(int timeout_ms)
{
    static struct epoll_event evs[MAX_EVENTS];
    int n = epoll_wait(epfd, evs, MAX_EVENTS, timeout_ms);
    for (int i = 0; i < n; i++) {
        struct conn *c = evs[i].data.ptr;
        uint32_t e = evs[i].events;
        if (c->connecting) {
            if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP))
                finish_connect(c);
            continue;
        }
        if (!c->dead && (e & (EPOLLIN | EPOLLERR | EPOLLHUP)))
            pump_recv(c);
        if (!c->dead && (e & EPOLLOUT) && c->id == 0) {
            flush_sender();
            pump_sender();
        }
    }
}

static int ms_until(double t)
{
    return gl_timeout_ms(t, 100);
}

static uint64_t lines_got(void)
{
    uint64_t sum = 0;
    for (long i = 0; i < members; i++)
        sum += cs[i].got;
    return sum;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: chatgen --port P [--host 127.0.0.1] [--members M] [--size S]\n"
            "               [--window W] [--duration D] [--warmup X]\n"
            "               [--sender-receives 1|0] [--drain T] [--ports P1,P2,...]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    const char *ports_arg = NULL;
    long port = 0, sender_receives = 1, size = 64, window_arg = 32;
    double duration = 10.0, warmup = 1.0, drain = 5.0;
    members = 50;
    const struct gl_opt opts[] = {
        {"--host", GL_STR, &host},          {"--port", GL_LONG, &port},
        {"--members", GL_LONG, &members},   {"--size", GL_LONG, &size},
        {"--window", GL_LONG, &window_arg}, {"--duration", GL_DOUBLE, &duration},
        {"--warmup", GL_DOUBLE, &warmup},   {"--sender-receives", GL_LONG, &sender_receives},
        {"--drain", GL_DOUBLE, &drain},     {"--ports", GL_STR, &ports_arg},
        {NULL, GL_STR, NULL},
    };
    gl_parse_args(argc, argv, opts, usage);
    if (members < 2 || members > MAX_MEMBERS || duration <= 0 || warmup < 0 || drain < 0 ||
        window_arg < 1 || window_arg >= RING / 2 || size < 32 || size > MAX_SIZE - 2 ||
        (sender_receives != 0 && sender_receives != 1))
        usage();
    msg_size = (size_t)size;
    window = (uint64_t)window_arg;
    text_len = msg_size - 2;

    /* One address per server; member i goes to addrs[i % naddrs]. */
    struct sockaddr_in addrs[MAX_PORTS];
    long port_list[MAX_PORTS];
    int naddrs = 0;
    if (ports_arg != NULL) {
        const char *p = ports_arg;
        while (*p != '\0' && naddrs < MAX_PORTS) {  /* bounded: MAX_PORTS */
            char *end;
            port_list[naddrs++] = strtol(p, &end, 10);
            if (end == p || (*end != ',' && *end != '\0'))
                usage();
            p = *end == ',' ? end + 1 : end;
        }
    } else {
        port_list[naddrs++] = port;
    }
    for (int k = 0; k < naddrs; k++)
        if (!gl_addr(host, port_list[k], &addrs[k]))
            usage();

    /* A nonce per run, so no line from another run (or history) can pass as ours. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned nonce = (unsigned)(ts.tv_nsec ^ (ts.tv_sec << 20) ^ ((long)getpid() << 8));
    snprintf(nonce_m, sizeof nonce_m, "~m%08x", nonce);
    snprintf(nonce_p, sizeof nonce_p, "~p%08x", nonce);
    nonce_len = strlen(nonce_m);

    epfd = epoll_create1(0);
    cs = calloc((size_t)members, sizeof *cs);
    if (epfd < 0 || cs == NULL) {
        perror("setup");
        return 1;
    }
    double t_begin = gl_now();
    long started = 0;
    for (long i = 0; i < members; i++) {
        cs[i].id = (int)i;
        cs[i].receiver = i > 0 || sender_receives;
    }
    /*
     * Nonblocking connects, CONNECTING in progress at once. Sequential blocking connects
     * stalled a full second (the SYN retransmit) on every SYN a full accept queue dropped:
     * 5-9 s to connect 500 members on a busy machine. Now a drop delays one connect, not
     * every later one; chat.py also gives each server a backlog of 512.
     */
    while (started < members || connecting > 0) {  /* bounded: CONNECT_TIMEOUT */
        while (started < members && connecting < CONNECTING) {
            if (start_connect(&cs[started], &addrs[started % naddrs]) < 0) {
                fprintf(stderr, "chatgen: connect %s:%ld (member %ld): %s\n", host,
                        port_list[started % naddrs], started, strerror(errno));
                return 1;
            }
            started++;
        }
        if (conn_errors || gl_now() - t_begin > CONNECT_TIMEOUT) {
            fprintf(stderr, "chatgen: %ld of %ld members connected\n",
                    started - connecting, members);
            return 1;
        }
        poll_once(100);
    }
    receivers = (uint64_t)(members - (sender_receives ? 0 : 1));
    double t_connected = gl_now();

    /*
     * Probe until every receiver is in the room. The interval grows, because a server
     * still fanning out 500 joins would otherwise get hundreds of probes to fan out too.
     */
    int probes = 0;
    double next_probe = t_connected, interval = PROBE_FIRST;
    while (synced_count < receivers && conn_errors == 0) {  /* bounded: SYNC_TIMEOUT */
        if (gl_now() - t_connected > SYNC_TIMEOUT) {
            fprintf(stderr, "chatgen: only %llu of %llu receivers joined\n",
                    (unsigned long long)synced_count, (unsigned long long)receivers);
            return 1;
        }
        if (gl_now() >= next_probe) {
            send_probe();
            probes++;
            next_probe = gl_now() + interval;
            interval = interval * 1.5 > PROBE_MAX ? PROBE_MAX : interval * 1.5;
        }
        poll_once(ms_until(next_probe));
    }
    double t_synced = gl_now();

    sending = 1;
    pump_sender();
    double t_measure = gl_now() + warmup, t_end = t_measure + duration;
    struct gl_mark m0 = {0}, m1 = {0};
    uint64_t c0 = 0, c1 = 0, g0 = 0, g1 = 0;
    int measuring = 0;
    for (;;) {  /* bounded: leaves at t_end, or when a connection fails */
        double now = gl_now();
        if (!measuring && now >= t_measure) {
            measuring = 1;
            gl_mark(&m0);
            c0 = completed;
            g0 = lines_got();
            gl_event("measuring");
        }
        if ((measuring && now >= t_end) || conn_errors) {
            gl_mark(&m1);
            c1 = completed;
            g1 = lines_got();
            gl_event("window_end");
            if (!measuring) {
                m0 = m1;
                c0 = c1;
                g0 = g1;
            }
            break;
        }
        poll_once(ms_until(measuring ? t_end : t_measure));
    }

    /* Stop sending; wait (bounded) until every receiver has every message sent. */
    sending = 0;
    double t_drain_end = gl_now() + drain;
    while (completed < sent_seq && !conn_errors && gl_now() < t_drain_end)  /* bounded */
        poll_once(ms_until(t_drain_end));
    uint64_t missing = 0;
    for (long i = 0; i < members; i++)
        if (cs[i].receiver && cs[i].last < sent_seq)
            missing += sent_seq - cs[i].last;

    double secs = m1.t - m0.t;
    double msgs = (double)(c1 - c0);
    double deliveries = msgs * (double)receivers;
    uint64_t errors = gaps + content_errors + conn_errors + missing;
    uint64_t other = 0;
    for (long i = 0; i < members; i++)
        other += cs[i].other;
    printf("{\"members\":%ld,\"receivers\":%llu,\"size\":%zu,\"delivered_line\":%llu,"
           "\"window\":%llu,\"duration_s\":%.3f,\"msgs\":%.0f,\"msgs_per_s\":%.1f,"
           "\"deliveries\":%.0f,\"deliveries_per_s\":%.1f,\"lines_in_window\":%llu,"
           "\"lines_per_s\":%.1f,\"sent\":%llu,\"errors\":%llu,\"gaps\":%llu,"
           "\"content_errors\":%llu,\"conn_errors\":%llu,\"missing_at_end\":%llu,"
           "\"other_lines\":%llu,\"late_other_lines\":%llu,\"probes\":%d,"
           "\"connect_s\":%.3f,\"sync_s\":%.3f,\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f}\n",
           members, (unsigned long long)receivers, msg_size,
           (unsigned long long)delivered_line, (unsigned long long)window, secs, msgs,
           secs > 0 ? msgs / secs : 0.0, deliveries, secs > 0 ? deliveries / secs : 0.0,
           (unsigned long long)(g1 - g0), secs > 0 ? (double)(g1 - g0) / secs : 0.0,
           (unsigned long long)sent_seq, (unsigned long long)errors,
           (unsigned long long)gaps, (unsigned long long)content_errors,
           (unsigned long long)conn_errors, (unsigned long long)missing,
           (unsigned long long)other, (unsigned long long)late_other, probes,
           t_connected - t_begin, t_synced - t_connected, m1.user - m0.user, m1.sys - m0.sys);
    fflush(stdout);
    return errors ? 1 : 0;
}
