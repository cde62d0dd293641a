/*
 * snap: immutable, reference-counted snapshots of the topology, with the
 * clusters computed: each instance's root master (the cluster name), its
 * replication depth, co-masters (a cycle of master links), and the alias.
 */
#include <regex.h>
#include <stdint.h>
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

static int index_build(struct index *ix, const struct disc_instance *const *in, size_t n)
{
    ix->size = 16;
    while (ix->size < n * 2)
        ix->size *= 2;
    ix->slots = calloc(ix->size, sizeof(int));
    if (ix->slots == NULL)
        return ORC_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        size_t b = hash_keyv(&in[i]->key) & (ix->size - 1);
        while (ix->slots[b] != 0)
            b = (b + 1) & (ix->size - 1);
        ix->slots[b] = (int)i + 1;
    }
    return 0;
}

static int index_find(const struct index *ix,
                      const struct disc_instance *const *in,
                      const struct orc_key *k)
{
    size_t b;

    if (ix == NULL || ix->slots == NULL)
        return -1;
    b = hash_keyv(k) & (ix->size - 1);
    while (ix->slots[b] != 0) {
        int i = ix->slots[b] - 1;
        if (orc_key_eq(&in[i]->key, k))
            return i;
        b = (b + 1) & (ix->size - 1);
    }
    return -1;
}

/* The root of a cycle of master links: the only writable member if there is
 * exactly one, else the smallest key. */
static int cycle_root(const struct disc_instance *const *in,
                      const int *path,
                      size_t from,
                      size_t to)
{
    int writable = -1, nwritable = 0, smallest = path[from];

    for (size_t k = from; k < to; k++) {
        int i = path[k];
        if (!in[i]->read_only) {
            writable = i;
            nwritable++;
        }
        if (orc_key_cmp(&in[i]->key, &in[smallest]->key) < 0)
            smallest = i;
    }
    return nwritable == 1 ? writable : smallest;
}

/* Assigns root[], depth[] and comaster[] to every instance following
 * master[] links. */
static int compute_roots(const struct disc_instance *const *in,
                         size_t n,
                         const int *master,
                         int *root,
                         int *depth,
                         bool *comaster)
{
    int *state = calloc(n ? n : 1, sizeof(int)); /* 0 new, 1 on path, 2 done */
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
                comaster[path[k]] = cl >= 2;
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

/* The entry's state a record must show (the rest of the record is the
 * probe's). */
struct overlay {
    int64_t last_checked_ms, last_seen_ms, last_attempted_ms;
    bool downtimed, candidate;
};

/* A record the snapshot had to correct: the entry's record (still
 * referenced, so its address cannot be reused meanwhile) and the corrected
 * copy, which the entry adopts if its record did not change since. */
struct clone {
    const struct disc_instance *orig;
    const struct disc_instance *copy;
};

/* What a snapshot is built from: taken under the topology lock, computed
 * without it (the operators' aliases are copied; the rest of t read here is
 * immutable options). */
struct raw {
    struct disc_topo *t;
    struct disc_snapshot *s;
    size_t n;
    const struct disc_instance **rec; /* n, one reference each (NULL once handed to s) */
    struct disc_annot *an;
    struct overlay *ov;
    struct alias_entry *aliases;
    size_t naliases;
    struct clone *clones;
    size_t nclones;
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

static int cmp_order(const void *a, const void *b, void *arg)
{
    const struct disc_instance *const *in = arg;
    const struct disc_instance *x = in[*(const int *)a], *y = in[*(const int *)b];
    int c = strcmp(x->cluster_name, y->cluster_name);

    if (c != 0)
        return c;
    if (x->replication_depth != y->replication_depth)
        return x->replication_depth - y->replication_depth;
    return orc_key_cmp(&x->key, &y->key);
}

/* Takes a reference to every entry's record (lock held). */
static void take_entries(struct disc_topo *t, struct raw *r)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct entry *e = t->all[i];
        topo_rec_get(e->inst);
        r->rec[i] = e->inst;
        r->an[i] = e->annot;
        r->ov[i] = (struct overlay){
            .last_checked_ms = e->last_checked_ms,
            .last_seen_ms = e->last_seen_ms,
            .last_attempted_ms = e->last_attempted_ms,
            .downtimed = e->annot.downtimed,
            .candidate = strcmp(e->annot.promotion_rule, "prefer") == 0 ||
                         strcmp(e->annot.promotion_rule, "must") == 0,
        };
    }
}

/* What the snapshot computed for record i (name: its cluster's). */
struct want {
    const char *name;
    const char *domain;
    int depth;
    bool comaster;
};

static bool matches(const struct disc_instance *in, const struct want *w, const struct overlay *o)
{
    return in->replication_depth == w->depth && in->is_co_master == w->comaster &&
           in->last_checked_ms == o->last_checked_ms && in->last_seen_ms == o->last_seen_ms &&
           in->last_attempted_check_ms == o->last_attempted_ms &&
           in->is_downtimed == o->downtimed && in->is_candidate == o->candidate &&
           strcmp(in->cluster_name, w->name) == 0 && strcmp(in->cluster_domain, w->domain) == 0;
}

