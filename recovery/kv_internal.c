/*
 * kv_internal: the internal store, orchestrator's kv_store table, replicated
 * through raft with the put-key-value command (its Pairs form: a master's
 * pairs in one command, applied in one backend transaction on every node).
 * Reads come from this node's backend. It holds master keys only: the
 * manager cluster is raft state already, and keys are never deleted.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "backend/be.h"
#include "recovery/kv.h"
#include "recovery/rec.h"

int rec_kv_internal_new(struct rec_env *env, void **st, char *errmsg, size_t len)
{
    (void)errmsg;
    (void)len;
    *st = env;
    return 0;
}

static void internal_free(void *st)
{
    (void)st;
}

static int internal_read(void *st,
                         const char *prefix,
                         struct rec_kv_set *out,
                         char *errmsg,
                         size_t len)
{
    struct rec_env *env = st;
    struct be_kv_list l;
    int rc;

    memset(&l, 0, sizeof(l));
    rc = be_kv_list(env->be, prefix, &l, errmsg, len);
    for (size_t i = 0; rc == 0 && i < l.n; i++)
        rc = rec_kv_set_put(out, l.v[i].key, l.v[i].value);
    be_kv_list_free(&l);
    return rc;
}

static int internal_write(void *st,
                          const struct rec_kv_set *put,
                          const struct orc_strlist *del,
                          char *errmsg,
                          size_t len)
{
    struct rec_env *env = st;
    json_t *pairs = json_array();

    if (del != NULL && del->n > 0) {
        json_decref(pairs);
        orc_errf(errmsg, len, "the internal store does not delete keys");
        return ORC_EINVAL;
    }
    if (put->n == 0) {
        json_decref(pairs);
        return 0;
    }
    for (size_t i = 0; pairs && i < put->n; i++)
        json_array_append_new(
            pairs, json_pack("{s:s, s:s}", "Key", put->v[i].key, "Value", put->v[i].value));
    /* Key/Value too, for a node that knows only the single-pair form. */
    return env->submit(env->node, "put-key-value",
                       json_pack("{s:s, s:s, s:o, s:I}", "Key", put->v[0].key, "Value",
                                 put->v[0].value, "Pairs", pairs, "Now", (json_int_t)orc_wall_s()),
                       errmsg, len);
}

static int internal_health(void *st, char *errmsg, size_t len)
{
    (void)st;
    (void)errmsg;
    (void)len;
    return 0;
}

const struct rec_kv_store_ops rec_kv_internal_ops = {
    "internal", internal_read, internal_write, internal_health, internal_free,
};
