/*
 * analysis: orchestrator's failure analysis over a topology snapshot.
 *
 * Each instance M is grouped with the instances whose master key names it
 * (its replicas R). From M and the R we take orchestrator's counts (valid,
 * replicating, failing to connect, lagging, logging ...), then the first rule
 * of the reference's table that matches gives the code; structure warnings,
 * downtime and the filters follow. Pure: nothing here reads a clock or keeps
 * state, except struct rec_stale, which the caller feeds.
 */
#include <pthread.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "recovery/rec.h"

/* ---- codes ---- */

struct code_info {
    const char *name;
    const char *description;
    bool actionable;
};

static const struct code_info codes[REC_CODE_COUNT_] = {
    [REC_NO_PROBLEM] = {"NoProblem", "", false},
    [REC_DEAD_MASTER_WITHOUT_REPLICAS] = {"DeadMasterWithoutReplicas",
                                          "Master cannot be reached by orchestrator and has no "
                                          "replica",
                                          false},
    [REC_DEAD_MASTER] = {"DeadMaster",
                         "Master cannot be reached by orchestrator and none of its replicas is "
                         "replicating",
                         true},
    [REC_DEAD_MASTER_AND_REPLICAS] = {"DeadMasterAndReplicas",
                                      "Master cannot be reached by orchestrator and none of its "
                                      "replicas is replicating",
                                      false},
    [REC_DEAD_MASTER_AND_SOME_REPLICAS] = {"DeadMasterAndSomeReplicas",
                                           "Master cannot be reached by orchestrator; some of its "
                                           "replicas are unreachable and none of its reachable "
                                           "replicas is replicating",
                                           true},
    [REC_UNREACHABLE_MASTER_WITH_LAGGING_REPLICAS] = {"UnreachableMasterWithLaggingReplicas",
                                                      "Master cannot be reached by orchestrator "
                                                      "and all of its replicas are lagging",
                                                      false},
    [REC_UNREACHABLE_MASTER] = {"UnreachableMaster",
                                "Master cannot be reached by orchestrator but it has replicating "
                                "replicas; possibly a network/host issue",
                                false},
    [REC_LOCKED_SEMI_SYNC_MASTER] = {"LockedSemiSyncMaster",
                                     "Semi sync master is locked since it doesn't get enough "
                                     "replica acknowledgements",
                                     true},
    [REC_LOCKED_SEMI_SYNC_MASTER_HYPOTHESIS] = {"LockedSemiSyncMasterHypothesis",
                                                "Semi sync master seems to be locked, more "
                                                "samplings needed to validate",
                                                false},
    [REC_MASTER_WITH_TOO_MANY_SEMI_SYNC_REPLICAS] = {"MasterWithTooManySemiSyncReplicas",
                                                     "Semi sync master has more semi sync replicas "
                                                     "than configured",
                                                     true},
    [REC_NO_WRITEABLE_MASTER] = {"NoWriteableMasterStructureWarning",
                                 "Master with replicas is read_only", true},
    [REC_MASTER_SINGLE_REPLICA_NOT_REPLICATING] = {"MasterSingleReplicaNotReplicating",
                                                   "Master is reachable but its single replica is "
                                                   "not replicating",
                                                   false},
    [REC_MASTER_SINGLE_REPLICA_DEAD] = {"MasterSingleReplicaDead",
                                        "Master is reachable but its single replica is dead",
                                        false},
    [REC_ALL_MASTER_REPLICAS_NOT_REPLICATING] = {"AllMasterReplicasNotReplicating",
                                                 "Master is reachable but none of its replicas is "
                                                 "replicating",
                                                 false},
    [REC_ALL_MASTER_REPLICAS_NOT_REPLICATING_OR_DEAD] = {"AllMasterReplicasNotReplicatingOrDead",
                                                         "Master is reachable but none of its "
                                                         "replicas is replicating",
                                                         false},
    [REC_DEAD_CO_MASTER] = {"DeadCoMaster",
                            "Co-master cannot be reached by orchestrator and none of its replicas "
                            "is replicating",
                            true},
    [REC_DEAD_CO_MASTER_AND_SOME_REPLICAS] = {"DeadCoMasterAndSomeReplicas",
                                              "Co-master cannot be reached by orchestrator; some "
                                              "of its replicas are unreachable and none of its "
                                              "reachable replicas is replicating",
                                              true},
    [REC_UNREACHABLE_CO_MASTER] = {"UnreachableCoMaster",
                                   "Co-master cannot be reached by orchestrator but it has "
                                   "replicating replicas; possibly a network/host issue",
                                   false},
    [REC_ALL_CO_MASTER_REPLICAS_NOT_REPLICATING] = {"AllCoMasterReplicasNotReplicating",
                                                    "Co-master is reachable but none of its "
                                                    "replicas is replicating",
                                                    false},
    [REC_DEAD_IM_WITH_SINGLE_REPLICA_FAILING_TO_CONNECT] =
        {"DeadIntermediateMasterWithSingleReplicaFailingToConnect",
         "Intermediate master cannot be reached by orchestrator and its (single) replica is "
         "failing to connect",
         true},
    [REC_DEAD_IM_WITH_SINGLE_REPLICA] = {"DeadIntermediateMasterWithSingleReplica",
                                         "Intermediate master cannot be reached by orchestrator "
                                         "and its (single) replica is not replicating",
                                         false},
    [REC_DEAD_IM] = {"DeadIntermediateMaster",
                     "Intermediate master cannot be reached by orchestrator and none of its "
                     "replicas is replicating",
                     true},
    [REC_DEAD_IM_AND_SOME_REPLICAS] = {"DeadIntermediateMasterAndSomeReplicas",
                                       "Intermediate master cannot be reached by orchestrator; "
                                       "some of its replicas are unreachable and none of its "
                                       "reachable replicas is replicating",
                                       true},
    [REC_DEAD_IM_AND_REPLICAS] = {"DeadIntermediateMasterAndReplicas",
                                  "Intermediate master cannot be reached by orchestrator and all "
                                  "of its replicas are unreachable",
                                  false},
    [REC_UNREACHABLE_IM_WITH_LAGGING_REPLICAS] =
        {"UnreachableIntermediateMasterWithLaggingReplicas",
         "Intermediate master cannot be reached by "
         "orchestrator and all of its replicas are "
         "lagging",
         false},
    [REC_UNREACHABLE_IM] = {"UnreachableIntermediateMaster",
                            "Intermediate master cannot be reached by orchestrator but it has "
                            "replicating replicas; possibly a network/host issue",
                            false},
    [REC_ALL_IM_REPLICAS_FAILING_TO_CONNECT_OR_DEAD] =
        {"AllIntermediateMasterReplicasFailingToConnectOrDead",
         "Intermediate master is reachable but all of its replicas are failing to connect", true},
    [REC_ALL_IM_REPLICAS_NOT_REPLICATING] = {"AllIntermediateMasterReplicasNotReplicating",
                                             "Intermediate master is reachable but none of its "
                                             "replicas is replicating",
                                             false},
    [REC_FIRST_TIER_REPLICA_FAILING_TO_CONNECT] = {"FirstTierReplicaFailingToConnectToMaster",
                                                   "1st tier replica (directly replicating from "
                                                   "topology master) is unable to connect to the "
                                                   "master",
                                                   false},
};

