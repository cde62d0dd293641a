/*
 * promote: ranks the replicas of a dead master and picks the one to promote.
 * Pure: works on readings taken by the failover, never talks to a server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "recovery/ops.h"
#include "recovery/promote.h"

int rec_rule_rank(const char *rule)
{
    static const char *const order[] = {"must", "prefer", "neutral", "prefer_not", "must_not"};

    if (rule == NULL || *rule == '\0')
        return 2;
    for (int i = 0; i < 5; i++)
        if (strcmp(rule, order[i]) == 0)
            return i;
    return 2;
}

static int format_rank(const char *f)
{
    if (strcasecmp(f, "STATEMENT") == 0)
        return 0;
    if (strcasecmp(f, "MIXED") == 0)
        return 1;
    return 2;
}

struct sort_ctx {
    const struct rec_replica *r;
    const struct disc_instance *failed;
};

static int compare(const struct sort_ctx *c, int i, int j)
{
    const struct rec_replica *a = &c->r[i], *b = &c->r[j];
    int x;

    if (a->read_ok != b->read_ok)
        return a->read_ok ? -1 : 1;
    x = rec_coords_cmp(&b->in.exec_coords, &a->in.exec_coords); /* most advanced first */
    if (x != 0)
        return x;
    if (a->in.log_replica_updates != b->in.log_replica_updates)
        return a->in.log_replica_updates ? -1 : 1;
    if (a->in.ver.major != b->in.ver.major)
        return a->in.ver.major - b->in.ver.major;
    x = format_rank(a->in.binlog_format) - format_rank(b->in.binlog_format);
    if (x != 0)
        return x;
    {
        bool da = strcmp(a->in.data_center, c->failed->data_center) == 0;
        bool db = strcmp(b->in.data_center, c->failed->data_center) == 0;
        if (da != db)
            return da ? -1 : 1;
    }
    {
        bool ea = disc_str(a->in.gtid_errant)[0] != '\0';
        bool eb = disc_str(b->in.gtid_errant)[0] != '\0';
        if (ea != eb)
            return ea ? 1 : -1;
    }
    x = rec_rule_rank(a->rule) - rec_rule_rank(b->rule);
    if (x != 0)
        return x;
    return orc_key_cmp(&a->in.key, &b->in.key);
}

