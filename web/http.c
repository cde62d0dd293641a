/*
 * HTTP server: libmicrohttpd setup, authentication, routing to the api_*
 * handlers, the embedded web UI, and the reply helpers handlers use.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <errno.h>
#include <unistd.h>

#include "recovery/rec.h"
#include "web/web.h"
#include "web/web_int.h"

struct web_server {
    struct web_deps deps;
    struct MHD_Daemon *mhd;
    int port;
    char prefix[128]; /* URLPrefix, "" or "/x" */
    size_t prefix_len;
    const struct web_route **routes; /* all tables, in registration order */
    size_t nroutes;
    struct web_metrics metrics;
    int unix_fd;              /* ListenSocket, or -1 */
    struct web_dedupe dedupe; /* write requests by X-Request-Id */
    struct web_tls tls;
    struct web_read_cache read_cache;
    void *analysis_opts; /* web_analysis_prepare */
};

struct web_read_cache *web_read_cache_of(struct web_req *r)
{
    return &r->srv->read_cache;
}

const void *web_analysis_options_of(struct web_req *r)
{
    return r->srv->analysis_opts;
}

static const struct {
    const struct web_route *table;
    const size_t *len;
} route_tables[] = {
    {web_routes_meta, &web_routes_meta_len},
    {web_routes_read, &web_routes_read_len},
    {web_routes_write, &web_routes_write_len},
    {web_routes_analysis, &web_routes_analysis_len},
    {web_routes_recovery, &web_routes_recovery_len},
    {web_routes_quorum, &web_routes_quorum_len},
    {web_routes_planned, &web_routes_planned_len},
    {web_routes_gtid, &web_routes_gtid_len},
    {web_routes_replication, &web_routes_replication_len},
    {web_routes_relocate_many, &web_routes_relocate_many_len},
    {web_routes_raft, &web_routes_raft_len},
    {web_routes_kv, &web_routes_kv_len},
    {web_routes_more, &web_routes_more_len},
    {web_routes_metrics, &web_routes_metrics_len},
    {web_routes_pools, &web_routes_pools_len},
    {web_routes_unsupported, &web_routes_unsupported_len},
    {web_routes_semisync, &web_routes_semisync_len},
    {web_routes_config, &web_routes_config_len},
};

const char *web_param(const struct web_req *r, int i)
{
    return (i >= 0 && i < r->nparams) ? r->params[i] : NULL;
}

const char *web_query(const struct web_req *r, const char *name)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)r->conn, MHD_GET_ARGUMENT_KIND,
                                       name);
}

void web_reply_raw(struct web_req *r, int status, const char *type, const char *data, size_t n)
{
    r->status = status;
    r->content_type = type;
    orc_buf_reset(&r->body);
    orc_buf_append(&r->body, data, n);
}

void web_reply_json(struct web_req *r, int status, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);

    json_decref(j);
    if (s == NULL) {
        static const char oom[] = "{\"Code\":\"ERROR\",\"Message\":\"cannot encode the reply\"}";
        web_reply_raw(r, 500, WEB_JSON, oom, sizeof(oom) - 1);
        return;
    }
    r->status = status;
    r->content_type = WEB_JSON;
    orc_buf_release(&r->body);
    r->body.data = s;
    r->body.len = strlen(s);
    r->body.cap = r->body.len + 1;
}

static json_t *envelope(const char *code, const char *msg, json_t *details)
{
    return json_pack("{s:s, s:s, s:o}", "Code", code, "Message", msg ? msg : "", "Details",
                     details ? details : json_null());
}

void web_reply_ok(struct web_req *r, const char *msg, json_t *details)
{
    web_reply_json(r, 200, envelope("OK", msg, details));
}

/* Replaces the bytes of msg that are not UTF-8 (a path or a value a client
 * sent) so that the message can always be encoded as JSON. */
static void utf8_scrub(char *msg)
{
    size_t n = strlen(msg), i = 0;

    while (i < n) {
        unsigned char c = (unsigned char)msg[i];
        size_t k = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;

        if (c >= 0x80 && (i + k > n || !web_utf8_valid(msg + i, k))) {
            msg[i++] = '?';
            continue;
        }
        i += k;
    }
}

void web_reply_error(struct web_req *r, int status, const char *fmt, ...)
{
    char msg[ORC_ERRMSG_SIZE];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    utf8_scrub(msg);
    web_reply_json(r, status, envelope("ERROR", msg, NULL));
}

