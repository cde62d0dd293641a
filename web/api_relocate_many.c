/*
 * api_relocate_many: the routes that move many replicas at once, with
 * orchestrator's names (and the -slaves names it still registers) and
 * answers:
 *
 *   relocate-replicas, move-up-replicas, repoint-replicas: Details = the
 *     moved replicas ([]Instance, which orchestrator-client prints as keys);
 *   move-replicas-gtid: Details = the destination key;
 *   regroup-replicas(-gtid): Details = the promoted replica's key;
 *   take-siblings, make-co-master, make-master, make-local-master:
 *     Details = the Instance (orchestrator-client prints "key<masterkey").
 *
 * ?pattern= (a regex on "host:port") filters the replicas where
 * orchestrator has one. The work is done by recovery/relocate_many.c.
 */
#include <stdio.h>
#include <string.h>

#include "discovery/disc.h"
#include "recovery/rec.h"
#include "web/web_int.h"

/* Details, as the live snapshot shows the instances afterwards. */
enum details {
    DETAILS_MOVED,    /* []Instance */
    DETAILS_BELOW,    /* InstanceKey of the destination / promoted replica */
    DETAILS_INSTANCE, /* Instance */
};

static void json_instance(struct web_jw *w, const struct disc_snapshot *s, const struct orc_key *k)
{
    int i = s != NULL ? disc_snapshot_find(s, k) : -1;

    if (i >= 0) {
        web_json_instance(w, s, (size_t)i);
    } else {
        web_jw_obj(w, NULL);
        web_jw_key(w, "Key", k);
        web_jw_obj_end(w);
    }
}

static void reply(struct web_req *r, const struct rec_many_result *res, enum details what)
{
    struct disc_snapshot *s = disc_topo_snapshot(r->deps->topo);
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;

    web_jw_init(&w, &b);
    switch (what) {
        case DETAILS_MOVED:
            web_jw_arr(&w, NULL);
            for (size_t i = 0; i < res->moved.len; i++)
                json_instance(&w, s, &res->moved.keys[i]);
            web_jw_arr_end(&w);
            break;
        case DETAILS_BELOW:
            web_jw_key(&w, NULL, &res->below);
            break;
        case DETAILS_INSTANCE:
            json_instance(&w, s, &res->key);
            break;
    }
    if (w.err != 0)
        web_reply_error(r, 500, "out of memory");
    else
        web_reply_envelope_raw(r, 200, "OK", res->message, b.data, b.len);
    orc_buf_release(&b);
    disc_snapshot_put(s);
}

static void many(struct web_req *r, enum rec_many_op op, enum details what)
{
    struct rec_many_request q;
    struct rec_many_result res;
    struct disc_snapshot *s;
    char err[ORC_ERRMSG_SIZE] = "";
    int rc;

    if (!web_need_rec(r))
        return;
    if ((s = web_snapshot(r)) == NULL)
        return;
    memset(&q, 0, sizeof(q));
    q.op = op;
    q.user = r->user;
    q.pattern = web_query(r, "pattern");
    rc = web_find_instance(r, s, 0, &q.key, true) < 0 ? -1 : 0;
    if (rc == 0 && web_param(r, 2) != NULL && web_find_instance(r, s, 2, &q.target, true) < 0)
        rc = -1;
    disc_snapshot_put(s);
    if (rc != 0)
        return; /* replied */
    rec_many_result_init(&res);
    rc = rec_many_run(r->rec, &q, &res, err, sizeof(err));
    if (rc != 0)
        web_reply_error(r, web_status_of(rc), "%s", err);
    else
        reply(r, &res, what);
    rec_many_result_release(&res);
}

static void h_relocate(struct web_req *r)
{
    many(r, REC_MANY_RELOCATE, DETAILS_MOVED);
}

static void h_move_gtid(struct web_req *r)
{
    many(r, REC_MANY_MOVE_GTID, DETAILS_BELOW);
}

static void h_move_up(struct web_req *r)
{
    many(r, REC_MANY_MOVE_UP, DETAILS_MOVED);
}

static void h_repoint(struct web_req *r)
{
    many(r, REC_MANY_REPOINT, DETAILS_MOVED);
}

static void h_take_siblings(struct web_req *r)
{
    many(r, REC_MANY_TAKE_SIBLINGS, DETAILS_INSTANCE);
}

static void h_regroup(struct web_req *r)
{
    many(r, REC_MANY_REGROUP, DETAILS_BELOW);
}

static void h_regroup_gtid(struct web_req *r)
{
    many(r, REC_MANY_REGROUP_GTID, DETAILS_BELOW);
}

static void h_make_co_master(struct web_req *r)
{
    many(r, REC_MANY_MAKE_CO_MASTER, DETAILS_INSTANCE);
}

static void h_make_master(struct web_req *r)
{
    many(r, REC_MANY_MAKE_MASTER, DETAILS_INSTANCE);
}

static void h_make_local_master(struct web_req *r)
{
    many(r, REC_MANY_MAKE_LOCAL_MASTER, DETAILS_INSTANCE);
}

#define HP ":host/:port"
#define BELOW "/:belowHost/:belowPort"

const struct web_route web_routes_relocate_many[] = {
    {"relocate-replicas/" HP BELOW, h_relocate, WEB_WRITE},
    {"relocate-slaves/" HP BELOW, h_relocate, WEB_WRITE},
    {"move-replicas-gtid/" HP BELOW, h_move_gtid, WEB_WRITE},
    {"move-slaves-gtid/" HP BELOW, h_move_gtid, WEB_WRITE},
    {"move-up-replicas/" HP, h_move_up, WEB_WRITE},
    {"move-up-slaves/" HP, h_move_up, WEB_WRITE},
    {"repoint-replicas/" HP, h_repoint, WEB_WRITE},
    {"repoint-slaves/" HP, h_repoint, WEB_WRITE},
    /* ours: orchestrator's CLI repoints the replicas at another instance */
    {"repoint-replicas/" HP BELOW, h_repoint, WEB_WRITE},
    {"regroup-replicas/" HP, h_regroup, WEB_WRITE},
    {"regroup-slaves/" HP, h_regroup, WEB_WRITE},
    {"regroup-replicas-gtid/" HP, h_regroup_gtid, WEB_WRITE},
    {"regroup-slaves-gtid/" HP, h_regroup_gtid, WEB_WRITE},
    {"take-siblings/" HP, h_take_siblings, WEB_WRITE},
    {"enslave-siblings/" HP, h_take_siblings, WEB_WRITE},
    {"make-co-master/" HP, h_make_co_master, WEB_WRITE},
    {"make-master/" HP, h_make_master, WEB_WRITE},
    {"make-local-master/" HP, h_make_local_master, WEB_WRITE},
};
const size_t web_routes_relocate_many_len = ORC_ARRAY_LEN(web_routes_relocate_many);
