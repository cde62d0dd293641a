/*
 * snap: immutable, reference-counted snapshots of the topology, with the
 * clusters computed: each instance's root master (the cluster name), its
 * replication depth, co-masters (a cycle of master links), and the alias.
 */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "discovery/topo_int.h"

struct index {
    size_t size;
    int *slots; /* instance index + 1, 0 = empty */
};

static size_t hash_str(const char *s)
{
    return (size_t)orc_fnv1a(ORC_FNV1A_INIT, s, strlen(s));
}

static size_t hash_keyv(const struct orc_key *k)
{
    return hash_str(k->host) * 31u + (size_t)k->port;
}

static int index_build(struct index *ix, const struct disc_instance *in, size_t n)
{
    ix->size = 16;
    while (ix->size < n * 2)
        ix->size *= 2;
    ix->slots = calloc(ix->size, sizeof(int));
    if (ix->slots == NULL)
        return ORC_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        size_t b = hash_keyv(&in[i].key) & (ix->size - 1);
        while (ix->slots[b] != 0)
            b = (b + 1) & (ix->size - 1);
        ix->slots[b] = (int)i + 1;
    }
    return 0;
}

static int index_find(const struct index *ix,
                      const struct disc_instance *in,
                      const struct orc_key *k)
{
    size_t b;

    if (ix == NULL || ix->slots == NULL)
        return -1;
    b = hash_keyv(k) & (ix->size - 1);
    while (ix->slots[b] != 0) {
        int i = ix->slots[b] - 1;
        if (orc_key_eq(&in[i].key, k))
            return i;
        b = (b + 1) & (ix->size - 1);
    }
    return -1;
}

/* The root of a cycle of master links: the only writable member if there is
 * exactly one, else the smallest key. */
static int cycle_root(const struct disc_instance *in, const int *path, size_t from, size_t to)
{
    int writable = -1, nwritable = 0, smallest = path[from];

    for (size_t k = from; k < to; k++) {
        int i = path[k];
        if (!in[i].read_only) {
            writable = i;
            nwritable++;
        }
        if (orc_key_cmp(&in[i].key, &in[smallest].key) < 0)
            smallest = i;
    }
    return nwritable == 1 ? writable : smallest;
}

/* Assigns root[] and depth[] to every instance following master[] links. */
static int compute_roots(struct disc_instance *in,
                         size_t n,
                         const int *master,
                         int *root,
                         int *depth)
{
    int *state = calloc(n, sizeof(int)); /* 0 new, 1 on path, 2 done */
    int *path = calloc(n + 1, sizeof(int));

    if (state == NULL || path == NULL) {
        free(state);
        free(path);
        return ORC_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        int j = (int)i;

        while (j >= 0 && state[j] == 0) {
            state[j] = 1;
            path[len++] = j;
            j = master[j];
        }
        if (j >= 0 && state[j] == 1) { /* a cycle: path[c..len) */
            size_t c = 0, cl;
            int r;
            while (path[c] != j)
                c++;
            cl = len - c;
            r = cycle_root(in, path, c, len);
            for (size_t k = c; k < len; k++) {
                size_t q = c;
                while (path[q] != r)
                    q++;
                depth[path[k]] = (int)((q + cl - k) % cl);
                root[path[k]] = r;
                in[path[k]].is_co_master = cl >= 2;
                state[path[k]] = 2;
            }
            len = c;
        } else if (j < 0 && len > 0) { /* the last node on the path is a root */
            int last = path[--len];
            root[last] = last;
            depth[last] = 0;
            state[last] = 2;
        }
        while (len > 0) { /* walk back, each one below its master */
            int k = path[--len];
            root[k] = root[master[k]];
            depth[k] = depth[master[k]] + 1;
            state[k] = 2;
        }
    }
    free(state);
    free(path);
    return 0;
}

/* What a snapshot is built from: copied under the topology lock, computed
 * without it (the operators' aliases are copied; the rest of t read here is
 * immutable options). */
struct raw {
    struct disc_topo *t;
    struct disc_snapshot *s;
    struct disc_instance *in;
    struct disc_annot *an;
    struct alias_entry *aliases;
    size_t naliases;
};

