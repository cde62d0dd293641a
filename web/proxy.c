/*
 * proxy: a raft follower forwards the routes registered without WEB_NOPROXY
 * (every mutating route, and the routes orchestrator proxies) to the leader's
 * HTTP URI with libcurl, keeping the method, the path (URLPrefix included),
 * the query, the body, the Authorization header (and, with proxy auth, the
 * user header), and the leader's status code
 * and body (a non-voter serves reads itself: it follows the log and probes
 * every instance). A forwarded request carries X-Orchestrator-Forwarded: a node that
 * receives one serves it itself, so two nodes that briefly disagree on who
 * leads never bounce a request between them.
 *
 * A forwarded write carries X-Request-Id (the client's, or a new one), which
 * the leader runs once (dedupe.c), and may take as long as the longest
 * operation (web_proxy_timeout_s).
 *
 * Threads: runs on the request's libmicrohttpd thread; one curl handle per
 * request (connect timeout 5 s, total HTTPRequestTimeoutSeconds for reads).
 */
#include <curl/curl.h>
#include <microhttpd.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "recovery/hooks.h"
#include "web/web_int.h"

#define PROXY_HEADER "X-Orchestrator-Forwarded"
#define PROXY_CONNECT_TIMEOUT_S 5L
#define PROXY_MAX_BODY (64L * 1024 * 1024)
/* Beyond its hooks, what a forwarded write may take: the MySQL work of a
 * takeover or recovery, or a membership change (ORC_RAFT_CHANGE_TIMEOUT_MS). */
#define PROXY_MARGIN_S 60

struct query_ctx {
    CURL *curl;
    struct orc_buf *url;
    bool first;
};

static enum MHD_Result add_arg(void *arg,
                               enum MHD_ValueKind kind,
                               const char *key,
                               const char *value)
{
    struct query_ctx *q = arg;
    char *k = curl_easy_escape(q->curl, key, 0);
    char *v = value ? curl_easy_escape(q->curl, value, 0) : NULL;

    (void)kind;
    if (k != NULL) {
        orc_buf_printf(q->url, "%c%s%s%s", q->first ? '?' : '&', k, v ? "=" : "", v ? v : "");
        q->first = false;
    }
    curl_free(k);
    curl_free(v);
    return MHD_YES;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct orc_buf *b = arg;

    if (b->len + size * n > (size_t)PROXY_MAX_BODY || orc_buf_append(b, p, size * n) != 0)
        return 0;
    return size * n;
}

static const char *content_type_of(CURL *curl)
{
    char *ct = NULL;

    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct);
    if (ct != NULL && strncasecmp(ct, "text/plain", 10) == 0)
        return WEB_TEXT;
    if (ct != NULL && strncasecmp(ct, "text/html", 9) == 0)
        return "text/html; charset=utf-8";
    return WEB_JSON;
}

int64_t web_proxy_timeout_s(const struct orc_config *c)
{
    size_t hooks = c->OnFailureDetectionProcesses.n + c->PreGracefulTakeoverProcesses.n +
                   c->PreFailoverProcesses.n + c->PostFailoverProcesses.n +
                   c->PostUnsuccessfulFailoverProcesses.n + c->PostMasterFailoverProcesses.n +
                   c->PostIntermediateMasterFailoverProcesses.n +
                   c->PostGracefulTakeoverProcesses.n + c->PostTakeMasterProcesses.n;
    int64_t t = (int64_t)hooks * (REC_HOOKS_DEFAULT_TIMEOUT_MS / 1000) + PROXY_MARGIN_S;

    return t > c->HTTPRequestTimeoutSeconds ? t : c->HTTPRequestTimeoutSeconds;
}

static struct curl_slist *request_headers(struct web_req *r, bool write)
{
    struct MHD_Connection *conn = r->conn;
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    const char *rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, WEB_REQUEST_ID);
    struct curl_slist *h = curl_slist_append(NULL, PROXY_HEADER ": 1");
    struct orc_buf line = ORC_BUF_INIT;
    unsigned char raw[12];

    h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
    /* a write carries an id the leader runs once (the client's, else ours) */
    if (rid != NULL && strlen(rid) < 64 && strpbrk(rid, "\r\n") == NULL) {
        orc_buf_printf(&line, "%s: %s", WEB_REQUEST_ID, rid);
    } else if (write && getrandom(raw, sizeof(raw), 0) == (ssize_t)sizeof(raw)) {
        orc_buf_printf(&line, "%s: ", WEB_REQUEST_ID);
        for (size_t i = 0; i < sizeof(raw); i++)
            orc_buf_printf(&line, "%02x", raw[i]);
    }
    if (line.len > 0) {
        h = curl_slist_append(h, orc_buf_str(&line));
        orc_buf_reset(&line);
    }
    if (auth != NULL) {
        orc_buf_printf(&line, "Authorization: %s", auth);
        h = curl_slist_append(h, orc_buf_str(&line));
        orc_buf_reset(&line);
    }
    if (ct != NULL) {
        orc_buf_printf(&line, "Content-Type: %s", ct);
        h = curl_slist_append(h, orc_buf_str(&line));
        orc_buf_reset(&line);
    }
    if (r->user != NULL && strcmp(r->deps->cfg->AuthenticationMethod, "proxy") == 0) {
        /* the user the reverse proxy named (validated: no CR/LF), for the leader's check */
        orc_buf_printf(&line, "%s: %s", r->deps->cfg->AuthUserHeader, r->user);
        h = curl_slist_append(h, orc_buf_str(&line));
    }
    orc_buf_release(&line);
    return h;
}

