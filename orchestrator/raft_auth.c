/*
 * raft_auth: mutual authentication of raft peers. canonical/raft's TCP
 * transport (raft_uv_tcp) accepts whoever reaches the raft port; this file
 * wraps it in a struct raft_uv_transport of our own whose listen and connect
 * callbacks run a challenge-response handshake on every new connection
 * before raft sees it:
 *
 *   (raft_uv_tcp's own preamble: protocol, connector id and address)
 *   C -> S  "ORCRAFT1" nonce_c[32]
 *   S -> C  "ORCRAFT1" nonce_s[32] HMAC(K, "S" ctx)
 *   C -> S                          HMAC(K, "C" ctx)
 *   ctx = "orchestrator-raft-v1" nonce_c nonce_s id_c(8, big endian) addr_c
 *
 * K is RaftSecret. Each side checks the other's MAC (constant time) before
 * it hands the stream over; the connector's claimed id and address are in
 * the MAC, so they cannot be forged either. Reads use buffers of exactly the
 * size expected, so the first raft byte after the handshake stays in the
 * socket for raft. A failure (wrong MAC, bad magic, EOF, 5 s timeout) closes
 * the connection and logs +raft-peer-refused with the remote address.
 *
 * Without a secret the wrapper is transparent (orc_raft_auth_check decides
 * whether that is allowed). The join proof for /api/raft-add-peer
 * (orc_raft_auth_join_proof) uses the same key.
 *
 * Threads: everything but the join proof functions runs on the loop thread.
 */
#include <arpa/inet.h>
#include <sys/socket.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "orchestrator/raft_int.h"

#define AUTH_MAGIC "ORCRAFT1"
#define AUTH_MAGIC_LEN 8
#define AUTH_NONCE 32
#define AUTH_MAC 32
#define AUTH_TIMEOUT_MS 5000
#define AUTH_LABEL "orchestrator-raft-v1"
#define AUTH_JOIN_WINDOW_S 300

struct auth_tr;

/* One handshake in progress (or a pass-through connect request). */
struct auth_hs {
    struct auth_hs *next;
    struct auth_tr *tr;
    bool client;
    int phase; /* client: 0 hello sent, 1 mac sent; server: 0 hello, 1 mac */
    uv_stream_t *stream;
    uv_timer_t timer;
    bool timer_on;
    int handles; /* our handles still to close before the free */
    bool writing, verified, ended;
    uv_write_t wreq;
    unsigned char out[AUTH_MAGIC_LEN + AUTH_NONCE + AUTH_MAC];
    unsigned char in[AUTH_MAGIC_LEN + AUTH_NONCE + AUTH_MAC];
    size_t want, got;
    unsigned char nonce_c[AUTH_NONCE], nonce_s[AUTH_NONCE];
    raft_id peer_id; /* the connector's id and address */
    char peer_addr[ORC_RAFT_ADDR_MAX];
    struct raft_uv_connect creq; /* client: our request to the inner transport */
    struct raft_uv_connect *outer_req;
    raft_uv_connect_cb outer_cb;
};

struct auth_tr {
    struct raft_uv_transport inner; /* raft_uv_tcp */
    struct raft_uv_transport *outer;
    uv_loop_t *loop;
    unsigned char key[ORC_RAFT_SECRET_MAX];
    size_t keylen; /* 0: pass-through */
    raft_id id;
    char address[ORC_RAFT_ADDR_MAX];
    raft_uv_accept_cb accept_cb;
    struct auth_hs *hs; /* in progress */
    raft_uv_transport_close_cb close_cb;
    bool closing, inner_closed;
    int64_t refused_log_ms;              /* the last +raft-peer-refused line */
    raft_id peer_id[ORC_RAFT_MAX_PEERS]; /* the address each peer connected from */
    struct sockaddr_storage peer_ip[ORC_RAFT_MAX_PEERS];
    unsigned refused_quiet; /* refusals not logged since */
};

static void note_peer(struct auth_tr *tr, raft_id id, struct uv_stream_s *stream);

/* ---- MACs ---- */

static void put_u64be(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)(v & 0xff);
}

