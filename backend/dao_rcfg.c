/*
 * dao_rcfg: the recovery settings held in the replicated state
 * (recovery_config, written only by the FSM's set-recovery-config).
 */
#include <stdlib.h>

#include "backend/be_int.h"

static void rcfg_release(struct be_rcfg *p)
{
    be_str_free(&p->key);
    be_str_free(&p->value);
    be_str_free(&p->set_by);
}

BE_DEFINE_LIST_FREE(be_rcfg_list_free, be_rcfg_list, rcfg_release)

static int fill_rcfg(void *item, int ncols, const char *const *v)
{
    struct be_rcfg *p = item;

    (void)ncols;
    p->set_at = be_col_i64(v[3]);
    return be_col_str(&p->key, v[0]) | be_col_str(&p->value, v[1]) | be_col_str(&p->set_by, v[2]);
}

static void release_rcfg(void *item)
{
    rcfg_release(item);
}

int be_rcfg_put(struct be *b, const struct be_rcfg *r, char *errmsg, size_t len)
{
    static const char *const cols[] = {"config_key", "config_value", "set_by", "set_at"};
    struct be_val v[] = {BE_VTEXT(r->key), BE_VTEXT(be_s(r->value)), BE_VTEXT(be_s(r->set_by)),
                         BE_VINT(r->set_at)};
    int rc;

    if (r->key == NULL || *r->key == '\0') {
        orc_errf(errmsg, len, "recovery config put: empty key");
        return ORC_EINVAL;
    }
    rc = be_upsert(b, "recovery_config", cols, 4, 1, v, 1, errmsg, len);
    if (rc != 0)
        orc_errprefix(errmsg, len, "recovery config put '%s'", r->key);
    return rc;
}

int be_rcfg_delete(struct be *b, const char *key, int64_t *count, char *errmsg, size_t len)
{
    struct be_val v[] = {BE_VTEXT(be_s(key))};
    int rc =
        be_exec(b, "DELETE FROM recovery_config WHERE config_key = ?", v, 1, count, errmsg, len);

    if (rc != 0)
        orc_errprefix(errmsg, len, "recovery config delete '%s'", be_s(key));
    return rc;
}

int be_rcfg_list(struct be *b, struct be_rcfg_list *out, char *errmsg, size_t len)
{
    struct be_vec vec = {NULL, 0, 0};
    int rc =
        be_collect(b,
                   "SELECT config_key, config_value, set_by, set_at FROM recovery_config"
                   " ORDER BY config_key",
                   NULL, 0, &vec, sizeof(struct be_rcfg), fill_rcfg, release_rcfg, errmsg, len);

    BE_VEC_TO_LIST(vec, out);
    return rc;
}
