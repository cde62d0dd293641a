/*
 * web: the HTTP side. A libmicrohttpd server with orchestrator's routes and
 * JSON shapes, authentication, the embedded web UI and /metrics.
 *
 * Threads: libmicrohttpd runs one thread per connection; handlers run there,
 * may block (bounded by timeouts) and only read shared state through the
 * other modules' thread-safe functions.
 */
#ifndef ORC_WEB_H
#define ORC_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/config.h"
#include "common/orc.h"

struct be;
struct disc_topo;
struct rec_env;
struct web_server;
struct web_req;
struct web_raft_ops;

/* What the service hands the HTTP layer. Everything is borrowed and must
 * outlive the server. Callbacks may be NULL where noted. */
struct web_deps {
    const struct orc_config *cfg;
    struct be *be;
    struct disc_topo *topo; /* the live topology (NULL until discovery runs) */
    struct rec_env *rec;    /* recoveries and planned operations */
    void *node;             /* opaque, passed back to the callbacks */
    /* true when this node is the leader (single node: always). */
    bool (*is_leader)(void *node);
    /* Replicated commands (raft or direct): op name + JSON payload (stolen).
     * Returns 0 or ORC_E*, with errmsg set. NULL: not available. */
    int (*submit)(void *node, const char *op, json_t *payload, char *errmsg, size_t len);
    /* Same, with the command's answer in *result (may be NULL; caller decrefs). */
    int (*submit_r)(void *node,
                    const char *op,
                    json_t *payload,
                    json_t **result,
                    char *errmsg,
                    size_t len);
    /* Leader side of quorum-confirmed detection: a follower's list of the
     * instances it sees failed ("h:p,h:p") and its config fingerprint
     * (NULL: not sent), from the raft member at address from, received from
     * source_ip. ORC_EPERM: not a member, or not from it; ORC_EINVAL: a
     * malformed list. NULL: not available. */
    int (*failure_report)(void *node,
                          const char *from,
                          const char *source_ip,
                          const char *failed,
                          const char *config,
                          char *errmsg,
                          size_t len);
    /* {"Fingerprint": this node's config fingerprint, "Mismatch": [raft
     * addresses of members whose fingerprint differs (known on the leader)]};
     * new reference, NULL when not available (no raft). */
    json_t *(*config_status)(void *node);
    /* Re-reads the config and applies the reloadable keys (names appended to
     * changed), or refuses with ORC_ECONFIG and errmsg. NULL: not available. */
    int (*reload)(void *node, struct orc_buf *changed, char *errmsg, size_t len);
    /* /api/recovery-config: the recovery settings, each with its effective
     * value and source (new reference, NULL when out of memory); and the
     * check of key=text before set-recovery-config is submitted (*value: the
     * JSON value to submit; ORC_ENOTFOUND not a recovery key, ORC_EINVAL a bad
     * value, errmsg set). NULL: not available. */
    json_t *(*rcfg_status)(void *node);
    int (*rcfg_check)(void *node,
                      const char *key,
                      const char *text,
                      json_t **value,
                      char *errmsg,
                      size_t len);
    /* raft (both NULL when raft is off): forwarding to the leader and the
     * raft-* routes; raft_ctx is passed back to the ops. */
    const struct web_raft_ops *raft;
    void *raft_ctx;
};

/* What the raft layer offers the HTTP layer. Every op is thread-safe. */
struct web_raft_ops {
    /* Where a proxied route is served: 0 here (this node leads, or it is a
     * non-voter and the route only reads); 1 at the leader, whose HTTP URI
     * (no path) is copied into uri; ORC_ENOTFOUND when no leader is known
     * (after a short wait). write: the route has WEB_WRITE. */
    int (*forward)(void *ctx, bool write, char *uri, size_t len);
    /* orchestrator's raft-status object {RaftBind, RaftAdvertise, State,
     * Healthy, IsPartOfQuorum, Leader, LeaderURI, Peers[]} plus extensions;
     * new reference. */
    json_t *(*status)(void *ctx);
    /* Leadership transfer (leader only): to the voter at addr, or (hint) away
     * from this node unless its host contains hint. */
    int (*yield)(void *ctx, const char *addr, char *errmsg, size_t len);
    int (*yield_hint)(void *ctx, const char *hint, char *errmsg, size_t len);
    /* Snapshot of every node's FSM (leader only). */
    int (*snapshot)(void *ctx, char *errmsg, size_t len);
    /* Membership (leader only); norm receives the normalized address.
     * proof: the joiner's ?proof= (RaftSecret join proof), or NULL. */
    int (*add_peer)(void *ctx,
                    const char *addr,
                    bool voter,
                    const char *proof,
                    char *norm,
                    size_t normlen,
                    char *errmsg,
                    size_t len);
    /* A node's own request to be added (its joiner): as a standby, promoted
     * when the voters stay odd when wants_vote; uptime_ms: how long its
     * process has run (a node removed by hand is let back after a restart). */
    int (*rejoin)(void *ctx,
                  const char *addr,
                  bool wants_vote,
                  int64_t uptime_ms,
                  const char *proof,
                  char *norm,
                  size_t normlen,
                  char *errmsg,
                  size_t len);
    int (*remove_peer)(void *ctx,
                       const char *addr,
                       char *norm,
                       size_t normlen,
                       char *errmsg,
                       size_t len);
};

