/*
 * loop: one epoll loop serving a shard of the fleet: a listening socket per
 * instance, client connections (handshake, auth, commands), replies held
 * back by the instance's latency or trickled a byte at a time, hung
 * instances that accept and never answer (nor finish an answer under way),
 * and the control endpoint.
 */
#include "tests/fleet/fleet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum kind { K_LISTEN, K_CONN, K_CTL_LISTEN, K_CTL_CONN, K_DEAD };

struct conn {
    enum kind kind;
    int fd;
    int idx; /* instance (K_CONN) */
    struct fleet_buf in, out;
    unsigned char scramble[20];
    bool authed, closing;
    int64_t send_at;          /* earliest time to send out (0: now) */
    int heap_pos;             /* -1: not in the timer heap */
    struct conn *prev, *next; /* the instance's connections; next: dead list once K_DEAD */
};

struct listener {
    enum kind kind;
    int idx;
};

struct fleet_loop {
    struct fleet_model *m;
    int ep;
    int shard, nshards;
    struct listener *lst; /* per instance */
    struct conn **conns;  /* per instance: list head */
    struct listener ctl;
    int ctl_fd;
    struct conn **heap;
    int nheap, capheap;
    uint32_t next_conn_id;
    struct conn *dead; /* closed during this batch of events, freed after it */
};

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

struct fleet_model *fleet_loop_model(struct fleet_loop *l)
{
    return l->m;
}

static bool mine(const struct fleet_loop *l, int idx)
{
    return l->m->inst[idx].cluster % l->nshards == l->shard;
}

/* ---- timer heap of delayed replies ---- */

static void heap_swap(struct fleet_loop *l, int a, int b)
{
    struct conn *t = l->heap[a];

    l->heap[a] = l->heap[b];
    l->heap[b] = t;
    l->heap[a]->heap_pos = a;
    l->heap[b]->heap_pos = b;
}