/* Makes record i show w and o, with a corrected copy when it does not
 * (most records match: a probe's record starts with what the last snapshot
 * computed). */
static int settle(struct raw *r, size_t i, const struct want *w, const struct overlay *o)
{
    const struct disc_instance *orig = r->rec[i];
    struct disc_instance *copy;

    if (matches(orig, w, o))
        return 0;
    copy = topo_rec_dup(orig);
    if (copy == NULL)
        return ORC_ENOMEM;
    /* name and domain may point into orig: copied before orig can go */
    orc_strlcpy(copy->cluster_name, w->name, sizeof(copy->cluster_name));
    orc_strlcpy(copy->cluster_domain, w->domain, sizeof(copy->cluster_domain));
    copy->replication_depth = w->depth;
    copy->is_co_master = w->comaster;
    copy->last_checked_ms = o->last_checked_ms;
    copy->last_seen_ms = o->last_seen_ms;
    copy->last_attempted_check_ms = o->last_attempted_ms;
    copy->is_downtimed = o->downtimed;
    copy->is_candidate = o->candidate;
    r->clones[r->nclones++] = (struct clone){orig, copy}; /* keeps orig's reference */
    r->rec[i] = copy;
    return 0;
}

static int build_clusters(const struct raw *r, struct disc_snapshot *s)
{
    size_t nc = 0;

    s->clusters = calloc(s->n ? s->n : 1, sizeof(*s->clusters));
    if (s->clusters == NULL)
        return ORC_ENOMEM;
    for (size_t i = 0; i < s->n; i++) {
        struct disc_cluster *c;
        if (nc > 0 && strcmp(s->clusters[nc - 1].name, s->instances[i]->cluster_name) == 0) {
            s->clusters[nc - 1].count++;
            continue;
        }
        c = &s->clusters[nc++];
        orc_strlcpy(c->name, s->instances[i]->cluster_name, sizeof(c->name));
        c->first = i;
        c->count = 1;
        c->master = (int)i; /* sorted by depth: the first is the root */
        cluster_alias(r, c->name, s->instances[i], c->alias, sizeof(c->alias));
        orc_strlcpy(c->domain, s->instances[i]->cluster_domain, sizeof(c->domain));
    }
    s->nclusters = nc;
    return 0;
}

/* Orders the records by cluster, depth, key (pointers and annotations
 * move; the records stay where they are) and hands the arrays to s. */
static int place_sorted(struct raw *r, struct disc_snapshot *s)
{
    size_t n = s->n;
    int *perm = malloc((n ? n : 1) * sizeof(int));
    const struct disc_instance **rec = malloc((n ? n : 1) * sizeof(*rec));
    struct disc_annot *an = malloc((n ? n : 1) * sizeof(*an));

    if (perm == NULL || rec == NULL || an == NULL) {
        free(perm);
        free(rec);
        free(an);
        return ORC_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        perm[i] = (int)i;
    qsort_r(perm, n, sizeof(int), cmp_order, r->rec);
    for (size_t i = 0; i < n; i++) {
        rec[i] = r->rec[perm[i]];
        an[i] = r->an[perm[i]];
    }
    free(perm);
    free(r->rec);
    free(r->an);
    r->rec = NULL;
    r->an = NULL;
    s->instances = rec; /* the references move with the pointers */
    s->annots = an;
    return 0;
}

static int compute(struct raw *r, struct disc_snapshot *s)
{
    size_t n = s->n;
    int *master = calloc(n ? n : 1, sizeof(int) * 3);
    int *root = master + n, *depth = master + 2 * n;
    bool *comaster = calloc(n ? n : 1, sizeof(bool));
    struct index ix = {0, NULL};
    int rc = master == NULL || comaster == NULL ? ORC_ENOMEM : 0;

    r->clones = calloc(n ? n : 1, sizeof(*r->clones));
    if (r->clones == NULL)
        rc = ORC_ENOMEM;
    if (rc == 0)
        rc = index_build(&ix, r->rec, n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct orc_key *mk = &r->rec[i]->master_key;
        master[i] = mk->host[0] ? index_find(&ix, r->rec, mk) : -1;
        if (master[i] == (int)i)
            master[i] = -1;
    }
    if (rc == 0)
        rc = compute_roots(r->rec, n, master, root, depth, comaster);
    /* the roots first: their names and domains are their members' */
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char name[ORC_KEY_STRLEN];
        struct want w;
        if (root[i] != (int)i)
            continue;
        orc_key_str(&r->rec[i]->key, name, sizeof(name));
        w = (struct want){name, r->rec[i]->cluster_domain, 0, comaster[i]};
        rc = settle(r, i, &w, &r->ov[i]);
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct disc_instance *top = r->rec[root[i]];
        struct want w = {top->cluster_name, top->cluster_domain, depth[i], comaster[i]};
        if (root[i] != (int)i)
            rc = settle(r, i, &w, &r->ov[i]);
    }
    if (rc == 0)
        rc = place_sorted(r, s);
    if (rc == 0)
        rc = build_clusters(r, s);
    free(ix.slots);
    if (rc == 0) {
        struct index *fin = malloc(sizeof(*fin));
        if (fin == NULL || index_build(fin, s->instances, n) != 0) {
            free(fin);
            rc = ORC_ENOMEM;
        } else {
            s->index = fin;
        }
    }
    free(master);
    free(comaster);
    return rc;
}

