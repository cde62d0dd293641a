/*
 * gtid: GTID sets of both flavors, parsed strictly, and the errant GTID
 * computation. Pure: strings in, strings out, no server.
 *
 * MySQL: "uuid[:tag]:a-b:c,uuid2:d" sets, normalised (sorted, merged) so
 * subtraction is a walk over two sorted interval lists.
 *
 * MariaDB: "D-S-N,..." lists (gtid_binlog_state, gtid_slave_pos). The binlog
 * state holds the last GTID of each (domain, server_id) pair the binary log
 * has seen; seq_no is shared by the whole domain.
 *
 * Everything that leaves this file is printed again from the parsed
 * numbers, never copied from the input: a string a server sent can reach a
 * SQL statement only through here.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "discovery/disc.h"

#define GTID_MAX_INPUT (4u << 20) /* 4 MiB of text: more is refused */

/* ---- numbers ---- */

/* Reads 1..19 digits at *p into *v (<= max); advances *p. */
static int read_u64(const char **p, uint64_t max, uint64_t *v)
{
    const char *s = *p;
    uint64_t x = 0;
    int n = 0;

    while (isdigit((unsigned char)*s)) {
        unsigned d = (unsigned)(*s - '0');
        if (++n > 19 || x > (max - d) / 10)
            return ORC_EINVAL;
        x = x * 10 + d;
        s++;
    }
    if (n == 0)
        return ORC_EINVAL;
    *p = s;
    *v = x;
    return 0;
}

static const char *skip_space(const char *s)
{
    while (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')
        s++;
    return s;
}

/* ======================================================================
 * MariaDB
 * ====================================================================== */

void disc_mgtid_list_release(struct disc_mgtid_list *l)
{
    free(l->v);
    memset(l, 0, sizeof(*l));
}

int disc_mgtid_add(struct disc_mgtid_list *l, const struct disc_mgtid *g)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 8;
        struct disc_mgtid *nv = realloc(l->v, nc * sizeof(*nv));
        if (nv == NULL)
            return ORC_ENOMEM;
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n++] = *g;
    return 0;
}

int disc_mgtid_parse(const char *s, struct disc_mgtid_list *out)
{
    const char *p = s ? skip_space(s) : "";
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (s != NULL && strlen(s) > GTID_MAX_INPUT)
        return ORC_EINVAL;
    while (rc == 0 && *p != '\0') {
        struct disc_mgtid g;
        uint64_t d, sid;
        if (read_u64(&p, UINT32_MAX, &d) != 0 || *p++ != '-' ||
            read_u64(&p, UINT32_MAX, &sid) != 0 || *p++ != '-' ||
            read_u64(&p, UINT64_MAX, &g.seq) != 0) {
            rc = ORC_EINVAL;
            break;
        }
        g.domain = (uint32_t)d;
        g.server_id = (uint32_t)sid;
        rc = disc_mgtid_add(out, &g);
        p = skip_space(p);
        if (rc == 0 && *p == ',') {
            p = skip_space(p + 1);
            if (*p == '\0')
                rc = ORC_EINVAL; /* a trailing comma */
        } else if (rc == 0 && *p != '\0') {
            rc = ORC_EINVAL;
        }
    }
    if (rc != 0)
        disc_mgtid_list_release(out);
    return rc;
}

int disc_mgtid_format(const struct disc_mgtid_list *l, struct orc_buf *out)
{
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < l->n; i++)
        rc = orc_buf_printf(out, "%s%u-%u-%llu", i ? "," : "", l->v[i].domain, l->v[i].server_id,
                            (unsigned long long)l->v[i].seq);
    if (rc == 0 && out->data == NULL)
        rc = orc_buf_puts(out, "");
    return rc;
}

/* The highest seq_no l holds for (domain, server_id), and whether any. */
static bool mgtid_pair_seq(const struct disc_mgtid_list *l,
                           uint32_t domain,
                           uint32_t server_id,
                           uint64_t *seq)
{
    bool found = false;

    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i].domain == domain && l->v[i].server_id == server_id &&
            (!found || l->v[i].seq > *seq)) {
            *seq = l->v[i].seq;
            found = true;
        }
    }
    return found;
}