static void cluster_alias(const struct raw *r,
                          const char *name,
                          const struct disc_instance *root,
                          char *out,
                          size_t n)
{
    const struct disc_topo *t = r->t;

    for (size_t i = 0; i < r->naliases; i++) {
        if (strcmp(r->aliases[i].cluster, name) == 0) {
            orc_strlcpy(out, r->aliases[i].alias, n);
            return;
        }
    }
    if (root->suggested_cluster_alias[0] != '\0') {
        orc_strlcpy(out, root->suggested_cluster_alias, n);
        return;
    }
    for (size_t i = 0; i < t->o.nalias; i++) {
        if (regexec(&t->alias_re[i], name, 0, NULL, 0) == 0) {
            orc_strlcpy(out, t->o.alias_val[i], n);
            return;
        }
    }
    orc_strlcpy(out, name, n);
}

struct order {
    const struct disc_instance *in;
    const int *depth;
};

static int cmp_order(const void *a, const void *b, void *arg)
{
    const struct order *o = arg;
    int i = *(const int *)a, j = *(const int *)b;
    const struct disc_instance *x = &o->in[i], *y = &o->in[j];
    int c = strcmp(x->cluster_name, y->cluster_name);

    if (c != 0)
        return c;
    if (o->depth[i] != o->depth[j])
        return o->depth[i] - o->depth[j];
    return orc_key_cmp(&x->key, &y->key);
}

/* Copies the live entries into s (lock held). */
static int copy_entries(struct disc_topo *t, struct disc_instance *in, struct disc_annot *an)
{
    for (size_t i = 0; i < t->n; i++) {
        struct entry *e = t->all[i];
        disc_instance_init(&in[i]);
        if (disc_instance_copy(&in[i], &e->inst) != 0)
            return ORC_ENOMEM;
        in[i].key = e->key;
        in[i].last_checked_ms = e->last_checked_ms;
        in[i].last_seen_ms = e->last_seen_ms;
        in[i].last_attempted_check_ms = e->last_attempted_ms;
        in[i].is_co_master = false;
        an[i] = e->annot;
        in[i].is_downtimed = e->annot.downtimed;
        in[i].is_candidate = strcmp(e->annot.promotion_rule, "prefer") == 0 ||
                             strcmp(e->annot.promotion_rule, "must") == 0;
    }
    return 0;
}

static int build_clusters(const struct raw *r, struct disc_snapshot *s, const int *root)
{
    size_t nc = 0;

    s->clusters = calloc(s->n ? s->n : 1, sizeof(*s->clusters));
    if (s->clusters == NULL)
        return ORC_ENOMEM;
    for (size_t i = 0; i < s->n; i++) {
        struct disc_cluster *c;
        if (nc > 0 && strcmp(s->clusters[nc - 1].name, s->instances[i].cluster_name) == 0) {
            s->clusters[nc - 1].count++;
            orc_strlcpy(s->instances[i].cluster_domain, s->clusters[nc - 1].domain,
                        sizeof(s->instances[i].cluster_domain));
            continue;
        }
        c = &s->clusters[nc++];
        orc_strlcpy(c->name, s->instances[i].cluster_name, sizeof(c->name));
        c->first = i;
        c->count = 1;
        c->master = (int)i; /* sorted by depth: the first is the root */
        cluster_alias(r, c->name, &s->instances[i], c->alias, sizeof(c->alias));
        orc_strlcpy(c->domain, s->instances[i].cluster_domain, sizeof(c->domain));
    }
    (void)root;
    s->nclusters = nc;
    return 0;
}

/* Orders the instances by cluster, depth, key, in place (a permutation
 * applied cycle by cycle: each record moves once, and no second array of
 * records is allocated and faulted in), and hands the arrays to s. */
static int place_sorted(struct disc_snapshot *s,
                        struct disc_instance *in,
                        struct disc_annot *an,
                        const int *depth)
{
    int *perm = malloc((s->n ? s->n : 1) * sizeof(int));
    struct disc_instance tmp;
    struct disc_annot tmpa;

    if (perm == NULL)
        return ORC_ENOMEM;
    for (size_t i = 0; i < s->n; i++)
        perm[i] = (int)i;
    struct order o = {in, depth};

    qsort_r(perm, s->n, sizeof(int), cmp_order, &o);
    /* position j takes the record at perm[j]; a placed position gets perm[j] = j */
    for (size_t i = 0; i < s->n; i++) {
        size_t j = i;

        if (perm[i] == (int)i)
            continue;
        tmp = in[i];
        tmpa = an[i];
        for (;;) {
            size_t k = (size_t)perm[j];

            perm[j] = (int)j;
            if (k == i) {
                in[j] = tmp;
                an[j] = tmpa;
                break;
            }
            in[j] = in[k];
            an[j] = an[k];
            j = k;
        }
    }
    free(perm);
    s->instances = in; /* the caller's arrays now belong to s */
    s->annots = an;
    return 0;
}

