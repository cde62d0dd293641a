/*
 * kv_zk: ZooKeeper (libzookeeper_mt). A key "a/b/c" is the znode /a/b/c and
 * its value the znode's data. A write is one zoo_multi: the missing parent
 * znodes are created (empty) in the same transaction, existing znodes are
 * set, new ones created, deleted keys removed, so a watcher sees all of a
 * cluster's change or none of it.
 *
 * Timeouts: the session is opened lazily and must be connected within the
 * connect timeout; its session timeout is the store timeout (ZooKeeper
 * fails pending calls with a connection loss after about 2/3 of it). An
 * expired or broken session is closed and opened again on the next call.
 */
#include <stdlib.h>
#include <string.h>
#define THREADED /* the synchronous API of libzookeeper_mt */
#include <zookeeper/zookeeper.h>

#include "recovery/kv.h"

#define ZK_DEFAULT_PORT ":2181"
#define ZK_DATA_MAX (64 * 1024)
#define ZK_MAX_DEPTH 16

struct zk {
    struct rec_kv_settings s; /* copy */
    char hosts[REC_KV_STR + 256];
    zhandle_t *zh;
};

static void zk_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)zh;
    (void)type;
    (void)state;
    (void)path;
    (void)ctx;
}

int rec_kv_zk_new(const struct rec_kv_settings *s, void **st, char *errmsg, size_t len)
{
    struct zk *z = calloc(1, sizeof(*z));
    struct orc_buf b = ORC_BUF_INIT;

    if (z == NULL)
        return ORC_ENOMEM;
    z->s = *s;
    /* "srv1[:port],srv2" -> every server with a port */
    for (const char *p = s->zk_address; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        bool port = memchr(p, ':', n) != NULL;
        if (n > 0)
            orc_buf_printf(&b, "%s%.*s%s", b.len ? "," : "", (int)n, p,
                           port ? "" : ZK_DEFAULT_PORT);
        p += n + (comma != NULL);
    }
    if (b.len == 0 || b.len >= sizeof(z->hosts)) {
        orc_errf(errmsg, len, "ZkAddress: no usable server in '%s'", s->zk_address);
        orc_buf_release(&b);
        free(z);
        return ORC_ECONFIG;
    }
    orc_strlcpy(z->hosts, orc_buf_str(&b), sizeof(z->hosts));
    orc_buf_release(&b);
    zoo_set_debug_level((ZooLogLevel)0); /* its own stderr lines: off; errors come back to us */
    *st = z;
    return 0;
}

static void zk_close(struct zk *z)
{
    if (z->zh != NULL)
        zookeeper_close(z->zh);
    z->zh = NULL;
}

static void zk_free(void *st)
{
    struct zk *z = st;

    if (z == NULL)
        return;
    zk_close(z);
    free(z);
}

/* A connected session, opened (or re-opened) when needed. */
static int session(struct zk *z, char *errmsg, size_t len)
{
    int64_t deadline = orc_mono_ms() + z->s.connect_timeout_ms;
    int state = z->zh ? zoo_state(z->zh) : 0;

    if (z->zh != NULL && (state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE))
        zk_close(z);
    if (z->zh == NULL)
        z->zh = zookeeper_init(z->hosts, zk_watcher, (int)z->s.timeout_ms, NULL, NULL, 0);
    if (z->zh == NULL) {
        orc_errf(errmsg, len, "zookeeper_init(%s) failed", z->hosts);
        return ORC_EIO;
    }
    while (zoo_state(z->zh) != ZOO_CONNECTED_STATE) {
        if (orc_mono_ms() >= deadline) {
            orc_errf(errmsg, len, "zookeeper %s: not connected after %lld ms", z->hosts,
                     (long long)z->s.connect_timeout_ms);
            return ORC_ETIMEDOUT;
        }
        orc_sleep_ms(10);
    }
    return 0;
}

