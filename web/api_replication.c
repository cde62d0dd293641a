/*
 * api_replication: replication control routes, with orchestrator's names
 * (and their -slave synonyms) and answers: restart-replica, reset-replica,
 * stop-replica-nice, skip-query, detach/reattach-replica(-master-host),
 * flush-binary-logs, purge-binary-logs, enable/disable-gtid, kill-query
 * (Details: the Instance afterwards), delay-replication (Details: the
 * seconds), restart-replica-statements (Details: the statements) and
 * can-replicate-from(-gtid) (Message "true"/"false", Details: the
 * destination key). The work is done by recovery/replication.c.
 *
 * can-replicate-from answers "false" with Code OK (orchestrator answers an
 * ERROR carrying the reason); the reason is in Reason, beside the envelope.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discovery/disc.h"
#include "recovery/rec.h"
#include "web/web_int.h"

/* The instance of params pi, pi+1 (fuzzy as orchestrator); false after
 * replying. */
static bool find_key(struct web_req *r, int pi, struct orc_key *k)
{
    struct disc_snapshot *s = web_snapshot(r);
    int i;

    if (s == NULL)
        return false;
    i = web_find_instance(r, s, pi, k, true);
    disc_snapshot_put(s);
    return i >= 0;
}

static bool parse_int(struct web_req *r, int pi, const char *what, int64_t *out)
{
    const char *v = web_param(r, pi);

    if (v != NULL && orc_parse_int64(v, INT32_MIN, INT32_MAX, out) == 0)
        return true;
    web_reply_error(r, 400, "invalid value provided for %s", what);
    return false;
}

static void run(struct web_req *r, struct rec_repl_request *q)
{
    struct rec_repl_result res;
    char err[ORC_ERRMSG_SIZE] = "";
    int rc;

    q->user = r->user;
    rc = rec_repl_run(r->rec, q, &res, err, sizeof(err));
    if (rc != 0)
        web_reply_error(r, web_status_of(rc), "%s", err);
    else if (q->op == REC_REPL_DELAY)
        web_reply_ok(r, res.message, json_integer(q->number));
    else
        web_reply_instance(r, &res.key, res.message);
}

static void simple(struct web_req *r, enum rec_repl_op op)
{
    struct rec_repl_request q;

    memset(&q, 0, sizeof(q));
    q.op = op;
    if (web_need_rec(r) && find_key(r, 0, &q.key))
        run(r, &q);
}

static void h_restart(struct web_req *r)
{
    simple(r, REC_REPL_RESTART);
}

static void h_reset(struct web_req *r)
{
    simple(r, REC_REPL_RESET);
}

static void h_stop_nice(struct web_req *r)
{
    simple(r, REC_REPL_STOP_NICE);
}

static void h_skip_query(struct web_req *r)
{
    simple(r, REC_REPL_SKIP_QUERY);
}

static void h_detach(struct web_req *r)
{
    simple(r, REC_REPL_DETACH);
}

static void h_reattach(struct web_req *r)
{
    simple(r, REC_REPL_REATTACH);
}

static void h_flush_binlogs(struct web_req *r)
{
    simple(r, REC_REPL_FLUSH_BINLOGS);
}

static void h_enable_gtid(struct web_req *r)
{
    simple(r, REC_REPL_ENABLE_GTID);
}

static void h_disable_gtid(struct web_req *r)
{
    simple(r, REC_REPL_DISABLE_GTID);
}

static void h_delay(struct web_req *r)
{
    struct rec_repl_request q;

    memset(&q, 0, sizeof(q));
    q.op = REC_REPL_DELAY;
    if (web_need_rec(r) && parse_int(r, 2, "seconds", &q.number) && find_key(r, 0, &q.key))
        run(r, &q);
}

static void h_kill_query(struct web_req *r)
{
    struct rec_repl_request q;

    memset(&q, 0, sizeof(q));
    q.op = REC_REPL_KILL_QUERY;
    if (web_need_rec(r) && parse_int(r, 2, "process", &q.number) && find_key(r, 0, &q.key))
        run(r, &q);
}

static void h_purge_binlogs(struct web_req *r)
{
    struct rec_repl_request q;
    const char *force = web_query(r, "force");

    memset(&q, 0, sizeof(q));
    q.op = REC_REPL_PURGE_BINLOGS;
    q.binlog = web_param(r, 2);
    q.force = force != NULL && strcmp(force, "true") == 0;
    if (web_need_rec(r) && find_key(r, 0, &q.key))
        run(r, &q);
}