static void hs_mac(const struct auth_hs *h, char dir, unsigned char *mac)
{
    unsigned char msg[1 + sizeof(AUTH_LABEL) + 2 * AUTH_NONCE + 8 + ORC_RAFT_ADDR_MAX];
    size_t n = 0, alen = strlen(h->peer_addr);
    unsigned int maclen = AUTH_MAC;

    msg[n++] = (unsigned char)dir;
    memcpy(msg + n, AUTH_LABEL, sizeof(AUTH_LABEL));
    n += sizeof(AUTH_LABEL);
    memcpy(msg + n, h->nonce_c, AUTH_NONCE);
    n += AUTH_NONCE;
    memcpy(msg + n, h->nonce_s, AUTH_NONCE);
    n += AUTH_NONCE;
    put_u64be(msg + n, h->peer_id);
    n += 8;
    memcpy(msg + n, h->peer_addr, alen);
    n += alen;
    HMAC(EVP_sha256(), h->tr->key, (int)h->tr->keylen, msg, n, mac, &maclen);
}

/* ---- handshake life cycle ---- */

static void hs_unlink(struct auth_hs *h)
{
    for (struct auth_hs **p = &h->tr->hs; *p != NULL; p = &(*p)->next) {
        if (*p == h) {
            *p = h->next;
            break;
        }
    }
}

static void tr_maybe_closed(struct auth_tr *tr)
{
    if (tr->closing && tr->inner_closed && tr->hs == NULL && tr->close_cb != NULL) {
        raft_uv_transport_close_cb cb = tr->close_cb;
        tr->close_cb = NULL;
        cb(tr->outer);
    }
}

static void hs_release(struct auth_hs *h)
{
    struct auth_tr *tr = h->tr;

    if (h->handles > 0 || h->writing)
        return;
    hs_unlink(h);
    free(h);
    tr_maybe_closed(tr);
}

static void hs_handle_closed(uv_handle_t *handle)
{
    struct auth_hs *h = handle->data;

    if ((uv_handle_t *)handle != (uv_handle_t *)&h->timer)
        raft_free(handle); /* the stream raft_uv_tcp allocated */
    h->handles--;
    hs_release(h);
}

static void hs_stop_timer(struct auth_hs *h)
{
    if (!h->timer_on)
        return;
    h->timer_on = false;
    uv_timer_stop(&h->timer);
    uv_close((uv_handle_t *)&h->timer, hs_handle_closed);
}

static void peer_name(uv_stream_t *s, char *out, size_t len)
{
    struct sockaddr_storage ss;
    int n = sizeof(ss);
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;

    snprintf(out, len, "unknown");
    if (s == NULL || uv_tcp_getpeername((uv_tcp_t *)s, (struct sockaddr *)&ss, &n) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
        port = ntohs(a->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
        port = ntohs(a->sin6_port);
    }
    snprintf(out, len, "%s:%d", ip, port);
}

/* +raft-peer-refused, at most one line a second (raft retries a refused
 * connection every 50 ms); the lines not written are counted. */
static void log_refused(struct auth_hs *h, const char *why)
{
    struct auth_tr *tr = h->tr;
    char remote[INET6_ADDRSTRLEN + 8];
    int64_t now = orc_mono_ms();

    if (now - tr->refused_log_ms < 1000) {
        tr->refused_quiet++;
        return;
    }
    peer_name(h->stream, remote, sizeof(remote));
    ORC_LOG_W("+raft-peer-refused",
              "remote=%s direction=%s claimed_id=%" PRIu64
              " claimed_addr=%s reason=\"%s\" not_logged=%u",
              remote, h->client ? "outbound" : "inbound", (uint64_t)h->peer_id,
              h->client ? "(self)" : h->peer_addr, why, tr->refused_quiet);
    tr->refused_log_ms = now;
    tr->refused_quiet = 0;
}

/* Ends a handshake that failed: logs (unless the transport is closing),
 * closes the stream, tells raft a connect failed. */
static void hs_fail(struct auth_hs *h, const char *why)
{
    if (h->ended)
        return;
    h->ended = true;
    if (!h->tr->closing)
        log_refused(h, why);
    hs_stop_timer(h);
    if (h->stream != NULL) {
        uv_read_stop(h->stream);
        h->stream->data = h;
        h->handles++;
        uv_close((uv_handle_t *)h->stream, hs_handle_closed);
    }
    if (h->client)
        h->outer_cb(h->outer_req, NULL, h->tr->closing ? RAFT_CANCELED : RAFT_NOCONNECTION);
    hs_release(h);
}

/* Hands the authenticated stream to raft, once no write of ours is pending. */
static void hs_maybe_done(struct auth_hs *h)
{
    uv_stream_t *s = h->stream;
    struct auth_tr *tr = h->tr;

    if (!h->verified || h->writing || h->ended)
        return;
    h->ended = true;
    hs_stop_timer(h);
    uv_read_stop(s);
    s->data = NULL;
    if (h->client)
        h->outer_cb(h->outer_req, s, 0);
    else {
        note_peer(tr, h->peer_id, s);
        tr->accept_cb(tr->outer, h->peer_id, h->peer_addr, s);
    }
    hs_release(h);
}

/* ---- I/O ---- */

static void hs_timeout(uv_timer_t *t)
{
    hs_fail(t->data, "handshake timed out");
}

static void hs_write_cb(uv_write_t *w, int status)
{
    struct auth_hs *h = w->data;

    h->writing = false;
    if (h->ended) {
        hs_release(h);
        return;
    }
    if (status != 0) {
        hs_fail(h, "write failed");
        return;
    }
    if (h->client && h->phase == 1)
        h->verified = true;
    hs_maybe_done(h);
}

static int hs_write(struct auth_hs *h, size_t n)
{
    uv_buf_t b = uv_buf_init((char *)h->out, (unsigned)n);

    h->wreq.data = h;
    if (uv_write(&h->wreq, h->stream, &b, 1, hs_write_cb) != 0)
        return -1;
    h->writing = true;
    return 0;
}

static void hs_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    struct auth_hs *h = handle->data;

    (void)suggested;
    *buf = uv_buf_init((char *)h->in + h->got, (unsigned)(h->want - h->got));
}