static const char *const structure_names[REC_SW_COUNT_] = {
    [REC_SW_NO_LOGGING_REPLICAS] = "NoLoggingReplicasStructureWarning",
    [REC_SW_NO_FAILOVER_SUPPORT] = "NoFailoverSupportStructureWarning",
    [REC_SW_STATEMENT_AND_MIXED_LOGGING] = "StatementAndMixedLoggingReplicasStructureWarning",
    [REC_SW_STATEMENT_AND_ROW_LOGGING] = "StatementAndRowLoggingReplicasStructureWarning",
    [REC_SW_MIXED_AND_ROW_LOGGING] = "MixedAndRowLoggingReplicasStructureWarning",
    [REC_SW_MULTIPLE_MAJOR_VERSIONS_LOGGING] =
        "MultipleMajorVersionsLoggingReplicasStructureWarning",
    [REC_SW_DIFFERENT_GTID_MODES] = "DifferentGTIDModesStructureWarning",
    [REC_SW_ERRANT_GTID] = "ErrantGTIDStructureWarning",
    [REC_SW_NO_WRITEABLE_MASTER] = "NoWriteableMasterStructureWarning",
    [REC_SW_NOT_ENOUGH_VALID_SEMI_SYNC_REPLICAS] = "NotEnoughValidSemiSyncReplicasStructureWarning",
};

const char *rec_code_name(enum rec_code c)
{
    return ((unsigned)c < REC_CODE_COUNT_) ? codes[c].name : "NoProblem";
}

int rec_code_from_name(const char *name)
{
    for (int c = 0; name != NULL && c < REC_CODE_COUNT_; c++)
        if (strcmp(codes[c].name, name) == 0)
            return c;
    return -1;
}

bool rec_code_actionable(enum rec_code c)
{
    return (unsigned)c < REC_CODE_COUNT_ && codes[c].actionable;
}

const char *rec_structure_name(int sw)
{
    return (sw >= 0 && sw < REC_SW_COUNT_) ? structure_names[sw] : NULL;
}

/* ---- stale binlog coordinates ---- */

struct stale_entry {
    struct orc_key key;
    struct disc_coords coords;
    int64_t first_seen_ms;
    int64_t last_seen_ms; /* the last observation, for expiry */
};

struct rec_stale {
    pthread_mutex_t lock;
    struct stale_entry *v;
    size_t n, cap;
};

struct rec_stale *rec_stale_new(void)
{
    struct rec_stale *st = calloc(1, sizeof(*st));

    if (st != NULL)
        pthread_mutex_init(&st->lock, NULL);
    return st;
}

void rec_stale_free(struct rec_stale *st)
{
    if (st == NULL)
        return;
    pthread_mutex_destroy(&st->lock);
    free(st->v);
    free(st);
}

static bool coords_eq(const struct disc_coords *a, const struct disc_coords *b)
{
    return a->pos == b->pos && strcmp(a->file, b->file) == 0;
}

static struct stale_entry *stale_find(const struct rec_stale *st, const struct orc_key *k)
{
    for (size_t i = 0; i < st->n; i++)
        if (orc_key_eq(&st->v[i].key, k))
            return &st->v[i];
    return NULL;
}