uint64_t disc_mgtid_domain_max(const struct disc_mgtid_list *l, uint32_t domain)
{
    uint64_t m = 0;

    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].domain == domain && l->v[i].seq > m)
            m = l->v[i].seq;
    return m;
}

static bool id_in(const int64_t *ids, size_t n, uint32_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == (int64_t)id)
            return true;
    return false;
}

int disc_mgtid_errant(const char *replica_state,
                      const char *master_state,
                      const char *master_slave_pos,
                      const int64_t *exclude_ids,
                      size_t nexclude,
                      struct disc_mgtid_list *out)
{
    struct disc_mgtid_list r, m, sp;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = disc_mgtid_parse(replica_state, &r);
    if (rc != 0)
        return rc;
    if ((rc = disc_mgtid_parse(master_state, &m)) != 0) {
        disc_mgtid_list_release(&r);
        return rc;
    }
    if ((rc = disc_mgtid_parse(master_slave_pos, &sp)) != 0)
        goto done;
    /* What the master applied as a replica counts as held too (a master
     * without log_slave_updates has it only in gtid_slave_pos). */
    for (size_t i = 0; rc == 0 && i < sp.n; i++)
        rc = disc_mgtid_add(&m, &sp.v[i]);
    for (size_t i = 0; rc == 0 && i < r.n; i++) {
        const struct disc_mgtid *g = &r.v[i];
        uint64_t held = 0;
        if (id_in(exclude_ids, nexclude, g->server_id))
            continue;
        if (mgtid_pair_seq(&m, g->domain, g->server_id, &held) && held >= g->seq)
            continue;
        rc = disc_mgtid_add(out, g);
    }
done:
    if (rc != 0)
        disc_mgtid_list_release(out);
    disc_mgtid_list_release(&r);
    disc_mgtid_list_release(&m);
    disc_mgtid_list_release(&sp);
    return rc;
}

/* ======================================================================
 * MySQL
 * ====================================================================== */

void disc_ogtid_release(struct disc_ogtid_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->u[i].iv);
    free(s->u);
    memset(s, 0, sizeof(*s));
}

/* 8-4-4-4-12 hex digits, lowercased into out (37 bytes). */
static int read_uuid(const char **p, char *out)
{
    static const int groups[] = {8, 4, 4, 4, 12};
    const char *s = *p;
    size_t o = 0;

    for (int g = 0; g < 5; g++) {
        for (int k = 0; k < groups[g]; k++, s++) {
            if (!isxdigit((unsigned char)*s))
                return ORC_EINVAL;
            out[o++] = (char)tolower((unsigned char)*s);
        }
        if (g < 4) {
            if (*s++ != '-')
                return ORC_EINVAL;
            out[o++] = '-';
        }
    }
    out[o] = '\0';
    *p = s;
    return 0;
}

/* MySQL 8.4 tag: [a-z_][a-z0-9_]{0,31} (case-insensitive, stored lowercase). */
static int read_tag(const char **p, char *out, size_t n)
{
    const char *s = *p;
    size_t k = 0;

    if (!isalpha((unsigned char)*s) && *s != '_')
        return ORC_EINVAL;
    while (isalnum((unsigned char)*s) || *s == '_') {
        if (k + 1 >= n || k >= 32)
            return ORC_EINVAL;
        out[k++] = (char)tolower((unsigned char)*s++);
    }
    out[k] = '\0';
    *p = s;
    return 0;
}

static struct disc_ogtid_uuid *ogtid_entry(struct disc_ogtid_set *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->u[i].key, key) == 0)
            return &s->u[i];
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 4;
        struct disc_ogtid_uuid *nu = realloc(s->u, nc * sizeof(*nu));
        if (nu == NULL)
            return NULL;
        s->u = nu;
        s->cap = nc;
    }
    memset(&s->u[s->n], 0, sizeof(s->u[s->n]));
    orc_strlcpy(s->u[s->n].key, key, sizeof(s->u[s->n].key));
    return &s->u[s->n++];
}

static int iv_add(struct disc_ogtid_uuid *u, int64_t lo, int64_t hi)
{
    if (u->n == u->cap) {
        size_t nc = u->cap ? u->cap * 2 : 4;
        struct disc_ogtid_iv *nv = realloc(u->iv, nc * sizeof(*nv));
        if (nv == NULL)
            return ORC_ENOMEM;
        u->iv = nv;
        u->cap = nc;
    }
    u->iv[u->n].lo = lo;
    u->iv[u->n++].hi = hi;
    return 0;
}