int web_param_key(struct web_req *r, int i, struct orc_key *out)
{
    const char *h = web_param(r, i), *p = web_param(r, i + 1);

    if (h == NULL || p == NULL || orc_key_from(h, p, out) != 0) {
        web_reply_error(r, 400, "invalid instance key: '%s:%s'", h ? h : "", p ? p : "");
        return ORC_EINVAL;
    }
    return 0;
}

/* ---- routing ---- */

/* Splits p at '/' into at most max segments; the last one keeps the rest
 * of the path, slashes included, when there are more. */
static int split_path(char *p, char **segs, int max)
{
    int n = 0;

    while (*p == '/')
        p++;
    while (*p && n < max) {
        segs[n++] = p;
        if (n == max)
            break;
        while (*p && *p != '/')
            p++;
        if (*p == '/')
            *p++ = '\0';
        else
            break;
    }
    return n;
}

/* A "*name" pattern segment takes the rest of the path: the segments from
 * i on are joined again with the '/' that split_path cut. */
static const char *rest_of_path(char **segs, int i, int nsegs)
{
    for (int j = i; j < nsegs - 1; j++)
        segs[j][strlen(segs[j])] = '/';
    return segs[i];
}

static bool match_route(const char *pattern, char **segs, int nsegs, struct web_req *r)
{
    const char *p = pattern;
    int i = 0;

    r->nparams = 0;
    while (*p) {
        const char *end = strchr(p, '/');
        size_t l = end ? (size_t)(end - p) : strlen(p);

        if (i >= nsegs)
            return false;
        if (p[0] == '*' && end == NULL) {
            if (r->nparams >= WEB_MAX_PARAMS)
                return false;
            r->params[r->nparams++] = rest_of_path(segs, i, nsegs);
            return true;
        }
        if (p[0] == ':') {
            if (r->nparams >= WEB_MAX_PARAMS)
                return false;
            r->params[r->nparams++] = segs[i];
        } else if (strlen(segs[i]) != l || strncmp(segs[i], p, l) != 0) {
            return false;
        }
        i++;
        p += l;
        if (*p == '/')
            p++;
    }
    return i == nsegs;
}

static const struct web_route *find_route(struct web_server *s, char *path, struct web_req *r)
{
    char *segs[16];
    int n = split_path(path, segs, 16);

    for (size_t i = 0; i < s->nroutes; i++)
        if (match_route(s->routes[i]->pattern, segs, n, r))
            return s->routes[i];
    return NULL;
}

/* ---- static UI ---- */

static bool serve_ui(struct web_req *r, const char *rel)
{
    if (*rel == '\0')
        rel = "index.html";
    for (const struct web_asset *a = web_assets; a->name; a++) {
        if (strcmp(a->name, rel) == 0) {
            web_reply_raw(r, 200, a->type, (const char *)a->data, a->len);
            return true;
        }
    }
    return false;
}

/* ---- dispatch ---- */

enum target { T_API, T_METRICS, T_UI };

/* What libmicrohttpd keeps for a request between its calls: the request as
 * checked on the first call (headers only), and the body, which handlers
 * ignore (POST = GET) but the raft proxy forwards. */
struct req_state {
    struct web_req r;
    char path[WEB_MAX_PATH]; /* route params point in here */
    enum target target;
    const struct web_route *rt; /* T_API */
    struct orc_buf in;
    bool too_large;
    int64_t t0;
};

static bool method_allowed(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "POST") == 0;
}

/* Content-Length beyond the cap is refused before the body is read. */
static bool body_too_large(struct web_req *r)
{
    const char *cl =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    int64_t n;

    return cl != NULL && (orc_parse_int64(cl, 0, INT64_MAX, &n) != 0 || n > WEB_MAX_REQUEST_BODY);
}

static enum MHD_Result arg_utf8(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
    bool *ok = cls;

    (void)kind;
    if (!web_utf8_valid(k, strlen(k)) || (v != NULL && !web_utf8_valid(v, strlen(v)))) {
        *ok = false;
        return MHD_NO;
    }
    return MHD_YES;
}

/* Query arguments end up in JSON and in the backend: UTF-8 only. */
static bool args_utf8(struct web_req *r)
{
    bool ok = true;

    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, arg_utf8, &ok);
    return ok;
}