int rec_stale_observe(struct rec_stale *st,
                      const struct orc_key *k,
                      const struct disc_coords *c,
                      int64_t now_ms)
{
    struct stale_entry *e;
    int rc = 0;

    pthread_mutex_lock(&st->lock);
    e = stale_find(st, k);
    if (e == NULL && st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 8;
        struct stale_entry *v = realloc(st->v, cap * sizeof(*v));
        if (v == NULL) {
            rc = ORC_ENOMEM;
            goto out;
        }
        st->v = v;
        st->cap = cap;
    }
    if (e == NULL) {
        e = &st->v[st->n++];
        e->key = *k;
    } else if (coords_eq(&e->coords, c)) {
        e->last_seen_ms = now_ms;
        goto out; /* unchanged: keep the first-seen time */
    }
    e->coords = *c;
    e->first_seen_ms = e->last_seen_ms = now_ms;
out:
    pthread_mutex_unlock(&st->lock);
    return rc;
}

bool rec_stale_is_stale(struct rec_stale *st,
                        const struct orc_key *k,
                        const struct disc_coords *c,
                        int64_t min_age_ms,
                        int64_t now_ms)
{
    const struct stale_entry *e;
    bool stale = false;

    pthread_mutex_lock(&st->lock);
    e = stale_find(st, k);
    if (e != NULL && coords_eq(&e->coords, c))
        stale = e->first_seen_ms < now_ms - min_age_ms;
    pthread_mutex_unlock(&st->lock);
    return stale;
}

void rec_stale_expire(struct rec_stale *st, int64_t before_ms)
{
    size_t j = 0;

    pthread_mutex_lock(&st->lock);
    for (size_t i = 0; i < st->n; i++)
        if (st->v[i].last_seen_ms >= before_ms)
            st->v[j++] = st->v[i];
    st->n = j;
    pthread_mutex_unlock(&st->lock);
}

/* ---- filters ---- */

enum filter_kind { F_REGEX, F_ALL, F_ALIAS_EXACT, F_ALIAS_REGEX };

struct rec_filter {
    char *text;
    enum filter_kind kind;
    regex_t re;
    bool compiled;
};

struct rec_filters {
    struct rec_filter *v;
    size_t n;
};

static void filters_free(struct rec_filters *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->n; i++) {
        if (f->v[i].compiled)
            regfree(&f->v[i].re);
        free(f->v[i].text);
    }
    free(f->v);
    free(f);
}

/* Cluster filters know "*", "alias=" and "alias~="; host filters are regexes only. */
static void filter_compile(struct rec_filter *f, bool cluster)
{
    const char *re = f->text;

    f->kind = F_REGEX;
    if (cluster && strcmp(f->text, "*") == 0) {
        f->kind = F_ALL;
        return;
    }
    if (cluster && strncmp(f->text, "alias=", 6) == 0) {
        f->kind = F_ALIAS_EXACT;
        return;
    }
    if (cluster && strncmp(f->text, "alias~=", 7) == 0) {
        f->kind = F_ALIAS_REGEX;
        re = f->text + 7;
    }
    f->compiled = regcomp(&f->re, re, REG_EXTENDED | REG_NOSUB) == 0;
    if (!f->compiled)
        ORC_LOG_W("+analysis-bad-filter", "filter=\"%s\" error=\"invalid regular expression\"",
                  f->text);
}

int rec_analysis_options_set_filters(struct rec_analysis_options *o,
                                     enum rec_filter_list which,
                                     const char *const *patterns,
                                     size_t n)
{
    struct rec_filters *f = calloc(1, sizeof(*f));

    if (f == NULL || (n > 0 && (f->v = calloc(n, sizeof(*f->v))) == NULL)) {
        free(f);
        return ORC_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (patterns[i] == NULL || patterns[i][0] == '\0')
            continue;
        f->v[f->n].text = orc_strdup(patterns[i]);
        if (f->v[f->n].text == NULL) {
            filters_free(f);
            return ORC_ENOMEM;
        }
        filter_compile(&f->v[f->n], which != REC_FILTER_IGNORE_HOSTS);
        f->n++;
    }
    filters_free(o->filters[which]);
    o->filters[which] = f;
    return 0;
}

static bool filter_re(const struct rec_filter *f, const char *s)
{
    return f->compiled && regexec(&f->re, s, 0, NULL, 0) == 0;
}

bool rec_cluster_filter_match(const struct rec_analysis_options *o,
                              enum rec_filter_list which,
                              const char *name,
                              const char *alias)
{
    const struct rec_filters *fl = o->filters[which];

    for (size_t i = 0; fl != NULL && i < fl->n; i++) {
        const struct rec_filter *f = &fl->v[i];
        if (f->kind == F_ALL || strcmp(f->text, name) == 0 ||
            (*alias && strcmp(f->text, alias) == 0))
            return true;
        if (f->kind == F_ALIAS_EXACT && *alias && strcmp(f->text + 6, alias) == 0)
            return true;
        if (f->kind == F_ALIAS_REGEX && *alias && filter_re(f, alias))
            return true;
        if (f->kind == F_REGEX && filter_re(f, name))
            return true;
    }
    return false;
}

static bool host_ignored(const struct rec_analysis_options *o, const char *host)
{
    const struct rec_filters *fl = o->filters[REC_FILTER_IGNORE_HOSTS];

    for (size_t i = 0; fl != NULL && i < fl->n; i++)
        if (filter_re(&fl->v[i], host))
            return true;
    return false;
}

/* ---- options ---- */