static int cmp_iv(const void *a, const void *b)
{
    const struct disc_ogtid_iv *x = a, *y = b;

    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(((const struct disc_ogtid_uuid *)a)->key,
                  ((const struct disc_ogtid_uuid *)b)->key);
}

/* Sorts and merges intervals (adjacent ones too), drops empty entries. */
static void ogtid_normalize(struct disc_ogtid_set *s)
{
    size_t keep = 0;

    for (size_t i = 0; i < s->n; i++) {
        struct disc_ogtid_uuid *u = &s->u[i];
        size_t w = 0;
        if (u->n > 1)
            qsort(u->iv, u->n, sizeof(*u->iv), cmp_iv);
        for (size_t j = 0; j < u->n; j++) {
            if (w > 0 && u->iv[j].lo <= u->iv[w - 1].hi + 1) {
                if (u->iv[j].hi > u->iv[w - 1].hi)
                    u->iv[w - 1].hi = u->iv[j].hi;
            } else {
                u->iv[w++] = u->iv[j];
            }
        }
        u->n = w;
        if (w == 0) {
            free(u->iv);
            continue;
        }
        s->u[keep++] = *u;
    }
    s->n = keep;
    if (s->n > 1) /* qsort of a NULL array is undefined even with no element */
        qsort(s->u, s->n, sizeof(*s->u), cmp_key);
}

/* One "uuid(:tag|:a[-b])+" element. */
static int ogtid_element(const char **pp, struct disc_ogtid_set *out)
{
    const char *p = *pp;
    char uuid[DISC_UUID_MAX], key[DISC_GTID_KEY_MAX];
    struct disc_ogtid_uuid *u = NULL;
    int rc = read_uuid(&p, uuid), nparts = 0;

    if (rc != 0)
        return rc; /* uuid is not terminated then */
    orc_strlcpy(key, uuid, sizeof(key));
    while (rc == 0 && *p == ':') {
        uint64_t lo, hi;
        p++;
        if (!isdigit((unsigned char)*p)) { /* a tag applies to what follows */
            char tag[DISC_GTID_KEY_MAX - DISC_UUID_MAX];
            rc = read_tag(&p, tag, sizeof(tag));
            if (rc == 0 && snprintf(key, sizeof(key), "%.36s:%.32s", uuid, tag) < 0)
                rc = ORC_EINVAL;
            u = NULL;
            continue;
        }
        if ((rc = read_u64(&p, INT64_MAX - 1, &lo)) != 0 || lo == 0)
            return ORC_EINVAL;
        hi = lo;
        if (*p == '-' && ((p++, rc = read_u64(&p, INT64_MAX - 1, &hi)) != 0 || hi < lo))
            return ORC_EINVAL;
        if (u == NULL && (u = ogtid_entry(out, key)) == NULL)
            return ORC_ENOMEM;
        rc = iv_add(u, (int64_t)lo, (int64_t)hi);
        nparts++;
    }
    if (rc == 0 && nparts == 0)
        rc = ORC_EINVAL; /* "uuid" or "uuid:tag" alone */
    *pp = p;
    return rc;
}

int disc_ogtid_parse(const char *s, struct disc_ogtid_set *out)
{
    const char *p = s ? skip_space(s) : "";
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (s != NULL && strlen(s) > GTID_MAX_INPUT)
        return ORC_EINVAL;
    while (rc == 0 && *p != '\0') {
        rc = ogtid_element(&p, out);
        p = skip_space(p);
        if (rc == 0 && *p == ',') {
            p = skip_space(p + 1);
            if (*p == '\0')
                rc = ORC_EINVAL;
        } else if (rc == 0 && *p != '\0') {
            rc = ORC_EINVAL;
        }
    }
    if (rc != 0) {
        disc_ogtid_release(out);
        return rc;
    }
    ogtid_normalize(out);
    return 0;
}