/* Path -> target and route; false after replying 404 for an unknown route. */
static bool resolve(struct web_server *s, struct req_state *st)
{
    char *path = st->path;

    if (strncmp(path, "/api/", 5) == 0 || strcmp(path, "/api") == 0) {
        st->target = T_API;
        st->r.path = path[4] ? path + 5 : path + 4;
        st->rt = find_route(s, path + 4, &st->r);
        if (st->rt == NULL) {
            web_reply_error(&st->r, 404, "unknown route: '%s'", st->r.url);
            return false;
        }
        return true;
    }
    st->target = strcmp(path, "/metrics") == 0 ? T_METRICS : T_UI;
    return true;
}

static unsigned auth_flags(const struct web_server *s, const struct req_state *st)
{
    if (st->target == T_API)
        return st->rt->flags;
    if (st->target == T_METRICS && s->deps.cfg->HTTPMetricsWithoutAuth)
        return WEB_NOAUTH;
    return 0;
}

/* Everything decided from the request line and headers, before any body is
 * read: method, client certificate, path, size, route, credentials and the
 * cross-site check. Returns false after replying. */
static bool admit(struct web_server *s, struct req_state *st)
{
    struct web_req *r = &st->r;
    const struct orc_config *cfg = s->deps.cfg;
    char err[ORC_ERRMSG_SIZE];

    if (!method_allowed(r->method))
        return web_reply_error(r, 405, "method not allowed: %s", r->method), false;
    if (web_tls_check_client(r->conn, cfg, err, sizeof(err)) != 0)
        return web_reply_error(r, 403, "mutual TLS: %s", err), false;
    if (!web_utf8_valid(r->url, strlen(r->url)))
        return web_reply_error(r, 400, "invalid path: not UTF-8"), false;
    if (!args_utf8(r))
        return web_reply_error(r, 400, "invalid query argument: not UTF-8"), false;
    if (s->prefix_len > 0 && strncmp(r->url, s->prefix, s->prefix_len) != 0)
        return web_reply_error(r, 404, "not found: '%s' (URLPrefix is '%s')", r->url, s->prefix),
               false;
    if (orc_strlcpy(st->path, r->url + s->prefix_len, sizeof(st->path)) != 0)
        return web_reply_error(r, 414, "path longer than %d bytes", WEB_MAX_PATH), false;
    if (st->path[0] == '\0')
        orc_strlcpy(st->path, "/", sizeof(st->path));
    if (!resolve(s, st))
        return false;
    if (!web_authenticate(r, auth_flags(s, st)))
        return web_reply_error(r, 401, "Unauthorized"), false;
    if (st->target == T_API && (st->rt->flags & WEB_WRITE) && !web_csrf_check(r))
        return web_reply_error(r, 403, "cross-site request refused (Origin / Sec-Fetch-Site)"),
               false;
    if (body_too_large(r))
        return web_reply_error(r, 413, "request body larger than %d bytes", WEB_MAX_REQUEST_BODY),
               false;
    return true;
}

/* Runs the route's handler with the recovery env pinned: an operation the
 * request starts reads one set of settings, the effective ones (the
 * replicated recovery settings included). */
static void run_handler(struct web_server *s, struct req_state *st)
{
    struct web_req *r = &st->r;
    struct rec_env pinned;

    if (r->deps->rec != NULL) {
        rec_env_pin(r->deps->rec, &pinned);
        r->rec = &pinned;
    }
    if (st->rt->flags & WEB_WRITE)
        web_dedupe_serve(&s->dedupe, r, st->rt->fn);
    else
        st->rt->fn(r);
    if (r->rec != NULL)
        rec_env_unpin(&pinned);
    r->rec = NULL;
}

