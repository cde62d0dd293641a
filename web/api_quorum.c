/* The internal route followers use to tell the leader what they see failed
 * (quorum-confirmed detection) and their config fingerprint (config=). Never forwarded; it needs
 * write rights when authentication is configured, and the leader accepts it only from a raft
 * member, sent from that member's own address. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include "web/web_int.h"

/* The client's IP address as text ("" when unknown). */
static void source_ip(struct web_req *r, char *out, size_t len)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
        (struct MHD_Connection *)r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;

    out[0] = '\0';
    if (sa != NULL && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)len);
    else if (sa != NULL && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)len);
}

static void h_report(struct web_req *r)
{
    const char *failed = web_query(r, "failed");
    char err[ORC_ERRMSG_SIZE] = "", ip[INET6_ADDRSTRLEN];
    int rc;

    if (r->deps->failure_report == NULL) {
        web_reply_error(r, 404, "not a raft node");
        return;
    }
    source_ip(r, ip, sizeof(ip));
    rc = r->deps->failure_report(r->deps->node, web_param(r, 0), ip, failed ? failed : "",
                                 web_query(r, "config"), err, sizeof(err));
    if (rc == ORC_EPERM || rc == ORC_EINVAL) {
        web_reply_error(r, rc == ORC_EPERM ? 403 : 400, "%s", err);
        return;
    }
    if (rc != 0) {
        web_reply_error(r, 503, "%s", err[0] ? err : "report not recorded");
        return;
    }
    web_reply_json(r, 200, json_string("report recorded"));
}

const struct web_route web_routes_quorum[] = {
    {"raft-analysis-report/:node", h_report, WEB_NOPROXY | WEB_WRITE},
};
const size_t web_routes_quorum_len = ORC_ARRAY_LEN(web_routes_quorum);