int disc_ogtid_format(const struct disc_ogtid_set *s, struct orc_buf *out)
{
    int rc = orc_buf_puts(out, "");

    for (size_t i = 0; rc == 0 && i < s->n; i++) {
        rc = orc_buf_printf(out, "%s%s", i ? "," : "", s->u[i].key);
        for (size_t j = 0; rc == 0 && j < s->u[i].n; j++) {
            const struct disc_ogtid_iv *v = &s->u[i].iv[j];
            if (v->lo == v->hi)
                rc = orc_buf_printf(out, ":%lld", (long long)v->lo);
            else
                rc = orc_buf_printf(out, ":%lld-%lld", (long long)v->lo, (long long)v->hi);
        }
    }
    return rc;
}

/* Entries whose uuid (with any tag) is `uuid`. */
static bool key_has_uuid(const char *key, const char *uuid)
{
    size_t n = strlen(uuid);

    return n > 0 && strncasecmp(key, uuid, n) == 0 && (key[n] == '\0' || key[n] == ':');
}

void disc_ogtid_remove_uuid(struct disc_ogtid_set *s, const char *uuid)
{
    size_t keep = 0;

    for (size_t i = 0; i < s->n; i++) {
        if (key_has_uuid(s->u[i].key, uuid))
            free(s->u[i].iv);
        else
            s->u[keep++] = s->u[i];
    }
    s->n = keep;
}

/* a -= b for one uuid's sorted, merged intervals. */
static int iv_subtract(struct disc_ogtid_uuid *a, const struct disc_ogtid_uuid *b)
{
    struct disc_ogtid_uuid r;
    size_t j = 0;
    int rc = 0;

    memset(&r, 0, sizeof(r));
    for (size_t i = 0; rc == 0 && i < a->n; i++) {
        int64_t lo = a->iv[i].lo, hi = a->iv[i].hi;
        while (j < b->n && b->iv[j].hi < lo)
            j++;
        for (size_t k = j; rc == 0 && k < b->n && b->iv[k].lo <= hi && lo <= hi; k++) {
            if (b->iv[k].lo > lo)
                rc = iv_add(&r, lo, b->iv[k].lo - 1);
            if (b->iv[k].hi >= lo)
                lo = b->iv[k].hi + 1;
        }
        if (rc == 0 && lo <= hi)
            rc = iv_add(&r, lo, hi);
    }
    if (rc != 0) {
        free(r.iv);
        return rc;
    }
    free(a->iv);
    a->iv = r.iv;
    a->n = r.n;
    a->cap = r.cap;
    return 0;
}

int disc_ogtid_subtract(struct disc_ogtid_set *a, const struct disc_ogtid_set *b)
{
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < a->n; i++)
        for (size_t k = 0; rc == 0 && k < b->n; k++)
            if (strcmp(a->u[i].key, b->u[k].key) == 0)
                rc = iv_subtract(&a->u[i], &b->u[k]);
    if (rc == 0)
        ogtid_normalize(a);
    return rc;
}

int64_t disc_ogtid_count(const struct disc_ogtid_set *s)
{
    int64_t n = 0;

    for (size_t i = 0; i < s->n; i++)
        for (size_t j = 0; j < s->u[i].n; j++)
            n += s->u[i].iv[j].hi - s->u[i].iv[j].lo + 1;
    return n;
}

int disc_ogtid_errant(const char *executed,
                      const char *own_uuid,
                      const char *ancestry,
                      bool co_master,
                      const char *master_executed,
                      const char *master_uuid,
                      struct orc_buf *out)
{
    struct disc_ogtid_set mine, theirs;
    int rc = disc_ogtid_parse(executed, &mine);

    if (rc != 0)
        return rc;
    if ((rc = disc_ogtid_parse(master_executed, &theirs)) != 0) {
        disc_ogtid_release(&mine);
        return rc;
    }
    /* The ancestors' transactions came through the master: a replica read
     * after its master may hold more of them than that reading shows. */
    for (const char *a = ancestry ? ancestry : ""; *a != '\0';) {
        char u[DISC_UUID_MAX];
        size_t k = strcspn(a, ",");
        snprintf(u, sizeof(u), "%.*s", (int)(k < sizeof(u) ? k : sizeof(u) - 1), a);
        if (u[0] != '\0' && (co_master || strcasecmp(u, disc_str(own_uuid)) != 0))
            disc_ogtid_remove_uuid(&mine, u);
        a += k;
        if (*a == ',')
            a++;
    }
    if (co_master && own_uuid != NULL)
        disc_ogtid_remove_uuid(&mine, own_uuid);
    if (master_uuid != NULL)
        disc_ogtid_remove_uuid(&theirs, master_uuid);
    rc = disc_ogtid_subtract(&mine, &theirs);
    if (rc == 0)
        rc = disc_ogtid_format(&mine, out);
    disc_ogtid_release(&mine);
    disc_ogtid_release(&theirs);
    return rc;
}