static void run(struct web_server *s, struct req_state *st)
{
    struct web_req *r = &st->r;
    const char *rest = st->path + 1;

    r->req_body = st->in.data;
    r->req_body_len = st->in.len;
    if (st->target == T_API) {
        /* raft: a follower forwards proxied routes to the leader */
        if (!(st->rt->flags & WEB_NOPROXY) && web_proxy_handle(r, (st->rt->flags & WEB_WRITE) != 0))
            return;
        if ((st->rt->flags & WEB_WRITE) && !r->can_write) {
            web_reply_error(r, 403, "Unauthorized: this user or node may not change state");
            return;
        }
        run_handler(s, st);
        return;
    }
    if (st->target == T_METRICS) {
        web_metrics_render(&s->metrics, r);
        return;
    }
    if (strncmp(st->path, "/web/", 5) == 0)
        rest = st->path + 5;
    else if (strcmp(st->path, "/web") == 0)
        rest = "";
    if (strchr(rest, '/') == NULL && serve_ui(r, rest))
        return;
    web_reply_error(r, 404, "not found: '%s'", r->url);
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, struct web_req *r)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;
    size_t n = r->body.len;
    char *data = orc_buf_detach(&r->body);

    resp = MHD_create_response_from_buffer(n, data, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(data);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", r->content_type ? r->content_type : WEB_JSON);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
    if (r->status == 401)
        MHD_add_response_header(resp, "WWW-Authenticate", "Basic realm=\"orchestrator\"");
    ret = MHD_queue_response(conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void on_completed(void *cls,
                         struct MHD_Connection *conn,
                         void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req_state *st = *con_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (st != NULL) {
        orc_buf_release(&st->in);
        orc_buf_release(&st->r.body);
        free(st);
        *con_cls = NULL;
    }
}

static enum MHD_Result finish(struct web_server *s,
                              struct MHD_Connection *conn,
                              struct req_state *st)
{
    enum MHD_Result ret;

    web_metrics_observe(&s->metrics, st->r.status, orc_mono_us() - st->t0);
    ret = send_reply(conn, &st->r);
    orc_buf_release(&st->r.body);
    return ret;
}

static struct req_state *req_new(struct web_server *s,
                                 struct MHD_Connection *conn,
                                 const char *url,
                                 const char *method)
{
    struct req_state *st = calloc(1, sizeof(*st));

    if (st == NULL)
        return NULL;
    st->t0 = orc_mono_us();
    st->r.srv = s;
    st->r.deps = &s->deps;
    st->r.conn = conn;
    st->r.method = method;
    st->r.url = url;
    st->r.status = 200;
    orc_buf_init(&st->r.body);
    orc_buf_init(&st->in);
    return st;
}

static enum MHD_Result on_request(void *cls,
                                  struct MHD_Connection *conn,
                                  const char *url,
                                  const char *method,
                                  const char *version,
                                  const char *upload,
                                  size_t *upload_size,
                                  void **con_cls)
{
    struct web_server *s = cls;
    struct req_state *st = *con_cls;

    (void)version;
    /* First call for a request: headers only. Refuse now, or accept the body. */
    if (st == NULL) {
        st = req_new(s, conn, url, method);
        *con_cls = st;
        if (st == NULL)
            return MHD_NO;
        return admit(s, st) ? MHD_YES : finish(s, conn, st);
    }
    if (*upload_size != 0) { /* kept for the raft proxy, bounded */
        if (st->in.len + *upload_size > WEB_MAX_REQUEST_BODY ||
            orc_buf_append(&st->in, upload, *upload_size) != 0)
            st->too_large = true;
        *upload_size = 0;
        return MHD_YES;
    }
    st->t0 = orc_mono_us();
    if (st->too_large)
        web_reply_error(&st->r, 413, "request body larger than %d bytes", WEB_MAX_REQUEST_BODY);
    else
        run(s, st);
    return finish(s, conn, st);
}

static int parse_listen(const char *addr, struct sockaddr_in *sa, char *errmsg, size_t len)
{
    const char *colon = strrchr(addr, ':');
    char host[64];
    int64_t port;

    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    if (colon == NULL || orc_parse_int64(colon + 1, 0, 65535, &port) != 0) {
        orc_errf(errmsg, len, "ListenAddress '%s': expected [host]:port", addr);
        return ORC_ECONFIG;
    }
    sa->sin_port = htons((uint16_t)port);
    if (colon == addr) {
        sa->sin_addr.s_addr = htonl(INADDR_ANY);
        return 0;
    }
    if ((size_t)(colon - addr) >= sizeof(host)) {
        orc_errf(errmsg, len, "ListenAddress '%s': host too long", addr);
        return ORC_ECONFIG;
    }
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    if (strcmp(host, "localhost") == 0)
        orc_strlcpy(host, "127.0.0.1", sizeof(host));
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1) {
        orc_errf(errmsg, len, "ListenAddress '%s': host must be an IPv4 address", addr);
        return ORC_ECONFIG;
    }
    return 0;
}

/* ListenSocket: a unix socket instead of TCP. A stale socket file left by a
 * previous run is replaced; anything else at that path is an error. */
static int listen_unix(const char *path, int *fd, char *errmsg, size_t len)
{
    struct sockaddr_un sa;
    struct stat st;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (orc_strlcpy(sa.sun_path, path, sizeof(sa.sun_path)) != 0) {
        orc_errf(errmsg, len, "ListenSocket '%s': path too long", path);
        return ORC_ECONFIG;
    }
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            orc_errf(errmsg, len, "ListenSocket '%s': exists and is not a socket", path);
            return ORC_ECONFIG;
        }
        unlink(path);
    }
    *fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (*fd < 0 || bind(*fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(*fd, 128) != 0) {
        orc_errf(errmsg, len, "ListenSocket '%s': %s", path, strerror(errno));
        if (*fd >= 0)
            close(*fd);
        *fd = -1;
        return ORC_EIO;
    }
    return 0;
}