void rec_promote_sort(const struct rec_replica *r,
                      size_t n,
                      const struct disc_instance *failed,
                      int *order)
{
    struct sort_ctx c = {r, failed};

    for (size_t i = 0; i < n; i++)
        order[i] = (int)i;
    /* insertion sort: n is the number of replicas of one master */
    for (size_t i = 1; i < n; i++) {
        int v = order[i];
        size_t j = i;
        while (j > 0 && compare(&c, v, order[j - 1]) < 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = v;
    }
}

static bool ignored(const struct rec_promote_options *o, const struct orc_key *k)
{
    char ks[ORC_KEY_STRLEN];

    orc_key_str(k, ks, sizeof(ks));
    for (size_t i = 0; i < o->nignore; i++)
        if (regexec(&o->ignore[i], ks, 0, NULL, 0) == 0)
            return true;
    return false;
}

/* The value most replicas have (major version or binlog format rank). */
static int most_common(const struct rec_replica *r, size_t n, bool version)
{
    int best = -1, best_count = 0;

    for (size_t i = 0; i < n; i++) {
        int v = version ? r[i].in.ver.major : format_rank(r[i].in.binlog_format), count = 0;
        for (size_t j = 0; j < n; j++)
            count += (version ? r[j].in.ver.major : format_rank(r[j].in.binlog_format)) == v;
        if (r[i].read_ok && count > best_count) {
            best = v;
            best_count = count;
        }
    }
    return best;
}

static bool has_errant(const struct rec_replica *x)
{
    return disc_str(x->in.gtid_errant)[0] != '\0';
}

static void judge(struct rec_replica *x,
                  const struct disc_instance *failed,
                  const struct rec_promote_options *o,
                  int common_major,
                  int common_format)
{
    char *w = x->why_not;
    size_t wl = sizeof(x->why_not);

    x->banned = strcmp(disc_str(x->rule), "must_not") == 0 || ignored(o, &x->in.key);
    w[0] = '\0';
    if (!x->read_ok)
        orc_errf(w, wl, "could not be read");
    else if (x->banned)
        orc_errf(w, wl, "promotion rule must_not or PromotionIgnoreHostnameFilters");
    else if (!x->relay_applied)
        orc_errf(w, wl, "relay log not applied (SQL thread behind or stopped)");
    else if (!x->in.log_bin || !x->in.log_replica_updates)
        orc_errf(w, wl, "no binary log or log_slave_updates off");
    else if (x->in.ver.major < common_major)
        orc_errf(w, wl, "major version below the replicas' most common");
    else if (format_rank(x->in.binlog_format) < common_format)
        orc_errf(w, wl, "binlog format below the replicas' most common");
    else if (o->prevent_cross_dc && strcmp(x->in.data_center, failed->data_center) != 0)
        orc_errf(w, wl, "other data center (PreventCrossDataCenterMasterFailover)");
    else if (o->prevent_cross_region && strcmp(x->in.region, failed->region) != 0)
        orc_errf(w, wl, "other region (PreventCrossRegionMasterFailover)");
}

int rec_promote_choose(struct rec_replica *r,
                       size_t n,
                       const struct disc_instance *failed,
                       const struct rec_promote_options *o,
                       int *most_advanced,
                       char *errmsg,
                       size_t len)
{
    int *order = calloc(n ? n : 1, sizeof(int));
    int common_major = most_common(r, n, true), common_format = most_common(r, n, false);
    int chosen = -1;

    *most_advanced = -1;
    if (order == NULL)
        return -1;
    rec_promote_sort(r, n, failed, order);
    if (n > 0 && r[order[0]].read_ok)
        *most_advanced = order[0];
    for (size_t k = 0; k < n; k++) {
        struct rec_replica *x = &r[order[k]];
        judge(x, failed, o, common_major, common_format);
        if (o->want != NULL && !orc_key_eq(o->want, &x->in.key) && x->why_not[0] == '\0')
            orc_errf(x->why_not, sizeof(x->why_not), "not the requested candidate");
        if (chosen < 0 && x->why_not[0] == '\0' && !has_errant(x))
            chosen = order[k];
    }
    /* A replica with errant GTIDs is taken only when no clean one may be
     * promoted: promoted, it would serve its errant transactions to the
     * others (orchestrator ranks it after the clean ones). */
    for (size_t k = 0; k < n; k++) {
        struct rec_replica *x = &r[order[k]];
        if (x->why_not[0] != '\0' || !has_errant(x))
            continue;
        if (chosen < 0)
            chosen = order[k];
        else
            orc_errf(x->why_not, sizeof(x->why_not),
                     "errant GTID %.100s (a clean replica is chosen)", x->in.gtid_errant);
    }
    if (chosen < 0) {
        if (o->want != NULL)
            orc_errf(errmsg, len, "requested candidate %s:%d cannot be promoted", o->want->host,
                     o->want->port);
        else
            orc_errf(errmsg, len, "no replica can be promoted (%zu replicas)", n);
        for (size_t i = 0; i < n; i++)
            if (o->want == NULL || orc_key_eq(o->want, &r[i].in.key))
                orc_errprefix(errmsg, len, "%s:%d: %s", r[i].in.key.host, r[i].in.key.port,
                              r[i].why_not);
    }
    free(order);
    return chosen;
}

int rec_promote_check_lag(const struct orc_key *k,
                          const struct disc_nullint *lag,
                          int64_t minutes,
                          char *errmsg,
                          size_t len)
{
    if (minutes <= 0 || !lag->valid || lag->value < minutes * 60)
        return 0;
    orc_errf(errmsg, len,
             "promotion of %s:%d refused: its lag is %lld s and FailMasterPromotionOnLagMinutes "
             "is %lld",
             k->host, k->port, (long long)lag->value, (long long)minutes);
    return ORC_ESTATE;
}

bool rec_promote_co_master_must(bool must_config, bool other_read_only)
{
    return must_config || !other_read_only;
}

int rec_promote_detached_key(const struct orc_key *master, struct orc_key *out)
{
    memset(out, 0, sizeof(*out));
    out->port = master->port;
    if (strncmp(master->host, "//", 2) == 0) {
        orc_strlcpy(out->host, master->host, sizeof(out->host)); /* detached already */
        return 0;
    }
    if (snprintf(out->host, sizeof(out->host), "//%s", master->host) >= (int)sizeof(out->host))
        return ORC_EINVAL;
    return 0;
}