static void h_statements(struct web_req *r)
{
    struct orc_key k;
    char err[ORC_ERRMSG_SIZE] = "", msg[ORC_KEY_STRLEN + 32], ks[ORC_KEY_STRLEN];
    json_t *stmts = NULL;
    int rc;

    if (!web_need_rec(r) || !find_key(r, 0, &k))
        return;
    rc = rec_repl_statements(r->rec, &k, web_query(r, "q"), &stmts, err, sizeof(err));
    if (rc != 0) {
        web_reply_error(r, web_status_of(rc), "%s", err);
        return;
    }
    snprintf(msg, sizeof(msg), "statements for: %s", orc_key_str(&k, ks, sizeof(ks)));
    web_reply_ok(r, msg, stmts);
}

static void can_replicate(struct web_req *r, bool gtid)
{
    struct orc_key k, d;
    char err[ORC_ERRMSG_SIZE] = "", why[ORC_ERRMSG_SIZE] = "";
    json_t *env;
    bool can;
    int rc;

    if (!web_need_rec(r) || !find_key(r, 0, &k) || !find_key(r, 2, &d))
        return;
    rc =
        rec_repl_can_replicate_from(r->rec, &k, &d, gtid, &can, why, sizeof(why), err, sizeof(err));
    if (rc != 0) {
        web_reply_error(r, web_status_of(rc), "%s", err);
        return;
    }
    env = json_pack("{s:s, s:s, s:o, s:s}", "Code", "OK", "Message", can ? "true" : "false",
                    "Details", json_pack("{s:s, s:i}", "Hostname", d.host, "Port", d.port),
                    "Reason", why);
    web_reply_json(r, 200, env);
}

static void h_can_replicate_from(struct web_req *r)
{
    can_replicate(r, false);
}

static void h_can_replicate_from_gtid(struct web_req *r)
{
    can_replicate(r, true);
}

#define HP ":host/:port"

const struct web_route web_routes_replication[] = {
    {"restart-replica/" HP, h_restart, WEB_WRITE},
    {"restart-slave/" HP, h_restart, WEB_WRITE},
    {"reset-replica/" HP, h_reset, WEB_WRITE},
    {"reset-slave/" HP, h_reset, WEB_WRITE},
    {"stop-replica-nice/" HP, h_stop_nice, WEB_WRITE},
    {"stop-slave-nice/" HP, h_stop_nice, WEB_WRITE},
    {"skip-query/" HP, h_skip_query, WEB_WRITE},
    {"detach-replica/" HP, h_detach, WEB_WRITE},
    {"detach-slave/" HP, h_detach, WEB_WRITE},
    {"detach-replica-master-host/" HP, h_detach, WEB_WRITE},
    {"detach-slave-master-host/" HP, h_detach, WEB_WRITE},
    {"reattach-replica/" HP, h_reattach, WEB_WRITE},
    {"reattach-slave/" HP, h_reattach, WEB_WRITE},
    {"reattach-replica-master-host/" HP, h_reattach, WEB_WRITE},
    {"reattach-slave-master-host/" HP, h_reattach, WEB_WRITE},
    {"delay-replication/" HP "/:seconds", h_delay, WEB_WRITE},
    {"flush-binary-logs/" HP, h_flush_binlogs, WEB_WRITE},
    {"purge-binary-logs/" HP "/:logFile", h_purge_binlogs, WEB_WRITE},
    {"restart-replica-statements/" HP, h_statements, WEB_WRITE},
    {"restart-slave-statements/" HP, h_statements, WEB_WRITE},
    {"enable-gtid/" HP, h_enable_gtid, WEB_WRITE},
    {"disable-gtid/" HP, h_disable_gtid, WEB_WRITE},
    {"can-replicate-from/" HP "/:belowHost/:belowPort", h_can_replicate_from, WEB_READ},
    {"can-replicate-from-gtid/" HP "/:belowHost/:belowPort", h_can_replicate_from_gtid, WEB_READ},
    {"kill-query/" HP "/:process", h_kill_query, WEB_WRITE},
};
const size_t web_routes_replication_len = ORC_ARRAY_LEN(web_routes_replication);