static void heap_fix(struct fleet_loop *l, int i)
{
    while (i > 0 && l->heap[(i - 1) / 2]->send_at > l->heap[i]->send_at) {
        heap_swap(l, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    for (;;) {
        int c = 2 * i + 1;

        if (c >= l->nheap)
            break;
        if (c + 1 < l->nheap && l->heap[c + 1]->send_at < l->heap[c]->send_at)
            c++;
        if (l->heap[i]->send_at <= l->heap[c]->send_at)
            break;
        heap_swap(l, i, c);
        i = c;
    }
}

static void heap_remove(struct fleet_loop *l, struct conn *c)
{
    int i = c->heap_pos;

    if (i < 0)
        return;
    c->heap_pos = -1;
    l->nheap--;
    if (i == l->nheap)
        return;
    l->heap[i] = l->heap[l->nheap];
    l->heap[i]->heap_pos = i;
    heap_fix(l, i);
}

static void heap_add(struct fleet_loop *l, struct conn *c, int64_t at)
{
    heap_remove(l, c);
    if (l->nheap == l->capheap) {
        int cap = l->capheap ? l->capheap * 2 : 64;
        struct conn **p = realloc(l->heap, (size_t)cap * sizeof(*p));

        if (p == NULL)
            return;
        l->heap = p;
        l->capheap = cap;
    }
    c->send_at = at;
    c->heap_pos = l->nheap;
    l->heap[l->nheap++] = c;
    heap_fix(l, c->heap_pos);
}

/* ---- connections ---- */

/* Closes c; the memory is freed after the current batch of events (a later
 * event of the batch may still point at it). */
static void conn_free(struct fleet_loop *l, struct conn *c)
{
    if (c->kind == K_DEAD)
        return;
    heap_remove(l, c);
    if (c->kind == K_CONN) {
        if (c->prev != NULL)
            c->prev->next = c->next;
        else
            l->conns[c->idx] = c->next;
        if (c->next != NULL)
            c->next->prev = c->prev;
    }
    close(c->fd); /* also leaves the epoll set */
    fleet_buf_release(&c->in);
    fleet_buf_release(&c->out);
    c->kind = K_DEAD;
    c->next = l->dead;
    l->dead = c;
}

static void free_dead(struct fleet_loop *l)
{
    while (l->dead != NULL) {
        struct conn *c = l->dead;

        l->dead = c->next;
        free(c);
    }
}

static void set_events(struct fleet_loop *l, struct conn *c, bool want_out)
{
    struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = c};

    (void)epoll_ctl(l->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Sends what may be sent now; returns false when c was freed. */
static bool conn_flush(struct fleet_loop *l, struct conn *c)
{
    const struct fleet_inst *in = c->kind == K_CONN ? &l->m->inst[c->idx] : NULL;
    int64_t now = fleet_now_ms();

    while (c->out.off < c->out.len) {
        size_t n = c->out.len - c->out.off;
        ssize_t w;

        if (in != NULL && in->state == FLEET_HUNG)
            return true; /* hung mid-answer: the rest never comes */
        if (c->send_at > now) {
            heap_add(l, c, c->send_at);
            return true;
        }
        if (in != NULL && in->trickle_ms > 0)
            n = 1;
        w = send(c->fd, c->out.p + c->out.off, n, MSG_NOSIGNAL);
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            set_events(l, c, true);
            return true;
        }
        if (w <= 0) {
            conn_free(l, c);
            return false;
        }
        c->out.off += (size_t)w;
        if (in != NULL && in->trickle_ms > 0)
            c->send_at = now + in->trickle_ms;
    }
    c->out.off = c->out.len = 0;
    set_events(l, c, false);
    if (c->closing) {
        conn_free(l, c);
        return false;
    }
    return true;
}

static void conn_new(struct fleet_loop *l, int fd, int idx, enum kind kind)
{
    struct conn *c = calloc(1, sizeof(*c));
    struct epoll_event ev = {.events = EPOLLIN};
    int one = 1;

    if (c == NULL) {
        close(fd);
        return;
    }
    c->kind = kind;
    c->fd = fd;
    c->idx = idx;
    c->heap_pos = -1;
    ev.data.ptr = c;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        close(fd);
        free(c);
        return;
    }
    if (kind != K_CONN)
        return;
    c->next = l->conns[idx];
    if (c->next != NULL)
        c->next->prev = c;
    l->conns[idx] = c;
    if (l->m->inst[idx].state == FLEET_HUNG)
        return; /* accepts, never answers */
    for (int i = 0; i < 20; i++)
        c->scramble[i] = (unsigned char)(33 + random() % 90);
    {
        struct fleet_wire w = {.out = &c->out, .seq = 0};
        char version[64];

        snprintf(version, sizeof(version), "%s%s",
                 l->m->inst[idx].flavor == FLEET_MARIADB_1011 ? "5.5.5-" : "",
                 fleet_flavor_version(l->m->inst[idx].flavor));
        fleet_wire_handshake(&w, version, ++l->next_conn_id, c->scramble);
    }
    (void)conn_flush(l, c);
}

static void on_accept(struct fleet_loop *l, int lfd, int idx, enum kind kind)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0)
            return;
        conn_new(l, fd, idx, kind);
    }
}

/* One client packet (seq = its sequence id). */
static void on_packet(struct fleet_loop *l,
                      struct conn *c,
                      const unsigned char *p,
                      size_t n,
                      unsigned char seq)
{
    struct fleet_model *m = l->m;
    struct fleet_wire w = {.out = &c->out, .seq = (unsigned char)(seq + 1)};

    if (!c->authed) {
        char who[64], msg[160];

        if (fleet_wire_check_auth(p, n, c->scramble, m->user, m->password, who, sizeof(who)) == 0) {
            c->authed = true;
            fleet_wire_ok(&w, 0, false);
            return;
        }
        snprintf(msg, sizeof(msg), "Access denied for user '%s'@'localhost' (using password: YES)",
                 who);
        fleet_wire_err(&w, 1045, "28000", msg);
        c->closing = true;
        return;
    }
    if (n == 0)
        return;
    switch (p[0]) {
        case 0x01: /* COM_QUIT */
            c->closing = true;
            break;
        case 0x02: /* COM_INIT_DB */
        case 0x0e: /* COM_PING */
            fleet_wire_ok(&w, 0, false);
            break;
        case 0x03: /* COM_QUERY */
            if (!fleet_sql_answer(m, c->idx, (const char *)p + 1, n - 1, &c->out))
                c->closing = true;
            break;
        default:
            fleet_wire_err(&w, 1047, "08S01", "Unknown command");
            break;
    }
}

