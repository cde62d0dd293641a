/*
 * dao_fence: old masters a failover moved the cluster away from
 * (database_instance_fence). The leader keeps each one read-only until the
 * fence is lifted: the instance is forgotten, made writable by an operator,
 * or becomes the successor of a later recovery.
 */
#include <stdlib.h>

#include "backend/be_int.h"

static void fence_release(struct be_fence *f)
{
    be_str_free(&f->recovery_uid);
}

BE_DEFINE_LIST_FREE(be_fence_list_free, be_fence_list, fence_release)

static int fill_fence(void *item, int ncols, const char *const *v)
{
    struct be_fence *f = item;

    (void)ncols;
    be_col_key(&f->key, v[0], v[1]);
    f->since = be_col_i64(v[3]);
    return be_col_str(&f->recovery_uid, v[2]);
}

static void release_fence(void *item)
{
    fence_release(item);
}

int be_fence_add(struct be *b, const struct be_fence *f, char *errmsg, size_t len)
{
    static const char *const cols[] = {"hostname", "port", "recovery_uid", "since"};
    struct be_val v[] = {BE_VTEXT(f->key.host), BE_VINT(f->key.port),
                         BE_VTEXT(be_s(f->recovery_uid)), BE_VINT(f->since)};
    int rc = be_upsert(b, "database_instance_fence", cols, 4, 2, v, 1, errmsg, len);

    if (rc != 0)
        orc_errprefix(errmsg, len, "fence '%s:%d'", f->key.host, f->key.port);
    return rc;
}

int be_fence_remove(struct be *b, const struct orc_key *k, int64_t *count, char *errmsg, size_t len)
{
    struct be_val v[] = {BE_VTEXT(k->host), BE_VINT(k->port)};
    int rc = be_exec(b, "DELETE FROM database_instance_fence WHERE hostname = ? AND port = ?", v, 2,
                     count, errmsg, len);

    if (rc != 0)
        orc_errprefix(errmsg, len, "unfence '%s:%d'", k->host, k->port);
    return rc;
}

int be_fence_list(struct be *b, struct be_fence_list *out, char *errmsg, size_t len)
{
    struct be_vec vec = {NULL, 0, 0};
    int rc =
        be_collect(b,
                   "SELECT hostname, port, recovery_uid, since FROM database_instance_fence"
                   " ORDER BY since, hostname, port",
                   NULL, 0, &vec, sizeof(struct be_fence), fill_fence, release_fence, errmsg, len);

    BE_VEC_TO_LIST(vec, out);
    return rc;
}