static int zk_err(struct zk *z,
                  int zrc,
                  const char *what,
                  const char *path,
                  char *errmsg,
                  size_t len)
{
    orc_errf(errmsg, len, "zookeeper %s '%s': %s", what, path, zerror(zrc));
    if (zrc == ZCONNECTIONLOSS || zrc == ZSESSIONEXPIRED || zrc == ZOPERATIONTIMEOUT)
        zk_close(z);
    return zrc == ZOPERATIONTIMEOUT ? ORC_ETIMEDOUT : ORC_EIO;
}

/* Reads path and its descendants into out (keys are paths without their
 * first `skip` characters: a key "a/b" is the znode "/a/b", a key "/a/b" too). */
static int read_tree(struct zk *z,
                     const char *path,
                     size_t skip,
                     int depth,
                     struct rec_kv_set *out,
                     char *errmsg,
                     size_t len)
{
    struct String_vector kids = {0, NULL};
    char *data = malloc(ZK_DATA_MAX + 1);
    int n = ZK_DATA_MAX, zrc, rc = 0;

    if (data == NULL)
        return ORC_ENOMEM;
    zrc = zoo_get(z->zh, path, 0, data, &n, NULL);
    if (zrc == ZNONODE) {
        free(data);
        return 0;
    }
    if (zrc != ZOK) {
        free(data);
        return zk_err(z, zrc, "get", path, errmsg, len);
    }
    data[n > 0 ? n : 0] = '\0';
    rc = path[1] ? rec_kv_set_put(out, path + skip, data) : 0;
    free(data);
    zrc = rc == 0 ? zoo_get_children(z->zh, path, 0, &kids) : ZOK;
    if (zrc != ZOK && zrc != ZNONODE)
        rc = zk_err(z, zrc, "get children", path, errmsg, len);
    for (int i = 0; rc == 0 && depth < ZK_MAX_DEPTH && i < kids.count; i++) {
        struct orc_buf child = ORC_BUF_INIT;
        orc_buf_printf(&child, "%s/%s", path[1] ? path : "", kids.data[i]);
        rc = read_tree(z, orc_buf_str(&child), skip, depth + 1, out, errmsg, len);
        orc_buf_release(&child);
    }
    deallocate_String_vector(&kids);
    return rc;
}

static int zk_read(void *st, const char *prefix, struct rec_kv_set *out, char *errmsg, size_t len)
{
    struct zk *z = st;
    struct orc_buf path = ORC_BUF_INIT;
    int rc = session(z, errmsg, len);

    orc_buf_printf(&path, "%s%s", prefix[0] == '/' ? "" : "/", prefix);
    while (path.len > 1 && path.data[path.len - 1] == '/')
        path.data[--path.len] = '\0';
    if (rc == 0)
        rc = read_tree(z, orc_buf_str(&path), prefix[0] == '/' ? 0 : 1, 0, out, errmsg, len);
    orc_buf_release(&path);
    return rc;
}

/* The operations of one zoo_multi, with the strings they point to. */
struct multi {
    zoo_op_t *ops;
    char **paths; /* owned, parallel to ops */
    size_t n, cap;
    char pathbuf[8];
};

static int multi_add(struct multi *m, const char *path, char **owned)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        zoo_op_t *o = realloc(m->ops, cap * sizeof(*o));
        char **p = o ? realloc(m->paths, cap * sizeof(*p)) : NULL;
        if (o != NULL)
            m->ops = o;
        if (p == NULL)
            return ORC_ENOMEM;
        m->paths = p;
        m->cap = cap;
    }
    *owned = orc_strdup(path);
    if (*owned == NULL)
        return ORC_ENOMEM;
    m->paths[m->n] = *owned;
    return 0;
}

static bool multi_has(const struct multi *m, const char *path)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->paths[i], path) == 0)
            return true;
    return false;
}

