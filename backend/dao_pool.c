/*
 * dao_pool: instance pools (database_instance_pool), orchestrator's
 * submit-pool-instances: a pool is a named set of instances an operator (or
 * a service discovery tool) submits; each submission replaces the pool.
 */
#include <stdlib.h>
#include <string.h>

#include "backend/be_int.h"

static void pool_release(struct be_pool_instance *p)
{
    be_str_free(&p->pool);
}

BE_DEFINE_LIST_FREE(be_pool_list_free, be_pool_list, pool_release)

static int fill_pool(void *item, int ncols, const char *const *v)
{
    struct be_pool_instance *p = item;

    (void)ncols;
    be_col_key(&p->key, v[0], v[1]);
    p->registered_at = be_col_i64(v[3]);
    return be_col_str(&p->pool, v[2]);
}

static void release_pool(void *item)
{
    pool_release(item);
}

int be_pool_apply(struct be *b,
                  const char *pool,
                  const struct orc_key *keys,
                  size_t n,
                  int64_t now,
                  char *errmsg,
                  size_t len)
{
    struct be_val del[] = {BE_VTEXT(pool)};
    int rc;

    if (pool == NULL || *pool == '\0') {
        orc_errf(errmsg, len, "empty pool name");
        return ORC_EINVAL;
    }
    rc = be_exec(b, "DELETE FROM database_instance_pool WHERE pool = ?", del, 1, NULL, errmsg, len);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct be_val v[] = {BE_VTEXT(keys[i].host), BE_VINT(keys[i].port), BE_VTEXT(pool),
                             BE_VINT(now)};
        static const char *const cols[] = {"hostname", "port", "pool", "registered_at"};
        rc = be_upsert(b, "database_instance_pool", cols, 4, 3, v, 1, errmsg, len);
    }
    if (rc != 0)
        orc_errprefix(errmsg, len, "pool '%s'", pool);
    return rc;
}

int be_pool_list(struct be *b,
                 const char *pool,
                 int64_t since,
                 struct be_pool_list *out,
                 char *errmsg,
                 size_t len)
{
    struct be_val v[] = {BE_VINT(since), BE_VTEXT(be_s(pool))};
    struct be_vec vec;
    int rc = be_collect(b,
                        pool != NULL && *pool != '\0'
                            ? "SELECT hostname, port, pool, registered_at FROM"
                              " database_instance_pool WHERE registered_at >= ? AND pool = ?"
                              " ORDER BY pool, hostname, port"
                            : "SELECT hostname, port, pool, registered_at FROM"
                              " database_instance_pool WHERE registered_at >= ?"
                              " ORDER BY pool, hostname, port",
                        v, pool != NULL && *pool != '\0' ? 2 : 1, &vec,
                        sizeof(struct be_pool_instance), fill_pool, release_pool, errmsg, len);

    BE_VEC_TO_LIST(vec, out);
    return rc;
}