static int compute(const struct raw *r,
                   struct disc_snapshot *s,
                   struct disc_instance *in,
                   struct disc_annot *an)
{
    size_t n = s->n;
    int *master = calloc(n ? n : 1, sizeof(int) * 3);
    int *root = master + n, *depth = master + 2 * n;
    struct index ix = {0, NULL};
    int rc;

    if (master == NULL)
        return ORC_ENOMEM;
    rc = index_build(&ix, in, n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        master[i] = in[i].master_key.host[0] ? index_find(&ix, in, &in[i].master_key) : -1;
        if (master[i] == (int)i)
            master[i] = -1;
    }
    if (rc == 0)
        rc = compute_roots(in, n, master, root, depth);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        orc_key_str(&in[root[i]].key, in[i].cluster_name, sizeof(in[i].cluster_name));
        in[i].replication_depth = depth[i];
    }
    if (rc == 0)
        rc = place_sorted(s, in, an, depth);
    if (rc == 0)
        rc = build_clusters(r, s, root);
    free(ix.slots);
    if (rc == 0) {
        struct index *fin = malloc(sizeof(*fin));
        if (fin == NULL || index_build(fin, s->instances, n) != 0) {
            free(fin);
            return ORC_ENOMEM;
        }
        s->index = fin;
    }
    free(master);
    return rc;
}

static void raw_free(struct raw *r)
{
    if (r->s != NULL && r->s->instances == r->in) /* handed over by place_sorted */
        r->s->instances = NULL;
    if (r->s != NULL && r->s->annots == r->an)
        r->s->annots = NULL;
    if (r->in != NULL)
        for (size_t i = 0; r->s != NULL && i < r->s->n; i++)
            disc_instance_release(&r->in[i]);
    free(r->in);
    free(r->an);
    free(r->aliases);
    if (r->s != NULL) {
        free(r->s->instances);
        r->s->instances = NULL;
        r->s->n = 0;
        topo_snapshot_free(r->s);
    }
}

/* Copies what the snapshot is made of (lock held): the part that must be
 * consistent. Returns 0 or ORC_ENOMEM (r released). */
static int snapshot_copy(struct disc_topo *t, struct raw *r)
{
    size_t n = t->n;
    struct disc_snapshot *s = calloc(1, sizeof(*s));

    memset(r, 0, sizeof(*r));
    r->t = t;
    r->s = s;
    r->in = calloc(n ? n : 1, sizeof(*r->in));
    r->an = calloc(n ? n : 1, sizeof(*r->an));
    r->aliases = calloc(t->naliases ? t->naliases : 1, sizeof(*r->aliases));
    if (s == NULL || r->in == NULL || r->an == NULL || r->aliases == NULL)
        goto fail;
    if (t->naliases > 0)
        memcpy(r->aliases, t->aliases, t->naliases * sizeof(*r->aliases));
    r->naliases = t->naliases;
    s->refs = 1;
    s->version = t->version;
    s->health_version = t->health_version;
    s->taken_ms = orc_wall_ms();
    s->poll_ms = t->o.poll_ms;
    s->reasonable_check_ms = t->o.reasonable_check_ms;
    s->reasonable_lag_s = t->o.reasonable_lag_s;
    s->n = n;
    if (copy_entries(t, r->in, r->an) != 0)
        goto fail;
    return 0;
fail:
    ORC_LOG_E("+snapshot-failed", "error=\"out of memory\" instances=%zu", n);
    raw_free(r);
    return ORC_ENOMEM;
}

/* Orders, groups and indexes the copy (no lock). NULL on ENOMEM. */
static struct disc_snapshot *snapshot_finish(struct raw *r)
{
    struct disc_snapshot *s = r->s;

    if (compute(r, s, r->in, r->an) != 0) {
        ORC_LOG_E("+snapshot-failed", "error=\"out of memory\" instances=%zu", s->n);
        raw_free(r);
        return NULL;
    }
    free(r->aliases); /* r->in and r->an are s's arrays now */
    return s;
}

struct disc_snapshot *topo_snapshot_build(struct disc_topo *t)
{
    struct raw r;