/* Adds a create (parents: empty data) or a set for path. */
static int multi_put(struct zk *z, struct multi *m, const char *path, const char *value)
{
    struct Stat stat;
    char *p;
    int rc;

    if (multi_has(m, path))
        return 0;
    rc = multi_add(m, path, &p);
    if (rc != 0)
        return rc;
    if (zoo_exists(z->zh, p, 0, &stat) == ZOK)
        zoo_set_op_init(&m->ops[m->n], p, value, (int)strlen(value), -1, NULL);
    else
        zoo_create_op_init(&m->ops[m->n], p, value, (int)strlen(value), &ZOO_OPEN_ACL_UNSAFE, 0,
                           m->pathbuf, sizeof(m->pathbuf));
    m->n++;
    return 0;
}

/* The missing ancestors of path, outermost first. */
static int multi_parents(struct zk *z, struct multi *m, const char *path)
{
    struct Stat stat;
    int rc = 0;

    for (const char *s = strchr(path + 1, '/'); rc == 0 && s != NULL; s = strchr(s + 1, '/')) {
        struct orc_buf a = ORC_BUF_INIT;
        orc_buf_append(&a, path, (size_t)(s - path));
        if (!multi_has(m, orc_buf_str(&a)) && zoo_exists(z->zh, orc_buf_str(&a), 0, &stat) != ZOK)
            rc = multi_put(z, m, orc_buf_str(&a), "");
        orc_buf_release(&a);
    }
    return rc;
}

static void multi_release(struct multi *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->paths[i]);
    free(m->paths);
    free(m->ops);
}

static int write_once(struct zk *z,
                      const struct rec_kv_set *put,
                      const struct orc_strlist *del,
                      char *errmsg,
                      size_t len)
{
    struct multi m;
    zoo_op_result_t *res = NULL;
    int rc = 0, zrc;

    memset(&m, 0, sizeof(m));
    for (size_t i = 0; rc == 0 && i < put->n; i++) {
        struct orc_buf p = ORC_BUF_INIT;
        orc_buf_printf(&p, "%s%s", put->v[i].key[0] == '/' ? "" : "/", put->v[i].key);
        rc = multi_parents(z, &m, orc_buf_str(&p));
        if (rc == 0)
            rc = multi_put(z, &m, orc_buf_str(&p), put->v[i].value);
        orc_buf_release(&p);
    }
    for (size_t i = 0; rc == 0 && i < del->n; i++) {
        struct orc_buf p = ORC_BUF_INIT;
        char *owned;
        orc_buf_printf(&p, "%s%s", del->v[i][0] == '/' ? "" : "/", del->v[i]);
        rc = multi_add(&m, orc_buf_str(&p), &owned);
        if (rc == 0)
            zoo_delete_op_init(&m.ops[m.n++], owned, -1);
        orc_buf_release(&p);
    }
    if (rc == 0 && m.n > 0 && (res = calloc(m.n, sizeof(*res))) == NULL)
        rc = ORC_ENOMEM;
    if (rc == 0 && m.n > 0) {
        zrc = zoo_multi(z->zh, (int)m.n, m.ops, res);
        if (zrc != ZOK)
            rc = zk_err(z, zrc, "multi", m.paths[0], errmsg, len);
    }
    free(res);
    multi_release(&m);
    return rc;
}

static int zk_write(void *st,
                    const struct rec_kv_set *put,
                    const struct orc_strlist *del,
                    char *errmsg,
                    size_t len)
{
    struct zk *z = st;
    int rc = session(z, errmsg, len);

    if (rc == 0)
        rc = write_once(z, put, del, errmsg, len);
    /* A znode created or removed by someone else in between: once more. */
    if (rc == ORC_EIO && z->zh != NULL && session(z, errmsg, len) == 0)
        rc = write_once(z, put, del, errmsg, len);
    return rc;
}

static int zk_health(void *st, char *errmsg, size_t len)
{
    struct zk *z = st;
    struct Stat stat;
    int rc = session(z, errmsg, len), zrc;

    if (rc != 0)
        return rc;
    zrc = zoo_exists(z->zh, "/", 0, &stat);
    return zrc == ZOK ? 0 : zk_err(z, zrc, "exists", "/", errmsg, len);
}

const struct rec_kv_store_ops rec_kv_zk_ops = {
    "zookeeper", zk_read, zk_write, zk_health, zk_free,
};