static void hs_on_message(struct auth_hs *h);

static void hs_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct auth_hs *h = s->data;

    (void)buf;
    if (h->ended)
        return;
    if (nread < 0) {
        hs_fail(h, nread == UV_EOF ? "closed during the handshake" : "read failed");
        return;
    }
    h->got += (size_t)nread;
    if (h->got < h->want)
        return;
    uv_read_stop(s);
    hs_on_message(h);
}

static void hs_expect(struct auth_hs *h, size_t n)
{
    h->want = n;
    h->got = 0;
    h->stream->data = h;
    if (uv_read_start(h->stream, hs_alloc, hs_read_cb) != 0)
        hs_fail(h, "read failed");
}

/* Server: the client's hello arrived; answer with ours and our MAC. */
static void server_hello(struct auth_hs *h)
{
    if (memcmp(h->in, AUTH_MAGIC, AUTH_MAGIC_LEN) != 0) {
        hs_fail(h, "not an authenticated raft peer (bad handshake magic)");
        return;
    }
    memcpy(h->nonce_c, h->in + AUTH_MAGIC_LEN, AUTH_NONCE);
    if (RAND_bytes(h->nonce_s, AUTH_NONCE) != 1) {
        hs_fail(h, "no randomness");
        return;
    }
    memcpy(h->out, AUTH_MAGIC, AUTH_MAGIC_LEN);
    memcpy(h->out + AUTH_MAGIC_LEN, h->nonce_s, AUTH_NONCE);
    hs_mac(h, 'S', h->out + AUTH_MAGIC_LEN + AUTH_NONCE);
    h->phase = 1;
    if (hs_write(h, AUTH_MAGIC_LEN + AUTH_NONCE + AUTH_MAC) != 0) {
        hs_fail(h, "write failed");
        return;
    }
    hs_expect(h, AUTH_MAC);
}

/* Client: the server's hello and MAC arrived; check it, send ours. */
static void client_check(struct auth_hs *h)
{
    unsigned char mac[AUTH_MAC];

    if (memcmp(h->in, AUTH_MAGIC, AUTH_MAGIC_LEN) != 0) {
        hs_fail(h, "peer does not authenticate (bad handshake magic)");
        return;
    }
    memcpy(h->nonce_s, h->in + AUTH_MAGIC_LEN, AUTH_NONCE);
    hs_mac(h, 'S', mac);
    if (CRYPTO_memcmp(mac, h->in + AUTH_MAGIC_LEN + AUTH_NONCE, AUTH_MAC) != 0) {
        hs_fail(h, "peer's proof does not match our RaftSecret");
        return;
    }
    hs_mac(h, 'C', h->out);
    h->phase = 1;
    if (hs_write(h, AUTH_MAC) != 0)
        hs_fail(h, "write failed");
}

static void hs_on_message(struct auth_hs *h)
{
    unsigned char mac[AUTH_MAC];

    if (h->client) {
        client_check(h);
        return;
    }
    if (h->phase == 0) {
        server_hello(h);
        return;
    }
    hs_mac(h, 'C', mac);
    if (CRYPTO_memcmp(mac, h->in, AUTH_MAC) != 0) {
        hs_fail(h, "peer's proof does not match our RaftSecret");
        return;
    }
    h->verified = true;
    hs_maybe_done(h);
}

