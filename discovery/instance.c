/*
 * The instance record's lifecycle: init, release, deep copy, and the
 * growable key list. The record is flat apart from a handful of heap
 * strings and the replica list, so copying is a memcpy plus duplicating
 * those.
 */
#include "discovery/disc.h"
#include "discovery/topo_int.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Every heap string field, so release and copy cannot forget one. */
#define DISC_HEAP_FIELDS(X) \
    X(last_io_error)        \
    X(last_sql_error)       \
    X(executed_gtid_set)    \
    X(gtid_purged)          \
    X(retrieved_gtid_set)   \
    X(gtid_current_pos)     \
    X(gtid_slave_pos)       \
    X(gtid_binlog_pos)      \
    X(gtid_io_pos)          \
    X(gtid_errant)          \
    X(ancestry_uuid)

void disc_instance_init(struct disc_instance *in)
{
    memset(in, 0, sizeof(*in));
    in->io_state = DISC_THREAD_NONE;
    in->sql_state = DISC_THREAD_NONE;
    in->relay_coords.type = DISC_COORDS_RELAYLOG;
}

void disc_instance_release(struct disc_instance *in)
{
#define X(f) free(in->f);
    DISC_HEAP_FIELDS(X)
#undef X
    disc_keylist_release(&in->replicas);
    disc_instance_init(in);
}

int disc_instance_copy(struct disc_instance *dst, const struct disc_instance *src)
{
    if (dst == src)
        return 0;
    disc_instance_release(dst);
    memcpy(dst, src, sizeof(*dst));
#define X(f) dst->f = NULL;
    DISC_HEAP_FIELDS(X)
#undef X
    memset(&dst->replicas, 0, sizeof(dst->replicas));
#define X(f)                                                 \
    if (src->f != NULL && (dst->f = strdup(src->f)) == NULL) \
        goto nomem;
    DISC_HEAP_FIELDS(X)
#undef X
    if (disc_keylist_copy(&dst->replicas, &src->replicas) != 0)
        goto nomem;
    return 0;
nomem:
    disc_instance_release(dst);
    return ORC_ENOMEM;
}

int disc_instance_set_str(char **field, const char *s)
{
    char *copy = NULL;

    if (s != NULL && *s != '\0') {
        copy = strdup(s);
        if (copy == NULL)
            return ORC_ENOMEM;
    }
    free(*field);
    *field = copy;
    return 0;
}

const char *disc_str(const char *s)
{
    return s != NULL ? s : "";
}

bool disc_instance_replicating(const struct disc_instance *in)
{
    return in->io_state == DISC_THREAD_RUNNING && in->sql_state == DISC_THREAD_RUNNING;
}

bool disc_instance_is_replica(const struct disc_instance *in)
{
    return in->io_state != DISC_THREAD_NONE || in->sql_state != DISC_THREAD_NONE;
}

int disc_keylist_add(struct disc_keylist *l, const struct orc_key *k)
{
    if (disc_keylist_contains(l, k))
        return 0;
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        struct orc_key *p = realloc(l->keys, cap * sizeof(*p));

        if (p == NULL)
            return ORC_ENOMEM;
        l->keys = p;
        l->cap = cap;
    }
    l->keys[l->len++] = *k;
    return 0;
}

bool disc_keylist_contains(const struct disc_keylist *l, const struct orc_key *k)
{
    for (size_t i = 0; i < l->len; i++) {
        if (orc_key_eq(&l->keys[i], k))
            return true;
    }
    return false;
}

void disc_keylist_release(struct disc_keylist *l)
{
    free(l->keys);
    l->keys = NULL;
    l->len = 0;
    l->cap = 0;
}

int disc_keylist_copy(struct disc_keylist *dst, const struct disc_keylist *src)
{
    struct orc_key *p = NULL;

    if (src->len > 0) {
        p = malloc(src->len * sizeof(*p));
        if (p == NULL)
            return ORC_ENOMEM;
        memcpy(p, src->keys, src->len * sizeof(*p));
    }
    disc_keylist_release(dst);
    dst->keys = p;
    dst->len = src->len;
    dst->cap = src->len;
    return 0;
}

/* ---- shared records (topo_int.h) ---- */

struct rec {
    int refs;
    struct disc_instance in;
};

static struct rec *rec_of(const struct disc_instance *in)
{
    return (struct rec *)(void *)((char *)(uintptr_t)in - offsetof(struct rec, in));
}

struct disc_instance *topo_rec_new(void)
{
    struct rec *r = malloc(sizeof(*r));

    if (r == NULL)
        return NULL;
    r->refs = 1;
    disc_instance_init(&r->in);
    return &r->in;
}

struct disc_instance *topo_rec_dup(const struct disc_instance *src)
{
    struct disc_instance *in = topo_rec_new();

    if (in != NULL && disc_instance_copy(in, src) != 0) {
        topo_rec_put(in);
        return NULL;
    }
    return in;
}

void topo_rec_get(const struct disc_instance *in)
{
    __atomic_add_fetch(&rec_of(in)->refs, 1, __ATOMIC_RELAXED);
}

void topo_rec_put(const struct disc_instance *in)
{
    struct rec *r;

    if (in == NULL)
        return;
    r = rec_of(in);
    if (__atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        disc_instance_release(&r->in);
        free(r);
    }
}

bool topo_rec_shared(const struct disc_instance *in)
{
    return __atomic_load_n(&rec_of(in)->refs, __ATOMIC_ACQUIRE) > 1;
}