void rec_analysis_options_init(struct rec_analysis_options *o)
{
    memset(o, 0, sizeof(*o));
    o->reasonable_lag_s = 10;
    o->reduce = true;
    o->include_downtimed = true;
}

void rec_analysis_options_release(struct rec_analysis_options *o)
{
    for (size_t i = 0; i < ORC_ARRAY_LEN(o->filters); i++) {
        filters_free(o->filters[i]);
        o->filters[i] = NULL;
    }
}

int rec_analysis_options_from_config(struct rec_analysis_options *o,
                                     const struct orc_config *cfg,
                                     char *errmsg,
                                     size_t len)
{
    const struct orc_strlist *lists[3] = {&cfg->RecoveryIgnoreHostnameFilters,
                                          &cfg->RecoverMasterClusterFilters,
                                          &cfg->RecoverIntermediateMasterClusterFilters};

    rec_analysis_options_init(o);
    o->reasonable_lag_s = cfg->ReasonableReplicationLagSeconds;
    o->reasonable_locked_semi_sync_s = cfg->ReasonableLockedSemiSyncMasterSeconds;
    o->reduce = cfg->ReduceReplicationAnalysisCount;
    o->enforce_exact_semi_sync = cfg->EnforceExactSemiSyncReplicas;
    o->recover_non_writeable_master = cfg->RecoverNonWriteableMaster;
    for (int i = 0; i < 3; i++) {
        if (rec_analysis_options_set_filters(o, (enum rec_filter_list)i,
                                             (const char *const *)lists[i]->v, lists[i]->n) != 0) {
            rec_analysis_options_release(o);
            orc_errf(errmsg, len, "analysis options: out of memory");
            return ORC_ENOMEM;
        }
    }
    return 0;
}

/* ---- the list ---- */

void rec_analysis_list_init(struct rec_analysis_list *l)
{
    memset(l, 0, sizeof(*l));
}

static void entry_release(struct rec_analysis *a)
{
    disc_keylist_release(&a->replicas);
    free(a->max_replica_gtid_errant);
    a->max_replica_gtid_errant = NULL;
}

void rec_analysis_list_release(struct rec_analysis_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        entry_release(&l->v[i]);
    free(l->v);
    rec_analysis_list_init(l);
}

const struct rec_analysis *rec_analysis_find(const struct rec_analysis_list *l,
                                             const struct orc_key *key)
{
    for (size_t i = 0; i < l->n; i++)
        if (orc_key_eq(&l->v[i].key, key))
            return &l->v[i];
    return NULL;
}

/* ---- per-instance predicates ---- */

/* orchestrator's is_master: no master, "_" , port 0 or a detached ("//") master. */
static bool has_no_master(const struct disc_instance *in)
{
    const char *h = in->master_key.host;

    return h[0] == '\0' || strcmp(h, "_") == 0 || in->master_key.port == 0 ||
           strncmp(h, "//", 2) == 0 || in->is_detached_master;
}

/* IO thread not running ("No" or "Connecting"), SQL thread running, and a
 * last IO error like '%error %connecting to master%' (case-insensitive, as
 * MySQL's LIKE; "source" too, as MySQL 8.0.22+ words it). */
static bool failing_to_connect(const struct disc_instance *in)
{
    const char *e = disc_str(in->last_io_error);
    const char *p = strcasestr(e, "error ");

    if (in->io_state == DISC_THREAD_NONE || in->io_state == DISC_THREAD_RUNNING ||
        in->sql_state != DISC_THREAD_RUNNING || p == NULL)
        return false;
    p += 6;
    return strcasestr(p, "connecting to master") != NULL ||
           strcasestr(p, "connecting to source") != NULL;
}

static bool replicating(const struct disc_instance *in)
{
    return in->io_state == DISC_THREAD_RUNNING && in->sql_state == DISC_THREAD_RUNNING;
}

/* LastCheckValid of the analysed instance: last_checked <= last_seen and the
 * last attempt not later than last_seen + poll + reasonable check time. */
static bool master_check_valid(const struct disc_snapshot *s, int i)
{
    const struct disc_instance *in = s->instances[i];

    return disc_snapshot_check_valid(s, i) &&
           in->last_attempted_check_ms <= in->last_seen_ms + s->poll_ms + s->reasonable_check_ms;
}

static bool downtimed(const struct disc_snapshot *s, int i, int64_t *end_s)
{
    const struct disc_annot *a = s->annots != NULL ? &s->annots[i] : NULL;

    if (a == NULL || !a->downtimed)
        return false;
    if (a->downtime_end_s != 0 && a->downtime_end_s * 1000 <= s->taken_ms)
        return false; /* expired, not yet swept */
    if (end_s != NULL)
        *end_s = a->downtime_end_s;
    return true;
}

static bool in_maintenance(const struct disc_snapshot *s, int i)
{
    return s->annots != NULL && s->annots[i].in_maintenance;
}

/* ---- the replicas of each instance ---- */

struct kref {
    const struct orc_key *k;
    int i;
};

static int kref_cmp(const void *a, const void *b)
{
    return orc_key_cmp(((const struct kref *)a)->k, ((const struct kref *)b)->k);
}

/* children[first[m] .. first[m+1]) are the replicas of m, in snapshot order. */
struct tree {
    int *first;
    int *children;
};

