/*
 * op: the operation engine every acting operation runs on (see op.h): uid,
 * epoch checks, steps, errors with the first cause kept, the replicated
 * commands of a recovery (register, steps, resolve), audit, result JSON.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "recovery/op.h"
#include "recovery/ops.h"

int rec_op_init(struct rec_op *op, struct rec_env *env, const char *kind, struct orc_buf *errors)
{
    memset(op, 0, sizeof(*op));
    op->env = env;
    op->kind = kind;
    orc_buf_init(&op->own_errors);
    op->errors = errors != NULL ? errors : &op->own_errors;
    op->started_ms = orc_wall_ms();
    /* wall ms, then bits of the monotonic clock and the pid: unique across
     * runs of one process and across the nodes of a cluster */
    snprintf(op->uid, sizeof(op->uid), "%lld:%08x", (long long)op->started_ms,
             (unsigned)((orc_mono_us() ^ ((uint64_t)getpid() << 16)) & 0xffffffffu));
    op->epoch = rec_env_epoch(env);
    op->steps = json_array();
    return op->steps != NULL ? 0 : ORC_ENOMEM;
}

void rec_op_release(struct rec_op *op)
{
    json_decref(op->steps);
    op->steps = NULL;
    orc_buf_release(&op->own_errors);
}

/* "+<kind>-<what>" */
static const char *event(const struct rec_op *op, const char *what, char *buf, size_t n)
{
    snprintf(buf, n, "+%s-%s", op->kind, what);
    return buf;
}

static void write_step(struct rec_op *op, const json_t *st)
{
    rec_op_submit(op, "write-recovery-step",
                  json_pack("{s:s, s:O, s:O}", "UID", op->uid, "At", json_object_get(st, "At"),
                            "Message", json_object_get(st, "Message")));
}

void rec_op_step(struct rec_op *op, const char *fmt, ...)
{
    char msg[1024], ev[64];
    va_list ap;
    json_t *st;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (op->state != NULL)
        ORC_LOG_N(event(op, "step", ev, sizeof(ev)), "uid=%s state=%s %s", op->uid, op->state, msg);
    else
        ORC_LOG_N(event(op, "step", ev, sizeof(ev)), "uid=%s %s", op->uid, msg);
    st = json_pack("{s:I, s:s}", "At", (json_int_t)orc_wall_s(), "Message", msg);
    if (st == NULL || op->steps == NULL) {
        json_decref(st);
        return;
    }
    json_array_append_new(op->steps, st);
    if (!op->batch_steps)
        rec_op_flush_steps(op);
}

void rec_op_flush_steps(struct rec_op *op)
{
    size_t n = op->steps != NULL ? json_array_size(op->steps) : 0;

    if (op->id <= 0)
        return;
    for (; op->flushed < n; op->flushed++)
        write_step(op, json_array_get(op->steps, op->flushed));
}

void rec_op_error(struct rec_op *op, const char *msg)
{
    char ev[64];

    orc_buf_printf(op->errors, "%s\n", msg);
    if (op->first_error[0] == '\0')
        orc_strlcpy(op->first_error, msg, sizeof(op->first_error));
    if (op->state != NULL)
        ORC_LOG_W(event(op, "error", ev, sizeof(ev)), "uid=%s state=%s error=\"%s\"", op->uid,
                  op->state, msg);
    else
        ORC_LOG_W(event(op, "error", ev, sizeof(ev)), "uid=%s error=\"%s\"", op->uid, msg);
}

void rec_op_submit(struct rec_op *op, const char *cmd, json_t *payload)
{
    char err[ORC_ERRMSG_SIZE] = "";

    if (op->env->submit == NULL || payload == NULL) {
        json_decref(payload);
        return;
    }
    if (op->env->submit(op->env->node, cmd, payload, err, sizeof(err)) != 0)
        rec_op_error(op, err);
}

int rec_op_enter(struct rec_op *op, const char *state, char *errmsg, size_t len)
{
    op->state = state;
    if (!rec_env_still_leader(op->env, op->epoch)) {
        orc_errf(errmsg, len, "no longer the leader of epoch %llu: stopping before %s",
                 (unsigned long long)op->epoch, state);
        return ORC_EPERM;
    }
    return 0;
}

bool rec_op_lost_leadership(struct rec_op *op, char *errmsg, size_t len)
{
    if (rec_env_still_leader(op->env, op->epoch))
        return false;
    orc_errf(errmsg, len, "no longer the leader of epoch %llu: stopping in %s",
             (unsigned long long)op->epoch, op->state ? op->state : "the run");
    return true;
}

int rec_op_run_steps(struct rec_op *op,
                     const struct rec_op_step *v,
                     size_t n,
                     void *ctx,
                     char *errmsg,
                     size_t len)
{
    for (size_t i = 0; i < n; i++) {
        int rc = rec_op_enter(op, v[i].name, errmsg, len);
        if (rc == 0)
            rc = v[i].run(op, ctx, errmsg, len);
        if (rc != 0) {
            rec_op_error(op, errmsg);
            return rc;
        }
    }
    return 0;
}