    if (snapshot_copy(t, &r) != 0)
        return NULL;
    return snapshot_finish(&r);
}

void topo_snapshot_free(struct disc_snapshot *s)
{
    struct index *ix = s->index;

    for (size_t i = 0; i < s->n; i++)
        disc_instance_release(&s->instances[i]);
    free(s->instances);
    free(s->annots);
    free(s->clusters);
    if (ix != NULL)
        free(ix->slots);
    free(ix);
    free(s);
}

struct disc_snapshot *disc_topo_snapshot(struct disc_topo *t)
{
    struct disc_snapshot *s;
    struct raw r;

    pthread_mutex_lock(&t->lock);
    if (t->snap != NULL && t->snap->version == t->version) {
        s = t->snap;
        __atomic_add_fetch(&s->refs, 1, __ATOMIC_ACQ_REL);
        pthread_mutex_unlock(&t->lock);
        return s;
    }
    /* Only the copy holds the lock; ordering, clusters and indexes do not. */
    if (snapshot_copy(t, &r) != 0) {
        s = t->snap; /* out of memory: the last one is better than none */
        if (s != NULL)
            __atomic_add_fetch(&s->refs, 1, __ATOMIC_ACQ_REL);
        pthread_mutex_unlock(&t->lock);
        return s;
    }
    pthread_mutex_unlock(&t->lock);
    s = snapshot_finish(&r);
    if (s == NULL)
        return NULL;
    pthread_mutex_lock(&t->lock);
    if (t->snap == NULL || t->snap->version < s->version) { /* the newest is cached */
        if (t->snap != NULL)
            disc_snapshot_put(t->snap);
        t->snap = s;
        __atomic_add_fetch(&s->refs, 1, __ATOMIC_ACQ_REL);
    }
    pthread_mutex_unlock(&t->lock);
    return s;
}

struct disc_snapshot *disc_topo_snapshot_recent(struct disc_topo *t, int64_t max_age_ms)
{
    struct disc_snapshot *s;

    pthread_mutex_lock(&t->lock);
    s = t->snap;
    if (s != NULL && s->health_version == t->health_version &&
        orc_wall_ms() - s->taken_ms <= max_age_ms) {
        __atomic_add_fetch(&s->refs, 1, __ATOMIC_ACQ_REL);
        pthread_mutex_unlock(&t->lock);
        return s;
    }
    pthread_mutex_unlock(&t->lock);
    return disc_topo_snapshot(t);
}

void disc_snapshot_put(struct disc_snapshot *s)
{
    if (s != NULL && __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0)
        topo_snapshot_free(s);
}

int disc_snapshot_find(const struct disc_snapshot *s, const struct orc_key *key)
{
    return index_find(s->index, s->instances, key);
}

int disc_snapshot_cluster_of(const struct disc_snapshot *s, int i)
{
    for (size_t c = 0; i >= 0 && c < s->nclusters; c++)
        if ((size_t)i >= s->clusters[c].first &&
            (size_t)i < s->clusters[c].first + s->clusters[c].count)
            return (int)c;
    return -1;
}

int disc_snapshot_cluster(const struct disc_snapshot *s, const char *hint)
{
    struct orc_key k;
    int i;

    for (size_t c = 0; c < s->nclusters; c++)
        if (strcmp(s->clusters[c].name, hint) == 0)
            return (int)c;
    for (size_t c = 0; c < s->nclusters; c++)
        if (strcmp(s->clusters[c].alias, hint) == 0)
            return (int)c;
    if (orc_key_parse(hint, 3306, &k) != 0)
        return -1;
    i = disc_snapshot_find(s, &k);
    return disc_snapshot_cluster_of(s, i);
}

bool disc_snapshot_check_valid(const struct disc_snapshot *s, int i)
{
    const struct disc_instance *in = &s->instances[i];

    return in->last_checked_ms > 0 && in->last_seen_ms >= in->last_checked_ms;
}

bool disc_snapshot_up_to_date(const struct disc_snapshot *s, int i)
{
    const struct disc_instance *in = &s->instances[i];

    return in->last_checked_ms > 0 &&
           s->taken_ms - in->last_checked_ms <= s->poll_ms + s->reasonable_check_ms;
}

bool disc_snapshot_recently_checked(const struct disc_snapshot *s, int i)
{
    const struct disc_instance *in = &s->instances[i];

    return in->last_checked_ms > 0 && s->taken_ms - in->last_checked_ms <= 5 * s->poll_ms;
}