/* Starts the handshake on a connected stream (both sides). */
static void hs_begin(struct auth_hs *h, uv_stream_t *s)
{
    h->stream = s;
    s->data = h;
    uv_timer_init(s->loop, &h->timer);
    h->timer.data = h;
    h->timer_on = true;
    h->handles++;
    uv_timer_start(&h->timer, hs_timeout, AUTH_TIMEOUT_MS, 0);
    if (!h->client) {
        hs_expect(h, AUTH_MAGIC_LEN + AUTH_NONCE);
        return;
    }
    memcpy(h->out, AUTH_MAGIC, AUTH_MAGIC_LEN);
    if (RAND_bytes(h->nonce_c, AUTH_NONCE) != 1) {
        hs_fail(h, "no randomness");
        return;
    }
    memcpy(h->out + AUTH_MAGIC_LEN, h->nonce_c, AUTH_NONCE);
    if (hs_write(h, AUTH_MAGIC_LEN + AUTH_NONCE) != 0) {
        hs_fail(h, "write failed");
        return;
    }
    hs_expect(h, AUTH_MAGIC_LEN + AUTH_NONCE + AUTH_MAC);
}

static struct auth_hs *hs_new(struct auth_tr *tr, bool client)
{
    struct auth_hs *h = calloc(1, sizeof(*h));

    if (h == NULL)
        return NULL;
    h->tr = tr;
    h->client = client;
    h->next = tr->hs;
    tr->hs = h;
    return h;
}

/* ---- the transport vtable ---- */

static struct auth_tr *tr_of(struct raft_uv_transport *inner)
{
    return (struct auth_tr *)((char *)inner - offsetof(struct auth_tr, inner));
}

static int auth_init(struct raft_uv_transport *t, raft_id id, const char *address)
{
    struct auth_tr *tr = t->impl;
    int rv;

    tr->id = id;
    orc_strlcpy(tr->address, address, sizeof(tr->address));
    rv = tr->inner.init(&tr->inner, id, address);
    if (rv != 0)
        memcpy(t->errmsg, tr->inner.errmsg, sizeof(t->errmsg));
    return rv;
}

/* Remembers the IP a peer's connection came from (its advertised address
 * may be a name): raft_watch.c finds our connection to the leader by it. */
static void note_peer(struct auth_tr *tr, raft_id id, struct uv_stream_s *stream)
{
    struct sockaddr_storage ss;
    int n = sizeof(ss), slot = -1;

    if (uv_tcp_getpeername((uv_tcp_t *)stream, (struct sockaddr *)&ss, &n) != 0)
        return;
    for (int k = 0; k < ORC_RAFT_MAX_PEERS; k++) {
        if (tr->peer_id[k] == id) {
            slot = k;
            break;
        }
        if (slot < 0 && tr->peer_id[k] == 0)
            slot = k;
    }
    if (slot < 0)
        slot = (int)(id % ORC_RAFT_MAX_PEERS);
    tr->peer_id[slot] = id;
    tr->peer_ip[slot] = ss;
}

bool orc_raft_auth_peer_ip(const struct raft_uv_transport *t,
                           raft_id id,
                           struct sockaddr_storage *out)
{
    const struct auth_tr *tr = t->impl;

    for (int k = 0; k < ORC_RAFT_MAX_PEERS; k++)
        if (tr->peer_id[k] == id && id != 0) {
            *out = tr->peer_ip[k];
            return true;
        }
    return false;
}

static void free_stream(uv_handle_t *handle)
{
    raft_free(handle);
}

static void inner_accept_cb(struct raft_uv_transport *inner,
                            raft_id id,
                            const char *address,
                            struct uv_stream_s *stream)
{
    struct auth_tr *tr = tr_of(inner);
    struct auth_hs *h;

    if (tr->keylen == 0) {
        note_peer(tr, id, stream);
        tr->accept_cb(tr->outer, id, address, stream);
        return;
    }
    h = hs_new(tr, false);
    if (h == NULL) {
        uv_close((uv_handle_t *)stream, free_stream);
        return;
    }
    h->peer_id = id;
    orc_strlcpy(h->peer_addr, address, sizeof(h->peer_addr));
    hs_begin(h, stream);
}

