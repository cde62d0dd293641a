/*
 * fsm: the replicated commands ("discover", "forget", "begin-downtime", ...)
 * applied to the backend (durable) and to the live topology (what reads and
 * analysis see). Payloads are orchestrator-shaped JSON objects.
 */
#include <stdlib.h>
#include <string.h>

#include "backend/be.h"
#include "discovery/disc.h"
#include "orchestrator/fsm.h"
#include "orchestrator/fsm_int.h"

void orc_fsm_init(struct orc_fsm *f,
                  const struct orc_config *cfg,
                  struct be *be,
                  struct disc_topo *topo)
{
    memset(f, 0, sizeof(*f));
    f->cfg = cfg;
    f->be = be;
    f->topo = topo;
    pthread_mutex_init(&f->lock, NULL);
}

void orc_fsm_release(struct orc_fsm *f)
{
    pthread_mutex_destroy(&f->lock);
}

/* The command's own time (stamped by the submitter), else now. */
static int64_t cmd_now(const json_t *o)
{
    const json_t *n = json_object_get(o, "Now");

    return json_is_integer(n) ? (int64_t)json_integer_value(n) : orc_wall_s();
}

const char *fsm_str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

#define str fsm_str
#define get_key fsm_key

/* Reads {"Hostname","Port"} from o itself or from o["Key"]. */
int fsm_key(const json_t *o, struct orc_key *k, char *errmsg, size_t len)
{
    const json_t *kj = json_object_get(o, "Key") ? json_object_get(o, "Key") : o;
    const char *h = json_string_value(json_object_get(kj, "Hostname"));
    json_int_t p = json_integer_value(json_object_get(kj, "Port"));

    if (h == NULL || p <= 0 || p > 65535 || orc_strlcpy(k->host, h, sizeof(k->host)) != 0) {
        orc_errf(errmsg, len, "command payload has no valid instance key");
        return ORC_EINVAL;
    }
    k->port = (int)p;
    return 0;
}

static int op_discover(struct orc_fsm *f, const json_t *p, json_t **res, char *errmsg, size_t len)
{
    struct orc_key k;

    (void)res;
    if (get_key(p, &k, errmsg, len) != 0)
        return ORC_EINVAL;
    return disc_topo_discover(f->topo, &k, false, NULL, errmsg, len);
}

static int op_forget(struct orc_fsm *f, const json_t *p, json_t **res, char *errmsg, size_t len)
{
    struct orc_key k;
    int rc;

    (void)res;
    if (get_key(p, &k, errmsg, len) != 0)
        return ORC_EINVAL;
    /* A forgotten instance is no longer kept read-only. */
    if (be_fence_remove(f->be, &k, NULL, errmsg, len) != 0)
        return ORC_EDB;
    rc = disc_topo_forget(f->topo, &k);
    if (rc == ORC_ENOTFOUND)
        orc_errf(errmsg, len, "instance '%s:%d' not found", k.host, k.port);
    return rc;
}

static int op_forget_cluster(struct orc_fsm *f,
                             const json_t *p,
                             json_t **res,
                             char *errmsg,
                             size_t len)
{
    int rc = disc_topo_forget_cluster(f->topo, str(p, "ClusterName"));

    (void)res;
    if (rc == ORC_ENOTFOUND)
        orc_errf(errmsg, len, "cluster '%s' not found", str(p, "ClusterName"));
    return rc < 0 ? rc : 0;
}

static int op_begin_downtime(struct orc_fsm *f,
                             const json_t *p,
                             json_t **res,
                             char *errmsg,
                             size_t len)
{
    struct be_downtime d;
    int rc;

    (void)res;
    memset(&d, 0, sizeof(d));
    if (get_key(p, &d.key, errmsg, len) != 0)
        return ORC_EINVAL;
    d.active = true;
    d.begin_ts = cmd_now(p);
    d.end_ts = json_integer_value(json_object_get(p, "EndTimestamp"));
    d.owner = str(p, "Owner");
    d.reason = str(p, "Reason");
    rc = be_downtime_begin(f->be, &d, errmsg, len);
    if (rc == 0)
        rc = disc_topo_set_downtime(f->topo, &d.key, d.end_ts, d.owner, d.reason);
    if (rc == ORC_ENOTFOUND)
        orc_errf(errmsg, len, "instance '%s:%d' not found", d.key.host, d.key.port);
    return rc;
}

static int op_end_downtime(struct orc_fsm *f,
                           const json_t *p,
                           json_t **res,
                           char *errmsg,
                           size_t len)
{
    struct orc_key k;
    int rc;

    (void)res;
    if (get_key(p, &k, errmsg, len) != 0)
        return ORC_EINVAL;
    rc = be_downtime_end(f->be, &k, errmsg, len);
    disc_topo_end_downtime(f->topo, &k);
    if (rc == ORC_ENOTFOUND)
        orc_errf(errmsg, len, "instance '%s:%d' is not downtimed", k.host, k.port);
    return rc;
}