static int collect_routes(struct web_server *s)
{
    size_t n = 0, k = 0;

    for (size_t t = 0; t < ORC_ARRAY_LEN(route_tables); t++)
        n += *route_tables[t].len;
    s->routes = calloc(n, sizeof(*s->routes));
    if (s->routes == NULL)
        return ORC_ENOMEM;
    for (size_t t = 0; t < ORC_ARRAY_LEN(route_tables); t++)
        for (size_t i = 0; i < *route_tables[t].len; i++)
            s->routes[k++] = &route_tables[t].table[i];
    s->nroutes = n;
    return 0;
}

bool web_listen_is_loopback(const char *addr)
{
    struct sockaddr_in sa;
    char err[ORC_ERRMSG_SIZE];

    if (parse_listen(addr, &sa, err, sizeof(err)) != 0)
        return false;
    return (ntohl(sa.sin_addr.s_addr) >> 24) == 127;
}

/* No open doors: writes without authentication are only served on loopback
 * or a unix socket, unless the operator opted in. */
static int check_exposure(const struct orc_config *cfg, char *errmsg, size_t len)
{
    bool local = cfg->ListenSocket[0] != '\0' || web_listen_is_loopback(cfg->ListenAddress);

    if (local || cfg->ReadOnly)
        return 0;
    if (cfg->AuthenticationMethod[0] == '\0') {
        if (!cfg->HTTPAllowUnauthenticatedRemoteWrites) {
            orc_errf(errmsg, len,
                     "ListenAddress '%s' is not loopback and AuthenticationMethod is \"\": anybody "
                     "reaching it could fail over masters; set AuthenticationMethod, listen on "
                     "127.0.0.1, or set HTTPAllowUnauthenticatedRemoteWrites",
                     cfg->ListenAddress);
            return ORC_ECONFIG;
        }
        ORC_LOG_W("+http-unauthenticated-writes",
                  "listen=%s hint=\"anybody reaching this address may change the topology\"",
                  cfg->ListenAddress);
    } else if (strcmp(cfg->AuthenticationMethod, "proxy") == 0 && !cfg->UseMutualTLS) {
        ORC_LOG_W("+http-proxy-auth-exposed",
                  "listen=%s header=%s hint=\"whoever reaches this address directly can set the "
                  "header; firewall it or use UseMutualTLS\"",
                  cfg->ListenAddress, cfg->AuthUserHeader);
    }
    return 0;
}

/* libmicrohttpd's own messages (bad handshakes, refused connections): one
 * debug line each, so that a hostile client cannot flood the log. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[ORC_ERRMSG_SIZE];
    size_t n;

    (void)cls;
    if (orc_log_min_level > ORC_LOG_DEBUG)
        return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    utf8_scrub(msg);
    ORC_LOG_D("+http-mhd", "message=\"%s\"", msg);
}

static struct MHD_Daemon *start_daemon(struct web_server *s, struct sockaddr_in *sa)
{
    const struct orc_config *cfg = s->deps.cfg;
    /* poll(), not select(): with a connection per probed instance, the
     * HTTP sockets get descriptors above FD_SETSIZE (1024), which select()
     * cannot watch: MHD would close those connections unanswered. */
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG;
    struct MHD_OptionItem o[16];
    int n = 0;