/* libraft 0.15 listens with a backlog of 1. When several peers connect at
 * once (every voter answering a new candidate, all nodes starting together)
 * the kernel drops the SYNs beyond it and the peers retry only after TCP's
 * initial 1 s retransmission timeout: the new leader then cannot reach a
 * majority, steps down, and an election takes a second more. listen(2) on a
 * listening socket only changes its backlog; the raft loop holds no other
 * listening TCP handle. */
static void widen_backlog_cb(uv_handle_t *h, void *arg)
{
    int *widened = arg, fd = -1, on = 0;
    socklen_t olen = sizeof(on);

    if (h->type != UV_TCP || uv_fileno(h, &fd) != 0 || fd < 0)
        return;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &olen) != 0 || !on)
        return;
    if (listen(fd, ORC_RAFT_LISTEN_BACKLOG) == 0)
        (*widened)++;
}

static int auth_listen(struct raft_uv_transport *t, raft_uv_accept_cb cb)
{
    struct auth_tr *tr = t->impl;
    int rv, widened = 0;

    tr->accept_cb = cb;
    rv = tr->inner.listen(&tr->inner, inner_accept_cb);
    if (rv != 0) {
        memcpy(t->errmsg, tr->inner.errmsg, sizeof(t->errmsg));
        return rv;
    }
    uv_walk(tr->loop, widen_backlog_cb, &widened);
    if (widened == 0)
        ORC_LOG_W("+raft-listen-backlog",
                  "widened=0 backlog=%d (peers connecting together may wait 1 s)",
                  ORC_RAFT_LISTEN_BACKLOG);
    return 0;
}

static void inner_connect_cb(struct raft_uv_connect *req, struct uv_stream_s *stream, int status)
{
    struct auth_hs *h = req->data;

    if (status != 0) {
        h->ended = true;
        h->outer_cb(h->outer_req, NULL, status);
        hs_release(h);
        return;
    }
    if (h->tr->closing) {
        h->stream = stream;
        hs_fail(h, "closing");
        return;
    }
    hs_begin(h, stream);
}

static int auth_connect(struct raft_uv_transport *t,
                        struct raft_uv_connect *req,
                        raft_id id,
                        const char *address,
                        raft_uv_connect_cb cb)
{
    struct auth_tr *tr = t->impl;
    struct auth_hs *h;
    int rv;

    if (tr->keylen == 0)
        return tr->inner.connect(&tr->inner, req, id, address, cb);
    h = hs_new(tr, true);
    if (h == NULL)
        return RAFT_NOMEM;
    h->outer_req = req;
    h->outer_cb = cb;
    h->peer_id = tr->id;
    orc_strlcpy(h->peer_addr, tr->address, sizeof(h->peer_addr));
    h->creq.data = h;
    rv = tr->inner.connect(&tr->inner, &h->creq, id, address, inner_connect_cb);
    if (rv != 0) {
        memcpy(t->errmsg, tr->inner.errmsg, sizeof(t->errmsg));
        hs_unlink(h);
        free(h);
    }
    return rv;
}

static void inner_close_cb(struct raft_uv_transport *inner)
{
    struct auth_tr *tr = tr_of(inner);

    tr->inner_closed = true;
    tr_maybe_closed(tr);
}

static void auth_close(struct raft_uv_transport *t, raft_uv_transport_close_cb cb)
{
    struct auth_tr *tr = t->impl;
    struct auth_hs *h, *next;

    tr->closing = true;
    tr->close_cb = cb;
    /* handshakes with a stream end here; connects still in raft_uv_tcp are
     * cancelled by it (inner_connect_cb) */
    for (h = tr->hs; h != NULL; h = next) {
        next = h->next;
        if (h->stream != NULL && !h->ended)
            hs_fail(h, "closing");
    }
    tr->inner.close(&tr->inner, inner_close_cb);
}

/* ---- public (raft module) ---- */