static int tree_build(const struct disc_snapshot *s, struct tree *t)
{
    size_t n = s->n;
    struct kref *refs = calloc(n ? n : 1, sizeof(*refs));
    int *master = calloc(n ? n : 1, sizeof(int));
    int *fill = calloc(n + 1, sizeof(int));
    int rc = 0;

    t->first = calloc(n + 1, sizeof(int));
    t->children = calloc(n ? n : 1, sizeof(int));
    if (refs == NULL || master == NULL || fill == NULL || t->first == NULL || t->children == NULL) {
        rc = ORC_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        refs[i] = (struct kref){&s->instances[i]->key, (int)i};
    qsort(refs, n, sizeof(*refs), kref_cmp);
    for (size_t i = 0; i < n; i++) {
        const struct disc_instance *in = s->instances[i];
        struct kref want = {&in->master_key, -1}, *hit = NULL;
        if (in->master_key.host[0] != '\0')
            hit = bsearch(&want, refs, n, sizeof(*refs), kref_cmp);
        master[i] = (hit != NULL && hit->i != (int)i) ? hit->i : -1;
        if (master[i] >= 0)
            t->first[master[i] + 1]++;
    }
    for (size_t m = 0; m < n; m++)
        t->first[m + 1] += t->first[m];
    memcpy(fill, t->first, (n + 1) * sizeof(int));
    for (size_t i = 0; i < n; i++)
        if (master[i] >= 0)
            t->children[fill[master[i]]++] = (int)i;
out:
    free(refs);
    free(master);
    free(fill);
    return rc;
}

static void tree_release(struct tree *t)
{
    free(t->first);
    free(t->children);
}

/* ---- counting ---- */

struct versions {
    int major[16], minor[16];
    int n;
};

static void versions_add(struct versions *v, const struct disc_version *ver)
{
    for (int i = 0; i < v->n; i++)
        if (v->major[i] == ver->major && v->minor[i] == ver->minor)
            return;
    if (v->n < 16) {
        v->major[v->n] = ver->major;
        v->minor[v->n] = ver->minor;
        v->n++;
    }
}

/* Adds replica r to a's counts. Returns 0 or ORC_ENOMEM. */
static int count_replica(const struct disc_snapshot *s,
                         const struct rec_analysis_options *o,
                         int r,
                         struct rec_analysis *a,
                         struct versions *ver,
                         int *oracle,
                         int *mariadb)
{
    const struct disc_instance *in = s->instances[r];
    bool valid = disc_snapshot_check_valid(s, r);
    bool down = downtimed(s, r, NULL);

    a->count_replicas++;
    if (valid) {
        a->count_valid_replicas++;
        a->count_valid_replicating_replicas += replicating(in);
        a->count_replicas_failing_to_connect += failing_to_connect(in);
        *oracle += in->using_oracle_gtid;
        *mariadb += in->using_mariadb_gtid;
    }
    a->count_downtimed_replicas += down;
    if (in->replication_lag_seconds.valid &&
        in->replication_lag_seconds.value > o->reasonable_lag_s)
        a->count_lagging_replicas++;
    a->count_delayed_replicas += in->sql_delay > 0;
    a->count_semi_sync_replicas_enabled += in->semi_sync_replica_enabled;
    a->is_co_master = a->is_co_master || in->is_co_master;
    if (in->log_bin && in->log_replica_updates) {
        a->count_logging_replicas++;
        a->count_statement_logging_replicas += strcmp(in->binlog_format, "STATEMENT") == 0;
        a->count_mixed_logging_replicas += strcmp(in->binlog_format, "MIXED") == 0;
        a->count_row_logging_replicas += strcmp(in->binlog_format, "ROW") == 0;
        versions_add(ver, &in->ver);
    }
    if (a->count_replicas == 1 || strcmp(in->gtid_mode, a->min_replica_gtid_mode) < 0)
        orc_strlcpy(a->min_replica_gtid_mode, in->gtid_mode, sizeof(a->min_replica_gtid_mode));
    if (a->count_replicas == 1 || strcmp(in->gtid_mode, a->max_replica_gtid_mode) > 0)
        orc_strlcpy(a->max_replica_gtid_mode, in->gtid_mode, sizeof(a->max_replica_gtid_mode));
    if (!down && in->gtid_errant != NULL &&
        strcmp(in->gtid_errant, disc_str(a->max_replica_gtid_errant)) > 0 &&
        disc_instance_set_str(&a->max_replica_gtid_errant, in->gtid_errant) != 0)
        return ORC_ENOMEM;
    return disc_keylist_add(&a->replicas, &in->key);
}

/* Fills everything about M itself and the cluster. */
static void describe_instance(const struct disc_snapshot *s,
                              const struct rec_analysis_options *o,
                              const struct disc_cluster *cl,
                              int m,
                              struct rec_analysis *a)
{
    const struct disc_instance *in = s->instances[m];
    int64_t end_s = 0;

    a->key = in->key;
    a->master_key = in->master_key;
    orc_strlcpy(a->cluster_name, cl->name, sizeof(a->cluster_name));
    orc_strlcpy(a->cluster_alias, cl->alias[0] ? cl->alias : cl->name, sizeof(a->cluster_alias));
    orc_strlcpy(a->cluster_domain, cl->domain, sizeof(a->cluster_domain));
    for (size_t i = cl->first; i < cl->first + cl->count; i++) {
        const struct disc_nullint *l = &s->instances[i]->replication_lag_seconds;
        if (s->instances[i]->last_seen_ms == 0)
            continue; /* known by name only, as the cluster routes count */
        a->cluster_count_instances++;
        if (l->valid && l->value > a->cluster_heuristic_lag)
            a->cluster_heuristic_lag = l->value;
    }
    a->has_automated_master_recovery =
        rec_cluster_filter_match(o, REC_FILTER_RECOVER_MASTER, cl->name, cl->alias);
    a->has_automated_im_recovery =
        rec_cluster_filter_match(o, REC_FILTER_RECOVER_IM, cl->name, cl->alias);
    orc_strlcpy(a->data_center, in->data_center, sizeof(a->data_center));
    orc_strlcpy(a->region, in->region, sizeof(a->region));
    orc_strlcpy(a->physical_environment, in->physical_environment, sizeof(a->physical_environment));
    a->binlog_coords = in->self_coords;
    a->binlog_coords.type = DISC_COORDS_BINLOG;
    a->is_master = has_no_master(in);
    a->is_co_master = in->is_co_master;
    a->last_check_valid = master_check_valid(s, m);
    a->last_check_partial_success = in->last_check_partial_success;
    a->is_failing_to_connect_to_master = failing_to_connect(in);
    a->is_read_only = in->read_only;
    a->replication_depth = in->replication_depth;
    a->is_downtimed = downtimed(s, m, &end_s);
    a->downtime_end_s = a->is_downtimed ? end_s : 0;
    if (a->is_downtimed && end_s > 0 && end_s * 1000 > s->taken_ms)
        a->downtime_remaining_s = end_s - s->taken_ms / 1000;
    a->semi_sync_master_enabled = in->semi_sync_master_enabled;
    a->semi_sync_master_status = in->semi_sync_master_status;
    a->semi_sync_master_wait_for_replica_count = in->semi_sync_master_wait_for_replica_count;
    a->semi_sync_master_clients = in->semi_sync_master_clients;
    orc_strlcpy(a->gtid_mode, in->gtid_mode, sizeof(a->gtid_mode));
}

/* ---- the rules (the reference's table, first match wins) ---- */

static enum rec_code classify_dead_master(const struct rec_analysis *a)
{
    int n = a->count_replicas, valid = a->count_valid_replicas;
    int repl = a->count_valid_replicating_replicas;

    if (n == 0)
        return REC_DEAD_MASTER_WITHOUT_REPLICAS;
    if (valid == n && repl == 0)
        return REC_DEAD_MASTER;
    if (valid == 0 && repl == 0)
        return REC_DEAD_MASTER_AND_REPLICAS;
    if (valid > 0 && valid < n && repl == 0)
        return REC_DEAD_MASTER_AND_SOME_REPLICAS;
    if (a->count_lagging_replicas == n && a->count_delayed_replicas < n && repl > 0)
        return REC_UNREACHABLE_MASTER_WITH_LAGGING_REPLICAS;
    if (!a->last_check_partial_success && valid > 0 && repl > 0)
        return REC_UNREACHABLE_MASTER;
    if (a->last_check_partial_success && a->count_replicas_failing_to_connect > 0 && valid > 0 &&
        repl > 0)
        return REC_UNREACHABLE_MASTER;
    return REC_NO_PROBLEM;
}

static enum rec_code classify_master(const struct rec_analysis *a,
                                     const struct rec_analysis_options *o,
                                     bool stale)
{
    int n = a->count_replicas, valid = a->count_valid_replicas;
    int repl = a->count_valid_replicating_replicas;
    int64_t wait = a->semi_sync_master_wait_for_replica_count;
    int64_t clients = a->semi_sync_master_clients;
    bool semi_on = a->semi_sync_master_enabled && a->semi_sync_master_status && wait > 0;
    enum rec_code c = REC_NO_PROBLEM;

    if (!a->last_check_valid)
        c = classify_dead_master(a);
    if (c != REC_NO_PROBLEM)
        return c;
    if (semi_on && clients < wait)
        return stale ? REC_LOCKED_SEMI_SYNC_MASTER : REC_LOCKED_SEMI_SYNC_MASTER_HYPOTHESIS;
    if (o->enforce_exact_semi_sync && semi_on && clients > wait)
        return REC_MASTER_WITH_TOO_MANY_SEMI_SYNC_REPLICAS;
    if (!a->last_check_valid)
        return REC_NO_PROBLEM;
    if (a->is_read_only && repl > 0 && o->recover_non_writeable_master)
        return REC_NO_WRITEABLE_MASTER;
    if (n == 1 && valid == 1 && repl == 0)
        return REC_MASTER_SINGLE_REPLICA_NOT_REPLICATING;
    if (n == 1 && valid == 0)
        return REC_MASTER_SINGLE_REPLICA_DEAD;
    if (n > 1 && valid == n && repl == 0)
        return REC_ALL_MASTER_REPLICAS_NOT_REPLICATING;
    if (n > 1 && valid > 0 && valid < n && repl == 0)
        return REC_ALL_MASTER_REPLICAS_NOT_REPLICATING_OR_DEAD;
    return REC_NO_PROBLEM;
}

static enum rec_code classify_co_master(const struct rec_analysis *a)
{
    int n = a->count_replicas, valid = a->count_valid_replicas;
    int repl = a->count_valid_replicating_replicas;

    if (!a->last_check_valid && n > 0 && valid == n && repl == 0)
        return REC_DEAD_CO_MASTER;
    if (!a->last_check_valid && n > 0 && valid > 0 && valid < n && repl == 0)
        return REC_DEAD_CO_MASTER_AND_SOME_REPLICAS;
    if (!a->last_check_valid && !a->last_check_partial_success && valid > 0 && repl > 0)
        return REC_UNREACHABLE_CO_MASTER;
    if (a->last_check_valid && n > 0 && repl == 0)
        return REC_ALL_CO_MASTER_REPLICAS_NOT_REPLICATING;
    return REC_NO_PROBLEM;
}

static enum rec_code classify_dead_im(const struct rec_analysis *a)
{
    int n = a->count_replicas, valid = a->count_valid_replicas;
    int repl = a->count_valid_replicating_replicas;

    if (n == 1 && valid == 1 && a->count_replicas_failing_to_connect == 1 && repl == 0)
        return REC_DEAD_IM_WITH_SINGLE_REPLICA_FAILING_TO_CONNECT;
    if (n == 1 && valid == 1 && repl == 0)
        return REC_DEAD_IM_WITH_SINGLE_REPLICA;
    if (n > 1 && valid == n && repl == 0)
        return REC_DEAD_IM;
    if (valid > 0 && valid < n && repl == 0)
        return REC_DEAD_IM_AND_SOME_REPLICAS;
    if (n > 0 && valid == 0)
        return REC_DEAD_IM_AND_REPLICAS;
    if (a->count_lagging_replicas == n && a->count_delayed_replicas < n && repl > 0)
        return REC_UNREACHABLE_IM_WITH_LAGGING_REPLICAS;
    if (!a->last_check_partial_success && valid > 0 && repl > 0)
        return REC_UNREACHABLE_IM;
    return REC_NO_PROBLEM;
}

static enum rec_code classify_im(const struct rec_analysis *a)
{
    int n = a->count_replicas, valid = a->count_valid_replicas;
    int repl = a->count_valid_replicating_replicas;
    int failing = a->count_replicas_failing_to_connect;
    enum rec_code c = REC_NO_PROBLEM;

    if (!a->last_check_valid)
        c = classify_dead_im(a);
    else if (n > 1 && repl == 0 && failing > 0 && failing == valid)
        c = REC_ALL_IM_REPLICAS_FAILING_TO_CONNECT_OR_DEAD;
    else if (n > 0 && repl == 0)
        c = REC_ALL_IM_REPLICAS_NOT_REPLICATING;
    return c;
}

static enum rec_code classify(const struct rec_analysis *a,
                              const struct rec_analysis_options *o,
                              bool stale)
{
    enum rec_code c = REC_NO_PROBLEM;

    if (a->is_master)
        c = classify_master(a, o, stale);
    else if (a->is_co_master)
        c = classify_co_master(a);
    if (c == REC_NO_PROBLEM && !a->is_master)
        c = classify_im(a);
    if (c == REC_NO_PROBLEM && a->replication_depth == 1 && a->is_failing_to_connect_to_master)
        c = REC_FIRST_TIER_REPLICA_FAILING_TO_CONNECT;
    return c;
}

/* ---- structure warnings ---- */

static unsigned structure(const struct rec_analysis *a, int distinct_versions)
{
    unsigned w = 0;
    int st = a->count_statement_logging_replicas, mx = a->count_mixed_logging_replicas;
    int row = a->count_row_logging_replicas;

    if (a->is_master && a->count_logging_replicas == 0 && a->count_replicas > 1)
        w |= 1u << REC_SW_NO_LOGGING_REPLICAS;
    if (a->is_master && a->count_replicas > 1 && !a->oracle_gtid_immediate &&
        !a->mariadb_gtid_immediate)
        w |= 1u << REC_SW_NO_FAILOVER_SUPPORT;
    if (a->is_master && st > 0 && mx > 0)
        w |= 1u << REC_SW_STATEMENT_AND_MIXED_LOGGING;
    if (a->is_master && st > 0 && row > 0)
        w |= 1u << REC_SW_STATEMENT_AND_ROW_LOGGING;
    if (a->is_master && mx > 0 && row > 0)
        w |= 1u << REC_SW_MIXED_AND_ROW_LOGGING;
    if (a->is_master && distinct_versions > 1)
        w |= 1u << REC_SW_MULTIPLE_MAJOR_VERSIONS_LOGGING;
    if (a->count_replicas > 0 && (strcmp(a->gtid_mode, a->min_replica_gtid_mode) != 0 ||
                                  strcmp(a->gtid_mode, a->max_replica_gtid_mode) != 0))
        w |= 1u << REC_SW_DIFFERENT_GTID_MODES;
    if (a->max_replica_gtid_errant != NULL && a->max_replica_gtid_errant[0] != '\0')
        w |= 1u << REC_SW_ERRANT_GTID;
    if (a->is_master && a->is_read_only)
        w |= 1u << REC_SW_NO_WRITEABLE_MASTER;
    if (a->is_master && a->semi_sync_master_enabled && !a->semi_sync_master_status &&
        a->semi_sync_master_wait_for_replica_count > 0 &&
        a->semi_sync_master_clients < a->semi_sync_master_wait_for_replica_count)
        w |= 1u << REC_SW_NOT_ENOUGH_VALID_SEMI_SYNC_REPLICAS;
    return w;
}

/* All replicas downtimed makes these replica-centric codes skippable. */
static bool replica_centric(enum rec_code c)
{
    switch (c) {
        case REC_ALL_MASTER_REPLICAS_NOT_REPLICATING:
        case REC_ALL_MASTER_REPLICAS_NOT_REPLICATING_OR_DEAD:
        case REC_MASTER_SINGLE_REPLICA_DEAD:
        case REC_ALL_CO_MASTER_REPLICAS_NOT_REPLICATING:
        case REC_DEAD_IM_WITH_SINGLE_REPLICA:
        case REC_DEAD_IM_WITH_SINGLE_REPLICA_FAILING_TO_CONNECT:
        case REC_DEAD_IM_AND_REPLICAS:
        case REC_DEAD_IM_AND_SOME_REPLICAS:
        case REC_ALL_IM_REPLICAS_FAILING_TO_CONNECT_OR_DEAD:
        case REC_ALL_IM_REPLICAS_NOT_REPLICATING:
            return true;
        default:
            return false;
    }
}

/* ---- the run ---- */

/* Builds the entry of instance m into a (zeroed). Returns 0 or ORC_ENOMEM. */
static int analyse_one(const struct disc_snapshot *s,
                       const struct rec_analysis_options *o,
                       const struct disc_cluster *cl,
                       const struct tree *t,
                       int m,
                       struct rec_analysis *a)
{
    struct versions ver = {.n = 0};
    int oracle = 0, mariadb = 0;
    int64_t locked_s =
        o->reasonable_locked_semi_sync_s ? o->reasonable_locked_semi_sync_s : o->reasonable_lag_s;
    bool stale;

    describe_instance(s, o, cl, m, a);
    for (int k = t->first[m]; k < t->first[m + 1]; k++)
        if (count_replica(s, o, t->children[k], a, &ver, &oracle, &mariadb) != 0)
            return ORC_ENOMEM;
    a->count_distinct_major_versions_logging = ver.n;
    a->oracle_gtid_immediate = a->count_valid_replicas > 0 && oracle == a->count_valid_replicas;
    a->mariadb_gtid_immediate = a->count_valid_replicas > 0 && mariadb == a->count_valid_replicas;
    stale = o->stale != NULL &&
            rec_stale_is_stale(o->stale, &a->key, &a->binlog_coords, locked_s * 1000, s->taken_ms);
    a->code = classify(a, o, stale);
    a->description = codes[a->code].description;
    a->is_actionable = rec_code_actionable(a->code);
    a->structure = structure(a, ver.n);
    a->skippable_due_to_downtime = a->is_downtimed;
    if (a->count_replicas > 0 && a->count_replicas == a->count_downtimed_replicas &&
        replica_centric(a->code)) {
        a->is_replicas_downtimed = true;
        a->skippable_due_to_downtime = true;
    }
    return 0;
}

/* Whether instance m is analysed at all (before counting). */
static bool wanted(const struct disc_snapshot *s,
                   const struct rec_analysis_options *o,
                   const struct tree *t,
                   int m)
{
    const struct disc_instance *in = s->instances[m];

    if (in->last_seen_ms == 0 || in_maintenance(s, m) || host_ignored(o, in->key.host))
        return false;
    /* ReduceReplicationAnalysisCount: only instances that are not valid, have
     * replicas or fail to connect to their master can yield anything. */
    if (o->reduce && master_check_valid(s, m) && t->first[m + 1] == t->first[m] &&
        !failing_to_connect(in))
        return false;
    return true;
}

static bool kept(const struct rec_analysis_options *o, const struct rec_analysis *a)
{
    if (a->code == REC_NO_PROBLEM && a->structure == 0 && !o->include_no_problem)
        return false;
    return !a->skippable_due_to_downtime || o->include_downtimed;
}

static int list_push(struct rec_analysis_list *l, struct rec_analysis **out)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct rec_analysis *v = realloc(l->v, cap * sizeof(*v));
        if (v == NULL)
            return ORC_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    *out = &l->v[l->n];
    memset(*out, 0, sizeof(**out));
    return 0;
}