/* ---- maintenance ---- */

int rec_op_maintenance_begin(struct rec_op *op,
                             const struct orc_key *k,
                             const char *reason,
                             int64_t seconds,
                             char *errmsg,
                             size_t len)
{
    char err[ORC_ERRMSG_SIZE] = "", ks[ORC_KEY_STRLEN];
    json_t *p, *res = NULL;
    int64_t id;
    int rc;

    if (op->env->submit_r == NULL || op->nmaint >= (int)ORC_ARRAY_LEN(op->maint_id))
        return 0;
    orc_key_str(k, ks, sizeof(ks));
    p = json_pack("{s:o, s:s, s:s, s:I}", "Key", rec_key_json(k), "Owner", "orchestrator", "Reason",
                  reason, "EndTimestamp", (json_int_t)(orc_wall_s() + seconds));
    if (p == NULL)
        return ORC_ENOMEM;
    /* replicated: the maintenance (and its id) is the same on every node */
    rc = op->env->submit_r(op->env->node, "begin-maintenance", p, &res, err, sizeof(err));
    id = json_integer_value(json_object_get(res, "Id"));
    json_decref(res);
    if (rc == ORC_EEXIST) {
        orc_errf(errmsg, len, "%s is under maintenance", ks);
        return ORC_ESTATE;
    }
    if (rc != 0) {
        orc_errf(errmsg, len, "begin maintenance on %s: %s", ks, err);
        return rc;
    }
    op->maint_id[op->nmaint++] = id;
    return 0;
}

void rec_op_maintenance_end(struct rec_op *op)
{
    char err[ORC_ERRMSG_SIZE];

    for (int i = 0; i < op->nmaint; i++)
        if (op->env->submit(op->env->node, "end-maintenance",
                            json_pack("{s:I}", "Id", (json_int_t)op->maint_id[i]), err,
                            sizeof(err)) != 0)
            ORC_LOG_W("+maintenance-end-failed", "id=%lld error=\"%s\"", (long long)op->maint_id[i],
                      err);
    op->nmaint = 0;
}

/* ---- recoveries ---- */

void rec_op_keys_csv(const struct orc_key *keys, size_t n, struct orc_buf *out)
{
    char ks[ORC_KEY_STRLEN];

    for (size_t i = 0; i < n; i++)
        orc_buf_printf(out, "%s%s", i ? "," : "", orc_key_str(&keys[i], ks, sizeof(ks)));
}

int rec_op_register(struct rec_op *op,
                    const struct rec_op_registration *r,
                    char *errmsg,
                    size_t len)
{
    char host[128] = "";
    json_t *p, *res = NULL;
    int rc;

    if (op->env->submit_r == NULL)
        return 0; /* no replicated store (tests): nothing to record */
    gethostname(host, sizeof(host) - 1);
    p = json_pack("{s:s, s:o, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:I, s:I, s:I, s:b}", "UID",
                  op->uid, "Key", rec_key_json(r->key), "Analysis", r->analysis, "ClusterName",
                  r->cluster, "ClusterAlias", r->alias, "CountAffectedReplicas", r->count_replicas,
                  "ReplicaHosts", r->replica_hosts, "ProcessingNodeHostname", host,
                  "ProcessingNodeToken", r->token, "LastDetectionId", (json_int_t)r->detection_id,
                  "Now", (json_int_t)orc_wall_s(), "BlockSeconds",
                  (json_int_t)op->env->cfg->RecoveryPeriodBlockSeconds, "Force", r->force);
    rc = op->env->submit_r(op->env->node, "register-recovery", p, &res, errmsg, len);
    if (res != NULL) {
        op->id = (int64_t)json_integer_value(json_object_get(res, "Id"));
        op->blocking_id = (int64_t)json_integer_value(json_object_get(res, "BlockingId"));
        json_decref(res);
    }
    return rc;
}

void rec_op_resolve(struct rec_op *op,
                    const struct orc_key *key,
                    const struct orc_key *successor,
                    bool successful,
                    const char *lost,
                    const char *participants)
{
    if (op->id <= 0)
        return;
    rec_op_submit(op, "resolve-recovery",
                  json_pack("{s:s, s:o, s:o, s:s, s:b, s:s, s:s, s:s, s:I}", "UID", op->uid, "Key",
                            rec_key_json(key), "SuccessorKey",
                            successor != NULL ? rec_key_json(successor) : json_null(),
                            "SuccessorAlias", "", "IsSuccessful", successful, "LostReplicas", lost,
                            "ParticipatingInstances", participants, "AllErrors",
                            orc_buf_str(op->errors), "EndRecovery", (json_int_t)orc_wall_s()));
}

