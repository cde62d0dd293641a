/*
 * raft_watch: a follower notices at once that the leader's process died.
 *
 * A leader killed (kill -9, a crash, the OOM killer) on a host that stays up
 * has its sockets closed by the kernel: our connection to it (the one raft
 * sends its answers on; raft never reads it) goes to CLOSE_WAIT, or to CLOSE
 * after a reset. Raft alone would wait a whole randomized election timeout
 * (0.5-1 s) from the last heartbeat. On that sign the follower's election
 * timer is cut to zero, so it campaigns at raft's next tick (at most one
 * heartbeat interval later).
 *
 * Safe when the sign is wrong: the campaign starts with a pre-vote, which the
 * other voters refuse while they still hear from a leader, so a live leader
 * is never deposed by it. A frozen or partitioned leader closes nothing: the
 * ordinary election timeout applies then.
 *
 * The connection is found by the leader's address: its host when it is an IP
 * literal, else the IP the leader's own connection to us came from (the
 * transport remembers it, raft_auth.c); the port is the leader's raft port.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#include "orchestrator/raft_int.h"

/* How often the follower looks (it is a walk over a few handles). */
#define WATCH_EVERY_MS 10

struct watch_ctx {
    struct sockaddr_storage leader;
    bool gone;
};

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family == AF_INET && b->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->ss_family == AF_INET6 && b->ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

        return x->sin6_port == y->sin6_port &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
    }
    return false;
}

/* The leader's raft address as a socket address; false when it cannot be
 * told without a name lookup and the leader never connected to us. */
static bool leader_sockaddr(struct orc_raft *r,
                            raft_id id,
                            const char *address,
                            struct sockaddr_storage *out)
{
    char host[ORC_RAFT_ADDR_MAX];
    const char *colon = strrchr(address, ':');
    char *end;
    long port;
    size_t hl;

    if (colon == NULL)
        return false;
    port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port <= 0 || port > 65535)
        return false;
    hl = (size_t)(colon - address);
    if (hl >= sizeof(host))
        return false;
    memcpy(host, address, hl);
    host[hl] = '\0';
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, host, &((struct sockaddr_in *)out)->sin_addr) == 1) {
        out->ss_family = AF_INET;
    } else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)out)->sin6_addr) == 1) {
        out->ss_family = AF_INET6;
    } else if (!orc_raft_auth_peer_ip(&r->transport, id, out)) {
        return false;
    }
    if (out->ss_family == AF_INET)
        ((struct sockaddr_in *)out)->sin_port = htons((uint16_t)port);
    else if (out->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)out)->sin6_port = htons((uint16_t)port);
    else
        return false;
    return true;
}

static void look_cb(uv_handle_t *h, void *arg)
{
    struct watch_ctx *w = arg;
    struct sockaddr_storage peer;
    struct tcp_info ti;
    socklen_t tl = sizeof(ti);
    int n = sizeof(peer), fd = -1;

    if (h->type != UV_TCP || uv_is_closing(h) || uv_fileno(h, &fd) != 0 || fd < 0)
        return;
    if (uv_tcp_getpeername((uv_tcp_t *)h, (struct sockaddr *)&peer, &n) != 0 ||
        !same_addr(&peer, &w->leader))
        return;
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) != 0)
        return;
    if (ti.tcpi_state == TCP_CLOSE_WAIT || ti.tcpi_state == TCP_CLOSE)
        w->gone = true;
}

void orc_raft_watch_tick(struct orc_raft *r, int64_t now)
{
    struct watch_ctx w = {0};
    raft_id lid = 0;
    const char *laddr = NULL;

    if (now < r->watch_next_ms)
        return;
    r->watch_next_ms = now + WATCH_EVERY_MS;
    if (r->closing || raft_state(&r->raft) != RAFT_FOLLOWER ||
        r->watch_fired_term == r->raft.current_term)
        return;
    raft_leader(&r->raft, &lid, &laddr);
    if (lid == 0 || laddr == NULL || !leader_sockaddr(r, lid, laddr, &w.leader))
        return;
    uv_walk(&r->loop, look_cb, &w);
    if (!w.gone)
        return;
    /* once per term: a leader that is alive after all keeps it */
    r->watch_fired_term = r->raft.current_term;
    r->raft.follower_state.randomized_election_timeout = 0;
    ORC_LOG_N("+raft-leader-gone", "leader=%s term=%llu action=campaign-at-next-tick", laddr,
              (unsigned long long)r->raft.current_term);
}