int orc_raft_auth_init(struct raft_uv_transport *t,
                       uv_loop_t *loop,
                       const char *bind,
                       const char *secret,
                       char *errmsg,
                       size_t len)
{
    struct auth_tr *tr = calloc(1, sizeof(*tr));
    size_t n = secret != NULL ? strlen(secret) : 0;
    int rv;

    if (tr == NULL)
        return ORC_ENOMEM;
    if (n > sizeof(tr->key)) {
        free(tr);
        orc_errf(errmsg, len, "RaftSecret: longer than %d bytes", ORC_RAFT_SECRET_MAX);
        return ORC_ECONFIG;
    }
    memcpy(tr->key, secret != NULL ? secret : "", n);
    tr->keylen = n;
    tr->refused_log_ms = INT64_MIN / 2;
    tr->loop = loop;
    rv = raft_uv_tcp_init(&tr->inner, loop);
    if (rv == 0)
        rv = raft_uv_tcp_set_bind_address(&tr->inner, bind);
    if (rv != 0) {
        orc_errf(errmsg, len, "raft tcp transport bound to %s: %s", bind, raft_strerror(rv));
        raft_uv_tcp_close(&tr->inner);
        OPENSSL_cleanse(tr->key, sizeof(tr->key));
        free(tr);
        return ORC_EIO;
    }
    memset(t, 0, sizeof(*t));
    tr->outer = t;
    t->impl = tr;
    t->init = auth_init;
    t->listen = auth_listen;
    t->connect = auth_connect;
    t->close = auth_close;
    return 0;
}

void orc_raft_auth_close(struct raft_uv_transport *t)
{
    struct auth_tr *tr = t->impl;

    if (tr == NULL)
        return;
    raft_uv_tcp_close(&tr->inner);
    OPENSSL_cleanse(tr->key, sizeof(tr->key));
    free(tr);
    t->impl = NULL;
}

int orc_raft_auth_check(const struct orc_config *c, const char *bind, char *errmsg, size_t len)
{
    bool loopback = strncmp(bind, "127.", 4) == 0;

    if (c->RaftSecret[0] != '\0') {
        ORC_LOG_N("+raft-peer-auth", "mode=hmac-sha256 bind=%s", bind);
        return 0;
    }
    if (loopback) {
        ORC_LOG_N("+raft-peer-auth", "mode=none bind=%s (loopback only)", bind);
        return 0;
    }
    if (!c->RaftAllowUnauthenticatedPeers) {
        orc_errf(errmsg, len,
                 "RaftBind %s is not a loopback address and no RaftSecret or RaftSecretFile is "
                 "set: anyone reaching the raft port could join and vote (set a secret, or "
                 "RaftAllowUnauthenticatedPeers: true to accept that)",
                 bind);
        return ORC_ECONFIG;
    }
    ORC_LOG_W("+raft-peer-auth",
              "mode=none bind=%s: raft peers are NOT authenticated "
              "(RaftAllowUnauthenticatedPeers)",
              bind);
    return 0;
}

/* ---- the join proof (any thread) ---- */

static void join_mac(const char *secret,
                     const char *addr,
                     const char *role,
                     long long ts,
                     char *hex,
                     size_t hexlen)
{
    unsigned char mac[AUTH_MAC];
    unsigned int maclen = AUTH_MAC;
    char msg[512];
    int n = snprintf(msg, sizeof(msg), "join%c%s%c%s%c%lld", 0, addr, 0, role, 0, ts);

    if (n < 0 || (size_t)n >= sizeof(msg))
        n = (int)sizeof(msg) - 1;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg, (size_t)n, mac,
         &maclen);
    for (size_t i = 0; i < AUTH_MAC && 2 * i + 2 < hexlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
}

int orc_raft_auth_join_proof(const char *secret,
                             const char *addr,
                             const char *role,
                             time_t now,
                             char *out,
                             size_t len)
{
    char hex[2 * AUTH_MAC + 1] = "";

    if (secret == NULL || secret[0] == '\0') {
        out[0] = '\0';
        return 0;
    }
    join_mac(secret, addr, role, (long long)now, hex, sizeof(hex));
    if (snprintf(out, len, "%lld.%s", (long long)now, hex) >= (int)len)
        return ORC_EINVAL;
    return 0;
}

int orc_raft_auth_join_check(const char *secret,
                             const char *addr,
                             const char *role,
                             const char *proof,
                             time_t now)
{
    char hex[2 * AUTH_MAC + 1] = "";
    char *end = NULL;
    long long ts;

    if (secret == NULL || secret[0] == '\0')
        return 0;
    if (proof == NULL || proof[0] == '\0')
        return ORC_EPERM;
    ts = strtoll(proof, &end, 10);
    if (end == proof || *end != '.' || strlen(end + 1) != 2 * AUTH_MAC)
        return ORC_EPERM;
    if (ts < (long long)now - AUTH_JOIN_WINDOW_S || ts > (long long)now + AUTH_JOIN_WINDOW_S)
        return ORC_EPERM;
    join_mac(secret, addr, role, ts, hex, sizeof(hex));
    return CRYPTO_memcmp(hex, end + 1, 2 * AUTH_MAC) == 0 ? 0 : ORC_EPERM;
}