static int analyse_cluster(const struct disc_snapshot *s,
                           const struct rec_analysis_options *o,
                           const struct tree *t,
                           const struct disc_cluster *cl,
                           struct rec_analysis_list *out)
{
    for (size_t i = cl->first; i < cl->first + cl->count && i < s->n; i++) {
        struct rec_analysis *a;
        if (!wanted(s, o, t, (int)i))
            continue;
        if (list_push(out, &a) != 0)
            return ORC_ENOMEM;
        if (analyse_one(s, o, cl, t, (int)i, a) != 0) {
            entry_release(a);
            return ORC_ENOMEM;
        }
        if (kept(o, a))
            out->n++;
        else
            entry_release(a);
    }
    return 0;
}

int rec_analysis_run(const struct disc_snapshot *s,
                     const struct rec_analysis_options *o,
                     struct rec_analysis_list *out)
{
    struct tree t = {NULL, NULL};
    int rc = tree_build(s, &t);

    for (size_t c = 0; rc == 0 && c < s->nclusters; c++) {
        const struct disc_cluster *cl = &s->clusters[c];
        if (o->only_cluster != NULL && strcmp(o->only_cluster, cl->name) != 0)
            continue;
        rc = analyse_cluster(s, o, &t, cl, out);
    }
    tree_release(&t);
    if (rc != 0)
        ORC_LOG_E("+analysis-failed", "error=\"out of memory\" instances=%zu", s->n);
    return rc;
}