static void setup(CURL *curl,
                  struct web_req *r,
                  bool write,
                  const char *url,
                  struct curl_slist *headers)
{
    const struct orc_config *cfg = r->deps->cfg;

    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, PROXY_CONNECT_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT,
                     (long)(write ? web_proxy_timeout_s(cfg) : cfg->HTTPRequestTimeoutSeconds));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r->body);
    web_curl_tls(curl, cfg, NULL, NULL, NULL);
    if (strcmp(r->method, "HEAD") == 0) {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (strcmp(r->method, "POST") == 0) {
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, r->req_body ? r->req_body : "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->req_body_len);
    }
}

void web_curl_tls(void *handle,
                  const struct orc_config *cfg,
                  const char *ca,
                  const char *cert,
                  const char *key)
{
    CURL *curl = handle;

    ca = ca != NULL ? ca : cfg->SSLCAFile;
    cert = cert != NULL ? cert : (cfg->UseMutualTLS ? cfg->SSLCertFile : "");
    key = key != NULL ? key : (cfg->UseMutualTLS ? cfg->SSLPrivateKeyFile : "");
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, cfg->SSLSkipVerify ? 0L : 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, cfg->SSLSkipVerify ? 0L : 2L);
    curl_easy_setopt(curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (ca[0] != '\0')
        curl_easy_setopt(curl, CURLOPT_CAINFO, ca);
    if (cert[0] != '\0' && key[0] != '\0') {
        curl_easy_setopt(curl, CURLOPT_SSLCERT, cert);
        curl_easy_setopt(curl, CURLOPT_SSLKEY, key);
    }
}

/* Forwards r to leader (scheme://host:port) and copies the answer into r. */
static void forward(struct web_req *r, const char *leader, bool write)
{
    CURL *curl = curl_easy_init();
    struct orc_buf url = ORC_BUF_INIT;
    struct curl_slist *headers;
    struct query_ctx q;
    CURLcode cc;
    long status = 0;
    int64_t t0 = orc_mono_ms();
    char cause[CURL_ERROR_SIZE] = ""; /* curl's detail: "SSL certificate problem: ..." */

    if (curl == NULL) {
        web_reply_error(r, 500, "proxy: out of memory");
        return;
    }
    orc_buf_printf(&url, "%s%s", leader, r->url);
    q.curl = curl;
    q.url = &url;
    q.first = true;
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, add_arg, &q);
    headers = request_headers(r, write);
    setup(curl, r, write, orc_buf_str(&url), headers);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, cause);
    orc_buf_reset(&r->body);
    cc = curl_easy_perform(curl);
    if (cc == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (cc != CURLE_OK || status < 100 || status > 599) {
        const char *why = cc == CURLE_OK     ? "no HTTP status"
                          : cause[0] != '\0' ? cause
                                             : curl_easy_strerror(cc);
        ORC_LOG_W("+proxy-failed", "leader=%s path=%s error=\"%s\"", leader, r->url, why);
        web_reply_error(r, 502, "cannot reach the raft leader at %s: %s", leader, why);
    } else {
        r->status = (int)status;
        r->content_type = content_type_of(curl);
        ORC_LOG_D("+proxy", "leader=%s method=%s path=%s status=%ld ms=%lld", leader, r->method,
                  r->url, status, (long long)(orc_mono_ms() - t0));
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    orc_buf_release(&url);
}

bool web_proxy_handle(struct web_req *r, bool write)
{
    const struct web_raft_ops *ops = r->deps->raft;
    char uri[512];
    int rc;

    if (ops == NULL || ops->forward == NULL)
        return false;
    if (MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, PROXY_HEADER) != NULL)
        return false; /* already forwarded once: serve it here */
    rc = ops->forward(r->deps->raft_ctx, write, uri, sizeof(uri));
    if (rc == 0)
        return false;
    if (rc != 1) {
        web_reply_error(r, 503, "no raft leader is known at the moment; try again");
        return true;
    }
    forward(r, uri, write);
    return true;
}