/* ======================================================================
 * The errant check of one instance against its master
 * ====================================================================== */

/* ancestry_uuid: the master's ancestry plus its own uuid (orchestrator's
 * AncestryUUID; co-masters: the master's uuid and its own). */
static int set_ancestry_uuid(struct disc_instance *in, const struct disc_errant_master *m)
{
    struct orc_buf b = ORC_BUF_INIT;
    const char *up = m == NULL           ? ""
                     : m->master_is_self ? m->server_uuid
                                         : disc_str(m->ancestry_uuid);
    int rc = orc_buf_printf(&b, "%s,%s", up, in->server_uuid);
    char *s = orc_buf_detach(&b), *p = s, *e;

    if (rc != 0 || s == NULL) {
        free(s);
        return ORC_ENOMEM;
    }
    while (*p == ',')
        p++;
    e = p + strlen(p);
    while (e > p && e[-1] == ',')
        *--e = '\0';
    rc = disc_instance_set_str(&in->ancestry_uuid, p);
    free(s);
    return rc;
}

static void set_ancestry_ids(struct disc_instance *in, const struct disc_errant_master *m)
{
    in->ancestry_ids[0] = in->server_id;
    in->nancestry_ids = 1;
    if (m == NULL)
        return;
    if (m->master_is_self || m->nancestry_ids == 0) {
        in->ancestry_ids[in->nancestry_ids++] = m->server_id;
        return;
    }
    for (int i = 0; i < m->nancestry_ids && in->nancestry_ids < DISC_ANCESTRY_MAX; i++)
        in->ancestry_ids[in->nancestry_ids++] = m->ancestry_ids[i];
}

static int mariadb_errant(struct disc_instance *in,
                          const struct disc_errant_master *m,
                          struct orc_buf *out)
{
    int64_t exclude[DISC_ANCESTRY_MAX + 2];
    size_t n = 0;
    struct disc_mgtid_list errant;
    int rc;

    exclude[n++] = m->server_id;
    for (int i = 0; i < m->nancestry_ids && n < DISC_ANCESTRY_MAX; i++)
        if (m->ancestry_ids[i] != in->server_id || m->master_is_self)
            exclude[n++] = m->ancestry_ids[i];
    if (m->master_is_self) /* its co-master may not have applied its writes yet */
        exclude[n++] = in->server_id;
    rc = disc_mgtid_errant(in->executed_gtid_set, m->executed, m->slave_pos, exclude, n, &errant);
    if (rc == 0)
        rc = disc_mgtid_format(&errant, out);
    disc_mgtid_list_release(&errant);
    return rc;
}

int disc_gtid_errant(struct disc_instance *in, const struct disc_errant_master *m)
{
    struct orc_buf b = ORC_BUF_INIT;
    bool mysql = disc_version_is_mysql(&in->ver);
    int rc = 0;

    free(in->gtid_errant);
    in->gtid_errant = NULL;
    set_ancestry_ids(in, m);
    if (mysql && (rc = set_ancestry_uuid(in, m)) != 0)
        return rc;
    if (m == NULL || disc_str(in->executed_gtid_set)[0] == '\0' || disc_str(m->executed)[0] == '\0')
        return 0;
    if (mysql && disc_version_is_mysql(&m->ver) && in->supports_oracle_gtid)
        rc = disc_ogtid_errant(in->executed_gtid_set, in->server_uuid, in->ancestry_uuid,
                               m->master_is_self, m->executed, m->server_uuid, &b);
    else if (in->ver.flavor == DISC_FLAVOR_MARIADB && m->ver.flavor == DISC_FLAVOR_MARIADB)
        rc = mariadb_errant(in, m, &b);
    if (rc == 0)
        rc = disc_instance_set_str(&in->gtid_errant, orc_buf_str(&b));
    orc_buf_release(&b);
    return rc;
}
