/*
 * api_unsupported: orchestrator routes of features this implementation
 * does not have. Each answers 501 with orchestrator's error envelope and the
 * reason, so that a client learns why instead of meeting an unknown route:
 * orchestrator-agent (as orchestrator answers with ServeAgentsHttp off),
 * Pseudo-GTID and binlog-coordinate matching, and binlog servers.
 */
#include <string.h>

#include "web/web_int.h"

static const char agents[] =
    "Agents not served: orchestrator-agent is not supported by this implementation";
static const char pgtid[] =
    "Pseudo-GTID and binlog-coordinate matching are not supported by this implementation; "
    "use the GTID-based operations (move-gtid, relocate)";
static const char bls[] = "binlog servers are not supported by this implementation";

static void h_agents(struct web_req *r)
{
    web_reply_error(r, 501, "%s", agents);
}

static void h_pgtid(struct web_req *r)
{
    web_reply_error(r, 501, "%s", pgtid);
}

static void h_bls(struct web_req *r)
{
    web_reply_error(r, 501, "%s", bls);
}

const struct web_route web_routes_unsupported[] = {
    {"agents", h_agents, WEB_READ},
    {"agent/:host", h_agents, WEB_READ},
    {"agent-umount/:host", h_agents, WEB_WRITE},
    {"agent-mount/:host", h_agents, WEB_WRITE},
    {"agent-create-snapshot/:host", h_agents, WEB_WRITE},
    {"agent-removelv/:host", h_agents, WEB_WRITE},
    {"agent-mysql-stop/:host", h_agents, WEB_WRITE},
    {"agent-mysql-start/:host", h_agents, WEB_WRITE},
    {"agent-seed/:targetHost/:sourceHost", h_agents, WEB_WRITE},
    {"agent-active-seeds/:host", h_agents, WEB_READ},
    {"agent-recent-seeds/:host", h_agents, WEB_READ},
    {"agent-seed-details/:seedId", h_agents, WEB_READ},
    {"agent-seed-states/:seedId", h_agents, WEB_READ},
    {"agent-abort-seed/:seedId", h_agents, WEB_WRITE},
    {"agent-custom-command/:host/:command", h_agents, WEB_WRITE},
    {"seeds", h_agents, WEB_READ},
    {"last-pseudo-gtid/:host/:port", h_pgtid, WEB_READ},
    {"master-equivalent/:host/:port/:logFile/:logPos", h_pgtid, WEB_READ},
    {"match/:host/:port/:belowHost/:belowPort", h_pgtid, WEB_WRITE},
    {"match-below/:host/:port/:belowHost/:belowPort", h_pgtid, WEB_WRITE},
    {"match-up/:host/:port", h_pgtid, WEB_WRITE},
    {"match-slaves/:host/:port/:belowHost/:belowPort", h_pgtid, WEB_WRITE},
    {"match-replicas/:host/:port/:belowHost/:belowPort", h_pgtid, WEB_WRITE},
    {"match-up-slaves/:host/:port", h_pgtid, WEB_WRITE},
    {"match-up-replicas/:host/:port", h_pgtid, WEB_WRITE},
    {"move-equivalent/:host/:port/:belowHost/:belowPort", h_pgtid, WEB_WRITE},
    {"regroup-slaves-pgtid/:host/:port", h_pgtid, WEB_WRITE},
    {"regroup-replicas-pgtid/:host/:port", h_pgtid, WEB_WRITE},
    {"regroup-slaves-bls/:host/:port", h_bls, WEB_WRITE},
    {"regroup-replicas-bls/:host/:port", h_bls, WEB_WRITE},
};
const size_t web_routes_unsupported_len = ORC_ARRAY_LEN(web_routes_unsupported);