static void process_input(struct fleet_loop *l, struct conn *c)
{
    const struct fleet_inst *in = &l->m->inst[c->idx];
    size_t off = 0;

    while (c->in.len - off >= 4) {
        const unsigned char *h = c->in.p + off;
        size_t plen = (size_t)h[0] | ((size_t)h[1] << 8) | ((size_t)h[2] << 16);

        if (c->in.len - off < 4 + plen)
            break;
        if (in->state == FLEET_UP)
            on_packet(l, c, h + 4, plen, h[3]);
        off += 4 + plen;
    }
    memmove(c->in.p, c->in.p + off, c->in.len - off);
    c->in.len -= off;
    if (c->out.len > c->out.off && c->send_at <= fleet_now_ms() && in->latency_ms > 0)
        c->send_at = fleet_now_ms() + in->latency_ms;
}

static void on_readable(struct fleet_loop *l, struct conn *c)
{
    unsigned char buf[16384];

    for (;;) {
        ssize_t r = recv(c->fd, buf, sizeof(buf), 0);

        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (r <= 0) {
            conn_free(l, c);
            return;
        }
        if (c->kind == K_CONN && l->m->inst[c->idx].state == FLEET_HUNG)
            continue; /* a frozen server reads nothing */
        (void)fleet_buf_put(&c->in, buf, (size_t)r);
    }
    if (c->kind == K_CTL_CONN) {
        (void)fleet_buf_put(&c->in, "", 1);
        c->in.len--;
        if (strstr((const char *)c->in.p, "\r\n\r\n") == NULL)
            return;
        fleet_control_answer(l, (const char *)c->in.p, &c->out);
        c->closing = true;
        (void)conn_flush(l, c);
        return;
    }
    process_input(l, c);
    if (c->out.len > c->out.off)
        (void)conn_flush(l, c);
    else if (c->closing)
        conn_free(l, c);
}

/* ---- listeners ---- */

static int listen_on(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;

    if (fd < 0)
        return -1;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 128) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int open_listener(struct fleet_loop *l, int idx)
{
    struct fleet_inst *in = &l->m->inst[idx];
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &l->lst[idx]};

    in->lfd = listen_on(in->port);
    if (in->lfd < 0) {
        fprintf(stderr, "orc-fleet: listen 127.0.0.1:%d: %s\n", in->port, strerror(errno));
        return -1;
    }
    l->lst[idx].kind = K_LISTEN;
    l->lst[idx].idx = idx;
    return epoll_ctl(l->ep, EPOLL_CTL_ADD, in->lfd, &ev);
}

static void close_conns(struct fleet_loop *l, int idx)
{
    while (l->conns[idx] != NULL)
        conn_free(l, l->conns[idx]);
}

int fleet_loop_kill(struct fleet_loop *l, int idx)
{
    struct fleet_inst *in = &l->m->inst[idx];

    if (in->lfd >= 0)
        close(in->lfd);
    in->lfd = -1;
    in->state = FLEET_KILLED;
    close_conns(l, idx);
    return 0;
}

int fleet_loop_hang(struct fleet_loop *l, int idx)
{
    struct fleet_inst *in = &l->m->inst[idx];

    if (in->state == FLEET_KILLED && open_listener(l, idx) != 0)
        return -1;
    in->state = FLEET_HUNG;
    in->hung_at_ms = fleet_now_ms();
    return 0;
}

int fleet_loop_revive(struct fleet_loop *l, int idx)
{
    struct fleet_inst *in = &l->m->inst[idx];

    close_conns(l, idx);
    if (in->state == FLEET_KILLED && open_listener(l, idx) != 0)
        return -1;
    in->state = FLEET_UP;
    in->started_ms = fleet_now_ms();
    return 0;
}