static int op_register_candidate(struct orc_fsm *f,
                                 const json_t *p,
                                 json_t **res,
                                 char *errmsg,
                                 size_t len)
{
    struct be_candidate c;
    int64_t until;
    int rc;

    (void)res;
    memset(&c, 0, sizeof(c));
    if (get_key(p, &c.key, errmsg, len) != 0)
        return ORC_EINVAL;
    c.promotion_rule = str(p, "PromotionRule");
    c.last_suggested = cmd_now(p);
    until = json_integer_value(json_object_get(p, "ExpiresAt"));
    rc = be_candidate_register(f->be, &c, errmsg, len);
    if (rc == 0)
        rc = disc_topo_set_promotion_rule(f->topo, &c.key, c.promotion_rule, until);
    if (rc == ORC_ENOTFOUND)
        orc_errf(errmsg, len, "instance '%s:%d' not found", c.key.host, c.key.port);
    return rc;
}

static int op_set_alias(struct orc_fsm *f, const json_t *p, json_t **res, char *errmsg, size_t len)
{
    const char *cluster = str(p, "ClusterName"), *alias = str(p, "Alias");
    int rc;

    (void)res;
    if (*cluster == '\0' || *alias == '\0') {
        orc_errf(errmsg, len, "set-cluster-alias needs a cluster name and an alias");
        return ORC_EINVAL;
    }
    rc = be_alias_set_override(f->be, cluster, alias, cmd_now(p), errmsg, len);
    if (rc == 0)
        rc = disc_topo_set_cluster_alias(f->topo, cluster, alias);
    return rc;
}

static int op_put_tag(struct orc_fsm *f, const json_t *p, json_t **res, char *errmsg, size_t len)
{
    struct orc_key k;

    (void)res;
    if (get_key(p, &k, errmsg, len) != 0)
        return ORC_EINVAL;
    return be_tag_put(f->be, &k, str(p, "TagName"), str(p, "TagValue"), cmd_now(p), errmsg, len);
}

static int op_delete_tag(struct orc_fsm *f, const json_t *p, json_t **res, char *errmsg, size_t len)
{
    struct orc_key k;

    (void)res;
    if (get_key(p, &k, errmsg, len) != 0)
        return ORC_EINVAL;
    return be_tag_delete(f->be, &k, str(p, "TagName"), errmsg, len);
}

/* {"Pool", "Instances": [{"Hostname","Port"}...], "Now"}: replaces the pool. */
static int op_submit_pool(struct orc_fsm *f,
                          const json_t *p,
                          json_t **res,
                          char *errmsg,
                          size_t len)
{
    const json_t *list = json_object_get(p, "Instances");
    size_t n = json_array_size(list), i;
    struct orc_key *keys = calloc(n ? n : 1, sizeof(*keys));
    const json_t *e;
    int rc = keys ? 0 : ORC_ENOMEM;

    (void)res;
    json_array_foreach(list, i, e)
    {
        if (rc == 0)
            rc = get_key(e, &keys[i], errmsg, len);
    }
    if (rc == 0)
        rc = be_pool_apply(f->be, str(p, "Pool"), keys, n, cmd_now(p), errmsg, len);
    free(keys);
    return rc;
}

static int op_disable_recoveries(struct orc_fsm *f,
                                 const json_t *p,
                                 json_t **res,
                                 char *errmsg,
                                 size_t len)
{
    (void)p;
    (void)res;
    return be_recovery_global_set(f->be, true, errmsg, len);
}

static int op_enable_recoveries(struct orc_fsm *f,
                                const json_t *p,
                                json_t **res,
                                char *errmsg,
                                size_t len)
{
    (void)p;
    (void)res;
    return be_recovery_global_set(f->be, false, errmsg, len);
}

/* The one command table: every change of replicated state is one of these,
 * applied by the applier in log order (or directly without raft). */