int rec_op_register_analysis(struct rec_op *op,
                             const struct rec_analysis *a,
                             int64_t detection_id,
                             char *errmsg,
                             size_t len)
{
    struct orc_buf hosts = ORC_BUF_INIT;
    struct rec_op_registration g;
    char token[32];
    int rc;

    snprintf(token, sizeof(token), "%llu", (unsigned long long)op->epoch);
    rec_op_keys_csv(a->replicas.keys, a->replicas.len, &hosts);
    memset(&g, 0, sizeof(g));
    g.key = &a->key;
    g.analysis = rec_code_name(a->code);
    g.cluster = a->cluster_name;
    g.alias = a->cluster_alias;
    g.count_replicas = a->count_replicas;
    g.replica_hosts = orc_buf_str(&hosts);
    g.token = token;
    g.detection_id = detection_id;
    rc = rec_op_register(op, &g, errmsg, len);
    orc_buf_release(&hosts);
    if (rc == ORC_EEXIST)
        orc_errf(errmsg, len, "blocked by recovery %lld, still in its active period",
                 (long long)op->blocking_id);
    return rc;
}

/* ---- audit ---- */

json_t *rec_audit_json(const char *type,
                       const struct orc_key *k,
                       const char *cluster,
                       const char *message)
{
    json_t *p = json_pack("{s:s, s:s, s:s}", "Type", type, "ClusterName", cluster ? cluster : "",
                          "Message", message);

    if (p != NULL && k != NULL)
        json_object_set_new(p, "Key", rec_key_json(k));
    return p;
}

void rec_op_audit(struct rec_env *env,
                  const char *type,
                  const struct orc_key *k,
                  const char *cluster,
                  const char *fmt,
                  ...)
{
    char msg[1024], err[ORC_ERRMSG_SIZE] = "", ks[ORC_KEY_STRLEN] = "";
    json_t *p;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (k != NULL)
        orc_key_str(k, ks, sizeof(ks));
    ORC_LOG_N("+planned-op", "type=%s instance=%s cluster=%s message=\"%s\"", type, ks,
              cluster ? cluster : "", msg);
    if (env->submit == NULL)
        return;
    p = rec_audit_json(type, k, cluster, msg);
    /* a replicated command: the audit is the same on every node */
    if (p == NULL || env->submit(env->node, "write-audit", p, err, sizeof(err)) != 0)
        ORC_LOG_W("+audit-failed", "type=%s error=\"%s\"", type, p ? err : "out of memory");
}

/* ---- result ---- */

static json_t *lines_json(const char *text)
{
    json_t *a = json_array();

    while (a != NULL && text != NULL && *text != '\0') {
        size_t k = strcspn(text, "\n");
        if (k > 0)
            json_array_append_new(a, json_stringn(text, k));
        text += k;
        if (*text == '\n')
            text++;
    }
    return a;
}

json_t *rec_op_result_json(const struct rec_op *op, bool successful)
{
    json_t *steps = json_array(), *st;
    size_t i;

    json_array_foreach(op->steps, i, st) json_array_append(steps, json_object_get(st, "Message"));
    return json_pack("{s:s, s:s, s:I, s:I, s:b, s:I, s:o, s:o, s:s}", "UID", op->uid, "Kind",
                     op->kind, "Id", (json_int_t)op->id, "Epoch", (json_int_t)op->epoch,
                     "Successful", successful, "DurationMs",
                     (json_int_t)(orc_wall_ms() - op->started_ms), "Steps", steps, "Errors",
                     lines_json(orc_buf_str(op->errors)), "FirstError", op->first_error);
}

/* ---- filters ---- */

int rec_op_filters_compile(struct rec_op_filters *f,
                           const struct orc_strlist *l,
                           const char *what,
                           char *errmsg,
                           size_t len)
{
    memset(f, 0, sizeof(*f));
    f->v = calloc(l->n ? l->n : 1, sizeof(regex_t));
    if (f->v == NULL)
        return ORC_ENOMEM;
    for (size_t i = 0; i < l->n; i++) {
        if (regcomp(&f->v[i], l->v[i], REG_EXTENDED | REG_NOSUB) != 0) {
            orc_errf(errmsg, len, "%s: bad regex '%s'", what, l->v[i]);
            return ORC_ECONFIG;
        }
        f->n++;
    }
    return 0;
}

bool rec_op_filters_match(const struct rec_op_filters *f, const char *host)
{
    for (size_t i = 0; i < f->n; i++)
        if (regexec(&f->v[i], host, 0, NULL, 0) == 0)
            return true;
    return false;
}

void rec_op_filters_release(struct rec_op_filters *f)
{
    for (size_t i = 0; i < f->n; i++)
        regfree(&f->v[i]);
    free(f->v);
    memset(f, 0, sizeof(*f));
}
