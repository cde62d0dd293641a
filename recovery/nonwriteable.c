/*
 * nonwriteable: the recovery of a read-only master (orchestrator's "recover
 * no writeable master", NoWriteableMasterStructureWarning, only analysed
 * when RecoverNonWriteableMaster is true). A run of the operation engine:
 * registered as a recovery (anti-flapping), the pre-failover hooks, then
 * read_only=0 on the master, resolved with the master as its own successor,
 * audited.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backend/be.h"
#include "recovery/hooks.h"
#include "recovery/op.h"
#include "recovery/ops.h"
#include "recovery/rec.h"

#define AUDIT_TYPE "recover-non-writeable-master"

struct nw {
    const struct rec_analysis *a;
    int64_t detection_id;
    struct rec_session *s;
    struct disc_instance in;
};

static int st_register(struct rec_op *op, void *ctx, char *errmsg, size_t len)
{
    struct nw *x = ctx;
    int rc = rec_op_register_analysis(op, x->a, x->detection_id, errmsg, len);

    if (rc == 0)
        rec_op_step(op, "registered recovery of read-only master %s:%d (%s)", x->a->key.host,
                    x->a->key.port, rec_code_name(x->a->code));
    return rc;
}

static int st_pre_hooks(struct rec_op *op, void *ctx, char *errmsg, size_t len)
{
    struct nw *x = ctx;
    const struct orc_config *c = op->env->cfg;
    struct rec_hooks_options o;
    struct rec_hook_ctx h;
    char host[128] = "";
    int rc;

    if (c->PreFailoverProcesses.n == 0)
        return 0;
    gethostname(host, sizeof(host) - 1);
    rec_hook_ctx_from_analysis(&h, x->a, host);
    h.instance_type = "master";
    h.is_master = true;
    h.recovery_uid = op->uid;
    h.successor_alias = "";
    memset(&o, 0, sizeof(o));
    o.shell = c->ProcessesShellCommand;
    o.list = "PreFailoverProcesses";
    o.tracker = op->env->hooks_tracker;
    rc = rec_hooks_run(&o, (const char *const *)c->PreFailoverProcesses.v,
                       c->PreFailoverProcesses.n, &h, true, errmsg, len);
    rec_op_step(op, "ran PreFailoverProcesses: %s", rc == 0 ? "ok" : errmsg);
    return rc;
}

static int st_set_writable(struct rec_op *op, void *ctx, char *errmsg, size_t len)
{
    struct nw *x = ctx;
    int rc = rec_read(x->s, &x->a->key, &x->in, errmsg, len);

    if (rc == 0 && !x->in.read_only) {
        rec_op_step(op, "%s:%d is writable already", x->a->key.host, x->a->key.port);
        return 0;
    }
    if (rc == 0)
        rc = rec_set_read_only(x->s, &x->in, false, op->env->cfg->UseSuperReadOnly, errmsg, len);
    if (rc == 0)
        rec_op_step(op, "master %s:%d set read_only=0 (RecoverNonWriteableMaster)", x->a->key.host,
                    x->a->key.port);
    return rc;
}

/* A read of what the registration would refuse: a master kept read-only
 * after a recovery is not registered again (a replicated command) on every
 * pass for RecoveryPeriodBlockSeconds. The registration stays the authority. */
static bool in_active_period(const struct rec_env *env, const struct rec_analysis *a)
{
    struct be_recovery r;
    char err[ORC_ERRMSG_SIZE];

    if (env->be == NULL || be_recovery_active(env->be, a->cluster_name, &r, err, sizeof(err)) != 0)
        return false;
    be_recovery_release(&r);
    return true;
}

int rec_nonwriteable_run(struct rec_env *env,
                         const struct rec_analysis *a,
                         int64_t detection_id,
                         char *errmsg,
                         size_t len)
{
    static const struct rec_op_step steps[] = {
        {"register", st_register},
        {"pre-hooks", st_pre_hooks},
        {"set-writable", st_set_writable},
    };
    struct rec_session_options so;
    struct rec_op op;
    struct nw x;
    char ks[ORC_KEY_STRLEN];
    bool entered = false;
    int rc;

    memset(&x, 0, sizeof(x));
    x.a = a;
    x.detection_id = detection_id;
    disc_instance_init(&x.in);
    orc_key_str(&a->key, ks, sizeof(ks));
    rc = rec_op_init(&op, env, "recover-non-writeable-master", NULL);
    if (rc == 0 && op.epoch == 0) {
        orc_errf(errmsg, len, "not the leader");
        rc = ORC_EPERM;
    }
    if (rc == 0 && in_active_period(env, a)) {
        orc_errf(errmsg, len, "a recovery of cluster %s is in its active period", a->cluster_name);
        rec_op_release(&op);
        return ORC_EEXIST;
    }
    /* registered as running before it registers: resume.c leaves it alone */
    if (rc == 0 && (rc = rec_registry_enter(env->running, op.uid)) != 0) {
        rec_op_release(&op);
        return rc;
    }
    entered = rc == 0;
    rec_env_session_options(env, &so);
    if (rc == 0)
        rc = rec_session_new(&so, &x.s);
    if (rc == 0)
        rc = rec_op_run_steps(&op, steps, ORC_ARRAY_LEN(steps), &x, errmsg, len);
    if (op.id > 0 && rc != ORC_EPERM) {
        rec_op_resolve(&op, &a->key, rc == 0 ? &a->key : NULL, rc == 0, "", rc == 0 ? ks : "");
        rec_op_audit(env, AUDIT_TYPE, &a->key, a->cluster_name, "%s; uid %s",
                     rc == 0 ? "master set writable" : op.first_error, op.uid);
        disc_topo_probe_soon(env->topo, &a->key);
    }
    if (entered)
        rec_registry_leave(env->running, op.uid);
    rec_session_free(x.s);
    disc_instance_release(&x.in);
    rec_op_release(&op);
    return rc;
}