static const struct fsm_cmd commands[] = {
    {"discover", op_discover, 0},
    {"forget", op_forget, 0},
    {"forget-cluster", op_forget_cluster, 0},
    {"begin-downtime", op_begin_downtime, 0},
    {"end-downtime", op_end_downtime, 0},
    {"register-candidate", op_register_candidate, 0},
    {"set-cluster-alias", op_set_alias, 0},
    {"put-instance-tag", op_put_tag, 0},
    {"delete-instance-tag", op_delete_tag, 0},
    {"submit-pool-instances", op_submit_pool, 0},
    {"disable-global-recoveries", op_disable_recoveries, 0},
    {"enable-global-recoveries", op_enable_recoveries, 0},
    {"register-failure-detection", fsm_op_register_detection, FSM_F_ANSWERS},
    {"register-recovery", fsm_op_register_recovery, FSM_F_ANSWERS},
    {"write-recovery-step", fsm_op_recovery_step, 0},
    {"resolve-recovery", fsm_op_resolve_recovery, 0},
    {"ack-recovery", fsm_op_ack, FSM_F_ANSWERS},
    {"put-key-value", fsm_op_put_kv, 0},
    {"abandon-recovery", fsm_op_abandon_recovery, FSM_F_ANSWERS},
    {"adopt-recovery", fsm_op_adopt_recovery, FSM_F_ANSWERS},
    {"set-recovery-successor", fsm_op_set_recovery_successor, 0},
    {"fence-instance", fsm_op_fence, 0},
    {"unfence-instance", fsm_op_unfence, FSM_F_ANSWERS},
    {"import-orchestrator-state", fsm_op_import, FSM_F_ANSWERS},
    {"begin-maintenance", fsm_op_begin_maintenance, FSM_F_ANSWERS},
    {"end-maintenance", fsm_op_end_maintenance, FSM_F_ANSWERS},
    {"write-audit", fsm_op_write_audit, 0},
    {"housekeeping", fsm_op_housekeeping, 0},
    {"set-recovery-config", fsm_op_set_recovery_config, 0},
};

const struct fsm_cmd *fsm_command(const char *op)
{
    for (size_t i = 0; i < ORC_ARRAY_LEN(commands); i++)
        if (strcmp(commands[i].op, op) == 0)
            return &commands[i];
    return NULL;
}

int orc_fsm_apply(struct orc_fsm *f, const char *op, const json_t *p, char *errmsg, size_t len)
{
    return orc_fsm_apply_r(f, op, p, NULL, errmsg, len);
}

/* Applies one command; the caller serializes (f->lock, or the open
 * transaction that holds the backend's lock). */
int fsm_apply_serialized(struct orc_fsm *f,
                         const char *op,
                         const json_t *p,
                         json_t **result,
                         char *errmsg,
                         size_t len)
{
    const struct fsm_cmd *cmd;
    int rc;

    if (result != NULL)
        *result = NULL;
    cmd = fsm_command(op);
    if (cmd != NULL) {
        rc = cmd->fn(f, p, result, errmsg, len);
    } else {
        orc_errf(errmsg, len, "unknown command '%s'", op);
        rc = ORC_EINVAL;
    }
    if (rc == ORC_EEXIST) /* an expected answer: already registered, blocked */
        ORC_LOG_D("+command-answered", "op=%s answer=\"%s\"", op, errmsg);
    else if (rc != 0)
        ORC_LOG_W("+command-failed", "op=%s error=\"%s\"", op, errmsg);
    else
        ORC_LOG_D("+command-applied", "op=%s", op);
    return rc;
}

int orc_fsm_apply_r(struct orc_fsm *f,
                    const char *op,
                    const json_t *p,
                    json_t **result,
                    char *errmsg,
                    size_t len)
{
    int rc;

    pthread_mutex_lock(&f->lock);
    rc = fsm_apply_serialized(f, op, p, result, errmsg, len);
    pthread_mutex_unlock(&f->lock);
    return rc;
}

int orc_fsm_restore(struct orc_fsm *f, char *errmsg, size_t len)
{
    struct be_downtime_list dl = {0};
    struct be_candidate_list cl = {0};
    struct be_alias_list al = {0};
    struct be_maintenance_list ml = {0};
    int64_t now = orc_wall_s();
    int64_t expiry = f->cfg->CandidateInstanceExpireMinutes * 60;
    int rc;

    rc = be_downtime_list_active(f->be, now, &dl, errmsg, len);
    for (size_t i = 0; rc == 0 && i < dl.n; i++)
        disc_topo_set_downtime(f->topo, &dl.v[i].key, dl.v[i].end_ts, dl.v[i].owner,
                               dl.v[i].reason);
    if (rc == 0)
        rc = be_candidate_list(f->be, now - expiry, &cl, errmsg, len);
    for (size_t i = 0; rc == 0 && i < cl.n; i++)
        disc_topo_set_promotion_rule(f->topo, &cl.v[i].key, cl.v[i].promotion_rule,
                                     cl.v[i].last_suggested + expiry);
    if (rc == 0)
        rc = be_alias_list(f->be, &al, errmsg, len);
    for (size_t i = 0; rc == 0 && i < al.n; i++)
        disc_topo_set_cluster_alias(f->topo, al.v[i].cluster_name, al.v[i].alias);
    if (rc == 0)
        rc = be_maintenance_list_active(f->be, now, &ml, errmsg, len);
    for (size_t i = 0; rc == 0 && i < ml.n; i++)
        disc_topo_set_maintenance(f->topo, &ml.v[i].key, true, ml.v[i].owner, ml.v[i].reason);
    be_downtime_list_free(&dl);
    be_candidate_list_free(&cl);
    be_alias_list_free(&al);
    be_maintenance_list_free(&ml);
    if (rc == 0 && f->on_rcfg != NULL)
        f->on_rcfg(f->on_rcfg_arg); /* the replicated recovery settings */
    return rc;
}
