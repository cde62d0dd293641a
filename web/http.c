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
    int unix_fd; /* ListenSocket, or -1 */
};

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
    {web_routes_raft, &web_routes_raft_len},
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
        web_reply_raw(r, 500, WEB_JSON, "{\"Code\":\"ERROR\",\"Message\":\"out of memory\"}", 44);
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

void web_reply_error(struct web_req *r, int status, const char *fmt, ...)
{
    char msg[ORC_ERRMSG_SIZE];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
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

/* ---- authentication ---- */

static bool secure_eq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = (unsigned char)(la != lb);

    for (size_t i = 0; i < la && i < lb; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

/* Returns false when the request must be refused with 401. Sets user and
 * can_write. */
static bool authenticate(struct web_req *r, unsigned flags)
{
    const struct orc_config *cfg = r->deps->cfg;
    const char *method = cfg->AuthenticationMethod;
    char *pass = NULL;
    char *user;
    bool ok = false;

    r->can_write = !cfg->ReadOnly;
    if (method[0] == '\0')
        return true;
    if (strcmp(method, "basic") != 0 && strcmp(method, "multi") != 0) {
        r->can_write = false; /* methods we do not implement never grant writes */
        return true;
    }
    user = MHD_basic_auth_get_username_password((struct MHD_Connection *)r->conn, &pass);
    if (user != NULL) {
        if (secure_eq(user, cfg->HTTPAuthUser) && pass && secure_eq(pass, cfg->HTTPAuthPassword)) {
            ok = true;
        } else if (strcmp(method, "multi") == 0 && strcmp(user, "readonly") == 0) {
            ok = true;
            r->can_write = false;
        }
        if (ok)
            r->user = strcmp(user, "readonly") == 0 ? "readonly" : cfg->HTTPAuthUser;
    }
    MHD_free(user);
    MHD_free(pass);
    if (!ok && (flags & WEB_NOAUTH))
        return r->can_write = false, true;
    return ok;
}

/* ---- routing ---- */

static int split_path(char *p, char **segs, int max)
{
    int n = 0;

    while (*p == '/')
        p++;
    while (*p && n < max) {
        segs[n++] = p;
        while (*p && *p != '/')
            p++;
        if (*p == '/')
            *p++ = '\0';
        else
            break;
    }
    return n;
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

static void dispatch(struct web_server *s, struct web_req *r, char *path)
{
    const struct web_route *rt;
    const char *rest;

    if (strncmp(path, "/api/", 5) == 0 || strcmp(path, "/api") == 0) {
        r->path = path[4] ? path + 5 : path + 4;
        rt = find_route(s, path + 4, r);
        if (rt == NULL) {
            web_reply_error(r, 404, "unknown route: '%s'", r->url);
            return;
        }
        if (!authenticate(r, rt->flags)) {
            web_reply_error(r, 401, "Unauthorized");
            return;
        }
        /* raft: a follower forwards proxied routes to the leader */
        if (!(rt->flags & WEB_NOPROXY) && web_proxy_handle(r, (rt->flags & WEB_WRITE) != 0))
            return;
        if ((rt->flags & WEB_WRITE) && !r->can_write) {
            web_reply_error(r, 403, "Unauthorized: this user or node may not change state");
            return;
        }
        rt->fn(r);
        return;
    }
    if (strcmp(path, "/metrics") == 0) {
        web_metrics_render(&s->metrics, r);
        return;
    }
    if (!authenticate(r, 0)) {
        web_reply_error(r, 401, "Unauthorized");
        return;
    }
    rest = path + 1;
    if (strncmp(path, "/web/", 5) == 0)
        rest = path + 5;
    else if (strcmp(path, "/web") == 0)
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
    if (r->status == 401)
        MHD_add_response_header(resp, "WWW-Authenticate", "Basic realm=\"orchestrator\"");
    ret = MHD_queue_response(conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* What libmicrohttpd keeps for a request between its calls: the body, which
 * handlers ignore (POST = GET) but the raft proxy forwards. */
struct req_state {
    struct orc_buf body;
    bool too_large;
};

#define WEB_MAX_REQUEST_BODY (1024 * 1024)

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
        orc_buf_release(&st->body);
        free(st);
        *con_cls = NULL;
    }
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
    struct web_req r;
    char path[1024];
    int64_t t0;
    enum MHD_Result ret;

    (void)version;
    /* First call for a request: headers only. Accept and wait for the body. */
    if (st == NULL) {
        st = calloc(1, sizeof(*st));
        *con_cls = st;
        return st ? MHD_YES : MHD_NO;
    }
    if (*upload_size != 0) { /* kept for the raft proxy, bounded */
        if (st->body.len + *upload_size > WEB_MAX_REQUEST_BODY ||
            orc_buf_append(&st->body, upload, *upload_size) != 0)
            st->too_large = true;
        *upload_size = 0;
        return MHD_YES;
    }
    t0 = orc_mono_us();
    memset(&r, 0, sizeof(r));
    r.srv = s;
    r.deps = &s->deps;
    r.conn = conn;
    r.method = method;
    r.url = url;
    r.status = 200;
    r.req_body = st->body.data;
    r.req_body_len = st->body.len;
    orc_buf_init(&r.body);
    if (st->too_large) {
        web_reply_error(&r, 413, "request body larger than %d bytes", WEB_MAX_REQUEST_BODY);
    } else if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
               strcmp(method, "POST") != 0) {
        web_reply_error(&r, 405, "method not allowed: %s", method);
    } else if (s->prefix_len > 0 && strncmp(url, s->prefix, s->prefix_len) != 0) {
        web_reply_error(&r, 404, "not found: '%s' (URLPrefix is '%s')", url, s->prefix);
    } else if (orc_strlcpy(path, url + s->prefix_len, sizeof(path)) != 0) {
        web_reply_error(&r, 414, "path too long");
    } else {
        if (path[0] == '\0')
            orc_strlcpy(path, "/", sizeof(path));
        dispatch(s, &r, path);
    }
    web_metrics_observe(&s->metrics, r.status, orc_mono_us() - t0);
    ret = send_reply(conn, &r);
    orc_buf_release(&r.body);
    return ret;
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

int web_server_start(const struct web_deps *deps, struct web_server **out, char *errmsg, size_t len)
{
    struct web_server *s = calloc(1, sizeof(*s));
    struct sockaddr_in sa;
    const union MHD_DaemonInfo *info;
    int rc;

    if (s == NULL)
        return ORC_ENOMEM;
    s->unix_fd = -1;
    s->deps = *deps;
    orc_strlcpy(s->prefix, deps->cfg->URLPrefix, sizeof(s->prefix));
    s->prefix_len = strlen(s->prefix);
    web_metrics_init(&s->metrics, deps);
    rc = collect_routes(s);
    if (rc == 0 && deps->cfg->ListenSocket[0] != '\0')
        rc = listen_unix(deps->cfg->ListenSocket, &s->unix_fd, errmsg, len);
    else if (rc == 0)
        rc = parse_listen(deps->cfg->ListenAddress, &sa, errmsg, len);
    if (rc != 0)
        goto fail;
    /* No SO_REUSEPORT: a second service on the same address must fail to start. */
    if (s->unix_fd >= 0)
        s->mhd = MHD_start_daemon(
            MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0,
            NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, s->unix_fd,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_CONNECTION_LIMIT, (unsigned)512,
            MHD_OPTION_THREAD_STACK_SIZE, (size_t)(256 * 1024), MHD_OPTION_NOTIFY_COMPLETED,
            on_completed, NULL, MHD_OPTION_END);
    else
        s->mhd = MHD_start_daemon(
            MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0,
            NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_CONNECTION_LIMIT, (unsigned)512,
            MHD_OPTION_THREAD_STACK_SIZE, (size_t)(256 * 1024), MHD_OPTION_NOTIFY_COMPLETED,
            on_completed, NULL, MHD_OPTION_END);
    if (s->mhd == NULL) {
        orc_errf(errmsg, len, "listen on '%s': cannot start the HTTP server (address in use?)",
                 s->unix_fd >= 0 ? deps->cfg->ListenSocket : deps->cfg->ListenAddress);
        rc = ORC_EIO;
        goto fail;
    }
    if (s->unix_fd >= 0) {
        *out = s;
        return 0;
    }
    info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : ntohs(sa.sin_port);
    *out = s;
    return 0;
fail:
    if (s->unix_fd >= 0) {
        close(s->unix_fd);
        unlink(deps->cfg->ListenSocket);
    }
    web_metrics_release(&s->metrics);
    free(s->routes);
    free(s);
    return rc;
}

void web_server_stop(struct web_server *s)
{
    if (s == NULL)
        return;
    MHD_stop_daemon(s->mhd);
    if (s->unix_fd >= 0) {
        close(s->unix_fd);
        unlink(s->deps.cfg->ListenSocket);
    }
    web_metrics_release(&s->metrics);
    free(s->routes);
    free(s);
}

int web_server_port(const struct web_server *s)
{
    return s->port;
}

struct web_metrics *web_server_metrics(struct web_server *s)
{
    return &s->metrics;
}