int web_server_start(const struct web_deps *deps,
                     struct web_server **out,
                     char *errmsg,
                     size_t len);
/* Stops accepting, waits for running handlers, frees the server. */
void web_server_stop(struct web_server *s);
/* The port actually bound (useful with port 0). */
int web_server_port(const struct web_server *s);

/* True when ListenAddress ("[host]:port") binds to loopback only (127.x,
 * localhost); ":port" and 0.0.0.0 are every interface. */
bool web_listen_is_loopback(const char *listen_address);

/* Sets the TLS options of a libcurl handle (CURL *) that talks to this
 * service's API: CA file (SSLCAFile, or ca when not NULL), verification (off
 * only with SSLSkipVerify), and under UseMutualTLS the client certificate
 * (SSLCertFile/SSLPrivateKeyFile, or cert/key when not NULL). */
void web_curl_tls(void *curl,
                  const struct orc_config *cfg,
                  const char *ca,
                  const char *cert,
                  const char *key);

/* ---- for handlers (web/api_*.c) ---- */

enum {
    WEB_READ = 0,
    WEB_WRITE = 1 << 0,   /* mutates state: needs write authorization */
    WEB_NOPROXY = 1 << 1, /* never forwarded to the raft leader */
    WEB_NOAUTH = 1 << 2,  /* served without authentication (health probes) */
};

typedef void (*web_handler)(struct web_req *r);

struct web_route {
    /* "instance/:host/:port", relative to /api/; a last segment "*name"
     * takes the rest of the path, slashes included */
    const char *pattern;
    web_handler fn;
    unsigned flags;
};

#define WEB_MAX_PARAMS 8

struct web_req {
    struct web_server *srv;
    const struct web_deps *deps;
    void *conn; /* struct MHD_Connection * */
    const char *method;
    const char *url;  /* full path as received */
    const char *path; /* path below "<URLPrefix>/api/" */
    const char *params[WEB_MAX_PARAMS];
    int nparams;
    const char *user;   /* authenticated user (borrowed for the request), or NULL */
    bool authenticated; /* credentials checked (always true without an auth method) */
    bool can_write;
    /* deps->rec pinned for the handler (rec_env_pin): what operations run
     * with; NULL without recovery */
    struct rec_env *rec;
    const char *req_body; /* the request body as received (POST), or NULL */
    size_t req_body_len;
    /* response, filled by the handler */
    int status;
    const char *content_type;
    struct orc_buf body;
};

/* Path parameter i (0-based) of the matched route. */
const char *web_param(const struct web_req *r, int i);
/* Query string argument, or NULL. */
const char *web_query(const struct web_req *r, const char *name);

/* Raw JSON body with the given status; steals j. */
void web_reply_json(struct web_req *r, int status, json_t *j);
/* orchestrator's envelope {"Code":"OK","Message":msg,"Details":details}; steals details. */
void web_reply_ok(struct web_req *r, const char *msg, json_t *details);
/* Envelope with Code "ERROR"; status is an HTTP 4xx/5xx. */
void web_reply_error(struct web_req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Body that is already serialized (copied). */
void web_reply_raw(struct web_req *r, int status, const char *type, const char *data, size_t n);

/* Parses the instance key in params i, i+1 (host, port). On failure replies
 * with 400 and returns ORC_EINVAL. */
int web_param_key(struct web_req *r, int i, struct orc_key *out);

/* Route tables contributed by each api_*.c file. */
extern const struct web_route web_routes_meta[];
extern const size_t web_routes_meta_len;

/* The embedded UI assets (generated by scripts/embed.sh). */
struct web_asset {
    const char *name;
    const char *type;
    const unsigned char *data;
    size_t len;
};
extern const struct web_asset web_assets[];

#endif