#define OPT(opt, v, p) (o[n++] = (struct MHD_OptionItem){(opt), (intptr_t)(v), (p)})
    if (s->unix_fd >= 0)
        OPT(MHD_OPTION_LISTEN_SOCKET, s->unix_fd, NULL);
    else
        OPT(MHD_OPTION_SOCK_ADDR, 0, sa);
    OPT(MHD_OPTION_CONNECTION_TIMEOUT, cfg->HTTPConnectionTimeoutSeconds, NULL);
    OPT(MHD_OPTION_CONNECTION_LIMIT, WEB_MAX_CONNECTIONS, NULL);
    OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, WEB_MAX_HEADERS, NULL);
    if (s->unix_fd < 0)
        OPT(MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->HTTPMaxConnectionsPerClient, NULL);
    OPT(MHD_OPTION_THREAD_STACK_SIZE, 256 * 1024, NULL);
    OPT(MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL);
    OPT(MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL);
    if (s->tls.enabled) {
        flags |= MHD_USE_TLS;
        OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls.cert);
        OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls.key);
        OPT(MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2");
        if (s->tls.trust != NULL)
            OPT(MHD_OPTION_HTTPS_MEM_TRUST, 0, s->tls.trust);
    }
    OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
    /* No SO_REUSEPORT: a second service on the same address must fail to start. */
    return MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_ARRAY, o,
                            MHD_OPTION_END);
}

static void server_free(struct web_server *s)
{
    if (s->unix_fd >= 0) {
        close(s->unix_fd);
        unlink(s->deps.cfg->ListenSocket);
    }
    web_tls_release(&s->tls);
    web_metrics_release(&s->metrics);
    web_dedupe_release(&s->dedupe);
    web_read_cache_release(&s->read_cache);
    web_analysis_release(s->analysis_opts);
    free(s->routes);
    free(s);
}

int web_server_start(const struct web_deps *deps, struct web_server **out, char *errmsg, size_t len)
{
    struct web_server *s = calloc(1, sizeof(*s));
    const struct orc_config *cfg = deps->cfg;
    struct sockaddr_in sa;
    const union MHD_DaemonInfo *info;
    int rc;

    if (s == NULL)
        return ORC_ENOMEM;
    s->unix_fd = -1;
    s->deps = *deps;
    orc_strlcpy(s->prefix, cfg->URLPrefix, sizeof(s->prefix));
    s->prefix_len = strlen(s->prefix);
    web_metrics_init(&s->metrics, &s->deps);
    web_dedupe_init(&s->dedupe);
    web_read_cache_init(&s->read_cache);
    rc = web_analysis_prepare(cfg, &s->analysis_opts, errmsg, len);
    if (rc == 0)
        rc = check_exposure(cfg, errmsg, len);
    if (rc == 0)
        rc = web_tls_load(cfg, &s->tls, errmsg, len);
    if (rc == 0)
        rc = collect_routes(s);
    if (rc == 0 && cfg->ListenSocket[0] != '\0')
        rc = listen_unix(cfg->ListenSocket, &s->unix_fd, errmsg, len);
    else if (rc == 0)
        rc = parse_listen(cfg->ListenAddress, &sa, errmsg, len);
    if (rc != 0)
        goto fail;
    s->mhd = start_daemon(s, &sa);
    if (s->mhd == NULL) {
        orc_errf(errmsg, len, "listen on '%s': cannot start the HTTP server (address in use?%s)",
                 s->unix_fd >= 0 ? cfg->ListenSocket : cfg->ListenAddress,
                 s->tls.enabled ? " bad certificate or key?" : "");
        rc = ORC_EIO;
        goto fail;
    }
    if (s->unix_fd < 0) {
        info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
        s->port = info ? info->port : ntohs(sa.sin_port);
    }
    ORC_LOG_I("+http-listen", "address=%s tls=%s mutual_tls=%s auth=%s",
              s->unix_fd >= 0 ? cfg->ListenSocket : cfg->ListenAddress,
              s->tls.enabled ? "on" : "off", cfg->UseMutualTLS ? "on" : "off",
              cfg->AuthenticationMethod[0] ? cfg->AuthenticationMethod : "none");
    *out = s;
    return 0;
fail:
    server_free(s);
    return rc;
}

void web_server_stop(struct web_server *s)
{
    if (s == NULL)
        return;
    MHD_stop_daemon(s->mhd);
    server_free(s);
}

int web_server_port(const struct web_server *s)
{
    return s->port;
}

struct web_metrics *web_server_metrics(struct web_server *s)
{
    return &s->metrics;
}