/* Drops what r still holds: the references of records not handed to s,
 * the entries' records kept for the write-back, and s when not built. */
static void raw_release(struct raw *r, bool failed)
{
    for (size_t i = 0; r->rec != NULL && i < r->n; i++)
        topo_rec_put(r->rec[i]); /* the copies among them too */
    for (size_t i = 0; i < r->nclones; i++)
        topo_rec_put(r->clones[i].orig);
    free(r->rec);
    free(r->an);
    free(r->ov);
    free(r->aliases);
    free(r->clones);
    r->rec = NULL;
    r->an = NULL;
    r->ov = NULL;
    r->aliases = NULL;
    r->clones = NULL;
    r->nclones = 0;
    if (failed && r->s != NULL) {
        topo_snapshot_free(r->s);
        r->s = NULL;
    }
}

/* Takes what the snapshot is made of (lock held): the part that must be
 * consistent. Returns 0 or ORC_ENOMEM. */
static int snapshot_take(struct disc_topo *t, struct raw *r)
{
    size_t n = t->n;
    struct disc_snapshot *s = calloc(1, sizeof(*s));

    memset(r, 0, sizeof(*r));
    r->t = t;
    r->rec = calloc(n ? n : 1, sizeof(*r->rec));
    r->an = calloc(n ? n : 1, sizeof(*r->an));
    r->ov = calloc(n ? n : 1, sizeof(*r->ov));
    r->aliases = calloc(t->naliases ? t->naliases : 1, sizeof(*r->aliases));
    if (s == NULL || r->rec == NULL || r->an == NULL || r->ov == NULL || r->aliases == NULL) {
        free(s);
        raw_release(r, false);
        ORC_LOG_E("+snapshot-failed", "error=\"out of memory\" instances=%zu", n);
        return ORC_ENOMEM;
    }
    r->s = s;
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
    take_entries(t, r);
    r->n = n;
    return 0;
}

/* Orders, groups and indexes (no lock). NULL on ENOMEM (r released). */
static struct disc_snapshot *snapshot_finish(struct raw *r)
{
    struct disc_snapshot *s = r->s;

    if (compute(r, s) != 0) {
        ORC_LOG_E("+snapshot-failed", "error=\"out of memory\" instances=%zu", s->n);
        raw_release(r, true); /* the records not handed to s yet, then s */
        return NULL;
    }
    return s;
}

/* The entries whose record had to be corrected adopt the copy, unless a
 * probe replaced their record meanwhile (lock held), so the next snapshot
 * shares it as it is. */
static void adopt_copies(struct disc_topo *t, const struct raw *r)
{
    for (size_t i = 0; i < r->nclones; i++) {
        struct entry *e = topo_find(t, &r->clones[i].orig->key);
        if (e == NULL || e->inst != r->clones[i].orig)
            continue;
        topo_rec_get(r->clones[i].copy);
        topo_rec_put(e->inst); /* r still holds it: never the last reference here */
        e->inst = (struct disc_instance *)(uintptr_t)r->clones[i].copy;
    }
}

void topo_snapshot_free(struct disc_snapshot *s)
{
    struct index *ix = s->index;

    for (size_t i = 0; s->instances != NULL && i < s->n; i++)
        topo_rec_put(s->instances[i]);
    free((void *)(uintptr_t)s->instances);
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
    /* Only taking the references holds the lock; ordering, clusters and
     * indexes do not. */
    if (snapshot_take(t, &r) != 0) {
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
    adopt_copies(t, &r);
    if (t->snap == NULL || t->snap->version < s->version) { /* the newest is cached */
        if (t->snap != NULL)
            disc_snapshot_put(t->snap);
        t->snap = s;
        __atomic_add_fetch(&s->refs, 1, __ATOMIC_ACQ_REL);
    }
    pthread_mutex_unlock(&t->lock);
    raw_release(&r, false); /* outside the lock: may free replaced records */
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
    const struct disc_instance *in = s->instances[i];

    return in->last_checked_ms > 0 && in->last_seen_ms >= in->last_checked_ms;
}

bool disc_snapshot_up_to_date(const struct disc_snapshot *s, int i)
{
    const struct disc_instance *in = s->instances[i];

    return in->last_checked_ms > 0 &&
           s->taken_ms - in->last_checked_ms <= s->poll_ms + s->reasonable_check_ms;
}

bool disc_snapshot_recently_checked(const struct disc_snapshot *s, int i)
{
    const struct disc_instance *in = s->instances[i];

    return in->last_checked_ms > 0 && s->taken_ms - in->last_checked_ms <= 5 * s->poll_ms;
}
