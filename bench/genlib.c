/* genlib: see genlib.h for why the load generators share this. */
#define _GNU_SOURCE
#include "genlib.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

void gl_parse_args(int argc, char **argv, const struct gl_opt *opts, void (*usage)(void))
{
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        const char *k = argv[i], *v = argv[++i];
        const struct gl_opt *o = opts;
        while (o->name != NULL && strcmp(o->name, k) != 0)
            o++;
        if (o->name == NULL)
            usage();
        switch (o->type) {
        case GL_STR:
            *(const char **)o->ptr = v;
            break;
        case GL_LONG:
            *(long *)o->ptr = atol(v);
            break;
        case GL_DOUBLE:
            *(double *)o->ptr = atof(v);
            break;
        }
    }
}

int gl_addr(const char *host, long port, struct sockaddr_in *addr)
{
    if (port <= 0 || port > 65535)
        return 0;
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &addr->sin_addr) == 1;
}

double gl_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void gl_cpu(double *user, double *sys)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    *sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int gl_timeout_ms(double deadline, int cap_ms)
{
    int ms = (int)((deadline - gl_now()) * 1000.0) + 1;
    return ms < 0 ? 0 : ms > cap_ms ? cap_ms : ms;
}

void gl_mark(struct gl_mark *m)
{
    m->t = gl_now();
    gl_cpu(&m->user, &m->sys);
}

void gl_event(const char *name)
{
    printf("{\"event\":\"%s\"}\n", name);
    fflush(stdout);
}

void gl_make_pattern(unsigned char *buf, size_t extra)
{
    uint32_t x = 2463534242u; /* xorshift32: cheap, deterministic, not periodic in bytes */
    for (uint32_t i = 0; i < GL_PERIOD; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (unsigned char)(x >> 24);
    }
    for (size_t i = GL_PERIOD; i < GL_PERIOD + extra; i++)
        buf[i] = buf[i - GL_PERIOD];
}

void *gl_xmalloc(size_t n)
{
    void *p = malloc(n);
    if (p == NULL) {
        perror("malloc");
        exit(1);
    }
    return p;
}

void gl_nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

void gl_nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int gl_connect_nb(const struct sockaddr_in *addr)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    gl_nodelay(fd);
    if (connect(fd, (const struct sockaddr *)addr, sizeof *addr) < 0 && errno != EINPROGRESS) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

int gl_connect_blocking(const struct sockaddr_in *addr)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {.tv_sec = 5, .tv_usec = 0}; /* bounds a blocking connect */
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (const struct sockaddr *)addr, sizeof *addr) < 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    gl_nodelay(fd);
    gl_nonblock(fd);
    return fd;
}

int gl_connect_error(int fd)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return errno;
    return err;
}

int gl_watch(int epfd, int fd, void *ptr, uint32_t events, uint32_t *current)
{
    if (events == *current)
        return 0;
    struct epoll_event e = {.events = events, .data.ptr = ptr};
    if (epoll_ctl(epfd, *current ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &e) != 0)
        return -1;
    *current = events;
    return 0;
}

void gl_arm_out(int epfd, int fd, void *ptr, int on, int *armed)
{
    if (*armed == on)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = ptr};
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
        *armed = on;
}