/* ---- the loop ---- */

static int loop_init(struct fleet_loop *l, int control_port)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &l->ctl};

    l->ep = epoll_create1(EPOLL_CLOEXEC);
    l->lst = calloc((size_t)l->m->n + 1, sizeof(*l->lst));
    l->conns = calloc((size_t)l->m->n + 1, sizeof(*l->conns));
    if (l->ep < 0 || l->lst == NULL || l->conns == NULL)
        return -1;
    for (int i = 0; i < l->m->n; i++)
        if (mine(l, i) && open_listener(l, i) != 0)
            return -1;
    l->ctl.kind = K_CTL_LISTEN;
    l->ctl_fd = listen_on(control_port);
    if (l->ctl_fd < 0) {
        fprintf(stderr, "orc-fleet: control port %d: %s\n", control_port, strerror(errno));
        return -1;
    }
    return epoll_ctl(l->ep, EPOLL_CTL_ADD, l->ctl_fd, &ev);
}

/* Undoes loop_init: closes every socket the loop opened and frees its memory
 * (control connections still open at exit are not tracked and go with the
 * process). */
static void loop_release(struct fleet_loop *l)
{
    for (int i = 0; l->conns != NULL && i < l->m->n; i++)
        close_conns(l, i);
    free_dead(l);
    for (int i = 0; l->lst != NULL && i < l->m->n; i++) {
        if (mine(l, i) && l->m->inst[i].lfd >= 0)
            close(l->m->inst[i].lfd);
        if (mine(l, i))
            l->m->inst[i].lfd = -1;
    }
    if (l->ctl_fd >= 0)
        close(l->ctl_fd);
    if (l->ep >= 0)
        close(l->ep);
    free(l->heap);
    free(l->conns);
    free(l->lst);
    l->heap = NULL;
    l->conns = NULL;
    l->lst = NULL;
    l->nheap = l->capheap = 0;
}

static void run_timers(struct fleet_loop *l)
{
    int64_t now = fleet_now_ms();

    while (l->nheap > 0 && l->heap[0]->send_at <= now) {
        struct conn *c = l->heap[0];

        heap_remove(l, c);
        (void)conn_flush(l, c);
    }
}

static void on_event(struct fleet_loop *l, struct epoll_event *ev)
{
    enum kind k = *(enum kind *)ev->data.ptr;

    if (k == K_DEAD)
        return;
    if (k == K_LISTEN) {
        const struct listener *ls = ev->data.ptr;

        on_accept(l, l->m->inst[ls->idx].lfd, ls->idx, K_CONN);
    } else if (k == K_CTL_LISTEN) {
        on_accept(l, l->ctl_fd, -1, K_CTL_CONN);
    } else if (ev->events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        on_readable(l, ev->data.ptr);
    } else if (ev->events & EPOLLOUT) {
        (void)conn_flush(l, ev->data.ptr);
    }
}

int fleet_loop_run(struct fleet_model *m, int control_port, int shard, int nshards, int ready_fd)
{
    struct fleet_loop l = {
        .m = m, .shard = shard, .nshards = nshards > 0 ? nshards : 1, .ep = -1, .ctl_fd = -1};
    struct epoll_event evs[256];
    int rc = -1;

    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    srandom((unsigned)(getpid() ^ fleet_now_ms()));
    if (loop_init(&l, control_port) != 0)
        goto out;
    if (ready_fd >= 0 && write(ready_fd, "r", 1) != 1)
        goto out;
    while (!stopping) {
        int timeout = 1000, n;

        if (l.nheap > 0) {
            int64_t d = l.heap[0]->send_at - fleet_now_ms();

            timeout = d < 0 ? 0 : d > 1000 ? 1000 : (int)d;
        }
        n = epoll_wait(l.ep, evs, 256, timeout);
        for (int i = 0; i < n; i++)
            on_event(&l, &evs[i]);
        run_timers(&l);
        free_dead(&l);
    }
    rc = 0;
out:
    loop_release(&l);
    return rc;
}
