/*
 * node: the service lifecycle. Start: logging, backend (open + migrate),
 * HTTP server; then wait for a signal; stop in reverse order.
 * Signals are blocked in every thread and taken synchronously by the main
 * thread with sigwait(), so no handler runs in an arbitrary context: SIGTERM
 * and SIGINT stop, SIGHUP reloads the config (node_reload.c), SIGUSR1 reopens
 * LogFile (after logrotate moved it).
 */
#include <curl/curl.h>
#include <errno.h>
#include <raft.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/be.h"
#include "common/orc.h"
#include "discovery/disc.h"
#include "orchestrator/fsm.h"
#include "orchestrator/node.h"
#include "orchestrator/quorum.h"
#include "orchestrator/raft.h"
#include "recovery/rec.h"
#include "web/web.h"

struct orc_node {
    const struct orc_config *cfg;
    struct be *be;
    struct disc_probe_options probe;
    bool probe_ready;
    struct disc_topo *topo;
    struct orc_fsm fsm;
    bool fsm_ready;
    struct rec_env rec;
    struct rec_hooks_tracker hooks;
    bool hooks_ready;
    struct rec_loop *loop;
    struct orc_raft *raft;    /* RaftEnabled: set before any thread reads it */
    struct orc_quorum quorum; /* leader: what the followers see failed */
    struct orc_rcfg rcfg;     /* file + replicated recovery settings */
    struct web_server *http;
    uint64_t boot_epoch; /* without raft: this process's leadership epoch */
    struct {             /* the last failure report sent (recovery thread only) */
        char *last;
        char uri[ORC_RAFT_URI_MAX];
        int64_t sent_ms;
        bool ok;
    } report;
    struct orc_reload reload; /* SIGHUP and /api/reload-configuration */
};

/* Every probe outcome wakes the recovery loop (from a discovery worker). */
static void node_on_change(void *arg, const struct orc_key *key, bool probe_ok)
{
    struct orc_node *n = arg;

    (void)key;
    (void)probe_ok;
    rec_loop_notify(__atomic_load_n(&n->loop, __ATOMIC_ACQUIRE));
}

/* Replicated commands: without raft, applied here at once. */
static int node_submit_r(void *arg,
                         const char *op,
                         json_t *payload,
                         json_t **result,
                         char *errmsg,
                         size_t len)
{
    struct orc_node *n = arg;
    int rc;

    /* The submitter's clock, so every node applies the same time. */
    if (json_is_object(payload) && json_object_get(payload, "Now") == NULL)
        json_object_set_new(payload, "Now", json_integer(orc_wall_s()));
    if (n->cfg->RaftEnabled) /* raft: replicated, applied on every node */
        rc = orc_raft_submit(n->raft, op, payload, result, errmsg, len);
    else
        rc = orc_fsm_apply_r(&n->fsm, op, payload, result, errmsg, len);
    json_decref(payload);
    return rc;
}

static int node_submit(void *arg, const char *op, json_t *payload, char *errmsg, size_t len)
{
    return node_submit_r(arg, op, payload, NULL, errmsg, len);
}

static bool node_is_leader(void *arg)
{
    struct orc_node *n = arg;

    if (n->cfg->RaftEnabled)
        return orc_raft_is_leader(n->raft); /* false until raft runs */
    return true;                            /* single node without raft: always its own leader */
}

/* The leadership epoch: the raft term this node leads in (high 32 bits)
 * and this process's incarnation (low 32 bits: its start time in ms), so a
 * restarted node is a new leadership that takes over what the crashed one
 * left unresolved, also when a lone raft node comes back in the same term.
 * Without raft, the incarnation alone. */
static uint64_t node_leader_epoch(void *arg)
{
    struct orc_node *n = arg;
    uint64_t term;

    if (!n->cfg->RaftEnabled)
        return n->boot_epoch;
    term = orc_raft_leader_term(n->raft);
    return term == 0 ? 0 : (term << 32) | (n->boot_epoch & 0xffffffffu);
}

/* ---- quorum-confirmed detection, and one recovery config everywhere ---- */

/* Leader: logs when a member's config fingerprint starts or stops differing
 * from its own (names the node, never a value). */
static void note_config(struct orc_node *n, const char *from, const char *config, const char *prev)
{
    char fp[ORC_QUORUM_FP_MAX];
    bool differs, differed;

    orc_rcfg_fingerprint(&n->rcfg, fp, sizeof(fp));
    if (config == NULL || config[0] == '\0' || fp[0] == '\0')
        return;
    differs = strcmp(config, fp) != 0;
    differed = prev[0] != '\0' && strcmp(prev, fp) != 0;
    if (differs && (!differed || strcmp(prev, config) != 0))
        ORC_LOG_W("+config-mismatch", "node=%s leader=%s fingerprint=%s leader_fingerprint=%s",
                  from, n->cfg->RaftAdvertise, config, fp);
    else if (!differs && differed)
        ORC_LOG_N("+config-match", "node=%s leader=%s", from, n->cfg->RaftAdvertise);
}

/* {"Fingerprint", "Mismatch": [...]}: on the leader, the current members
 * whose last report (within ORC_QUORUM_KEEP_MS) carries another fingerprint. */
static json_t *node_config_status(void *arg)
{
    struct orc_node *n = arg;
    struct orc_raft_info *info = malloc(sizeof(*info));
    const char *members[ORC_RAFT_MAX_PEERS];
    struct orc_buf names = ORC_BUF_INIT;
    json_t *mismatch = json_array(), *j;
    char fp[ORC_QUORUM_FP_MAX];

    orc_rcfg_fingerprint(&n->rcfg, fp, sizeof(fp));
    if (info != NULL)
        orc_raft_info(n->raft, info);
    if (info != NULL && mismatch != NULL && strcmp(info->state, "Leader") == 0) {
        for (size_t i = 0; i < info->npeers; i++)
            members[i] = info->peers[i].addr;
        /* a fingerprint holds until the member reports another one: a node
         * that restarts or stops reporting for a while is not cleared */
        orc_quorum_config_mismatch(&n->quorum, fp, members, info->npeers, ORC_QUORUM_KEEP_MS,
                                   &names);
        for (const char *p = orc_buf_str(&names); *p != '\0';) {
            size_t k = strcspn(p, ",");
            json_array_append_new(mismatch, json_stringn(p, k));
            p += k + (p[k] == ',');
        }
    }
    free(info);
    orc_buf_release(&names);
    j = json_pack("{s:s, s:o*}", "Fingerprint", fp, "Mismatch", mismatch);
    return j;
}

/* Leader: a follower's report arrived; the recovery loop looks again. Only
 * a current member may report, and only from its own address. */
static int node_failure_report(void *arg,
                               const char *from,
                               const char *source_ip,
                               const char *failed,
                               const char *config,
                               char *errmsg,
                               size_t len)
{
    struct orc_node *n = arg;
    struct orc_raft_info *info = malloc(sizeof(*info));
    const char *members[ORC_RAFT_MAX_PEERS];
    char prev[ORC_QUORUM_FP_MAX];
    int rc;

    if (info == NULL)
        return ORC_ENOMEM;
    orc_raft_info(n->raft, info);
    for (size_t i = 0; i < info->npeers; i++)
        members[i] = info->peers[i].addr;
    rc = orc_quorum_check_reporter(from, source_ip, info->advertise, members, info->npeers, errmsg,
                                   len);
    free(info);
    if (rc != 0) {
        ORC_LOG_W("+failure-report-refused", "from=%s source=%s error=\"%s\"", from, source_ip,
                  errmsg);
        return rc;
    }
    rc = orc_quorum_put(&n->quorum, from, failed, config, prev);
    if (rc != 0)
        orc_errf(errmsg, len, "report from '%s' not recorded: %s", from, orc_strerror(rc));
    else
        note_config(n, from, config, prev);
    ORC_LOG_D("+failure-report", "from=%s failed=\"%s\"", from, failed);
    rec_loop_notify(__atomic_load_n(&n->loop, __ATOMIC_ACQUIRE));
    return rc;
}

/* Follower: tell the leader what this node sees failed. */
/* Follower (recovery thread): what this node sees failed goes to the leader
 * when it changed, at once when the leader changed (a new leader needs the
 * majority's view now, not at the next periodic report), every
 * REPORT_MS otherwise, and again after REPORT_RETRY_MS when a send failed. */
#define REPORT_MS 2000
#define REPORT_RETRY_MS 250

static void node_report_failures(void *arg, const char *failed)
{
    struct orc_node *n = arg;
    struct orc_raft_info *info = malloc(sizeof(*info));
    char err[ORC_ERRMSG_SIZE] = "", fp[ORC_QUORUM_FP_MAX];
    int64_t now = orc_mono_ms(), wait;
    bool same;

    if (info == NULL)
        return;
    orc_raft_info(n->raft, info);
    if (info->is_leader || info->leader_uri[0] == '\0')
        goto out;
    same = n->report.last != NULL && strcmp(n->report.last, failed) == 0 &&
           strcmp(n->report.uri, info->leader_uri) == 0;
    wait = n->report.ok ? REPORT_MS : REPORT_RETRY_MS;
    if (same && now - n->report.sent_ms < wait)
        goto out;
    orc_rcfg_fingerprint(&n->rcfg, fp, sizeof(fp));
    n->report.ok = orc_quorum_send(n->cfg, info->leader_uri, info->advertise, failed, fp, err,
                                   sizeof(err)) == 0;
    if (!n->report.ok)
        ORC_LOG_D("+failure-report-failed", "error=\"%s\"", err);
    free(n->report.last);
    n->report.last = strdup(failed);
    orc_strlcpy(n->report.uri, info->leader_uri, sizeof(n->report.uri));
    n->report.sent_ms = now;
out:
    free(info);
}

/* Leader: true when a majority of the voters (itself included) see key
 * failed. With fewer than 3 voters, or ExpectFailureAnalysisConcensus off,
 * the leader's own view is enough. */
static bool node_confirm_failure(void *arg, const struct orc_key *key, int *agree, int *needed)
{
    struct orc_node *n = arg;
    struct orc_raft_info *info;
    const char *voters[ORC_RAFT_MAX_PEERS];
    char ks[ORC_KEY_STRLEN];
    size_t nv = 0, total = 0;
    const struct orc_config *eff;
    bool ok, consensus;

    *agree = *needed = 1;
    eff = orc_config_live_acquire(&n->rcfg.live, NULL); /* may be replicated */
    consensus = eff->ExpectFailureAnalysisConcensus;
    orc_config_live_put(eff);
    if (!n->cfg->RaftEnabled || !consensus)
        return true;
    info = malloc(sizeof(*info));
    if (info == NULL)
        return false;
    orc_raft_info(n->raft, info);
    for (size_t i = 0; i < info->npeers; i++) {
        if (info->peers[i].role != RAFT_VOTER)
            continue;
        total++;
        if (info->peers[i].id != info->id && info->peers[i].reachable)
            voters[nv++] = info->peers[i].addr;
    }
    orc_key_str(key, ks, sizeof(ks));
    *needed = (int)(total / 2 + 1);
    *agree = 1 + orc_quorum_agreeing(&n->quorum, ks, voters, nv, ORC_QUORUM_FRESH_MS);
    ok = total < 3 || *agree >= *needed;
    free(info);
    return ok;
}

/* The manager cluster for the KV stores (recovery's KV thread, leader). */
static void node_manager_info(void *arg, struct rec_manager_info *out)
{
    struct orc_node *n = arg;
    struct orc_raft_info *info;

    memset(out, 0, sizeof(*out));
    orc_raft_http_uri(n->cfg, out->leader_uri, sizeof(out->leader_uri));
    if (!n->cfg->RaftEnabled || (info = malloc(sizeof(*info))) == NULL) {
        gethostname(out->leader_addr, sizeof(out->leader_addr) - 1);
        orc_strlcpy(out->nodes[0].addr, out->leader_addr, sizeof(out->nodes[0].addr));
        out->nodes[0].voter = out->nodes[0].healthy = out->nodes[0].leader = true;
        out->n = 1;
        return;
    }
    orc_raft_info(n->raft, info);
    orc_strlcpy(out->leader_addr, info->advertise, sizeof(out->leader_addr));
    for (size_t i = 0; i < info->npeers && out->n < REC_MANAGER_MAX_NODES; i++) {
        struct rec_manager_node *m = &out->nodes[out->n++];
        orc_strlcpy(m->addr, info->peers[i].addr, sizeof(m->addr));
        m->voter = info->peers[i].role == RAFT_VOTER;
        m->leader = info->peers[i].id == info->id;
        m->healthy = m->leader || info->peers[i].reachable;
    }
    free(info);
}

/* This node just became a leader ready to act (raft loop thread). */
static void node_on_leader(void *arg)
{
    struct orc_node *n = arg;

    rec_loop_notify(__atomic_load_n(&n->loop, __ATOMIC_ACQUIRE));
}

/* Where the advertised addresses came from when AdvertiseAddr is set: a
 * key set explicitly wins over it ("explicit"). */
static const char *advertise_origin(const struct orc_config *cfg, int key, const char *derived)
{
    const char *value = key == ORC_CFGK_RaftAdvertise ? cfg->RaftAdvertise : cfg->HTTPAdvertise;

    if (derived == NULL)
        return value[0] != '\0' ? "explicit" : "none";
    if (cfg->sources[key] == ORC_CFG_SRC_DERIVED && strcmp(value, derived) == 0)
        return "AdvertiseAddr";
    return "explicit";
}

static void log_advertise(const struct orc_config *cfg)
{
    char raft[ORC_KEY_STRLEN], http[ORC_KEY_STRLEN + 32];
    bool has_raft, has_http;

    if (cfg->AdvertiseAddr[0] == '\0')
        return;
    has_raft = orc_config_advertise_raft(cfg, raft, sizeof(raft)) == 0;
    has_http = orc_config_advertise_http(cfg, http, sizeof(http)) == 0;
    ORC_LOG_N("+advertise", "addr=%s RaftAdvertise=%s from=%s HTTPAdvertise=%s from=%s",
              cfg->AdvertiseAddr, cfg->RaftAdvertise,
              advertise_origin(cfg, ORC_CFGK_RaftAdvertise, has_raft ? raft : NULL),
              cfg->HTTPAdvertise[0] != '\0' ? cfg->HTTPAdvertise : "\"\"",
              advertise_origin(cfg, ORC_CFGK_HTTPAdvertise, has_http ? http : NULL));
}

/* After the backend, topology and FSM exist, before recovery and HTTP. */
static int start_raft(struct orc_node *n, char *err, size_t len)
{
    int rc;

    if (!n->cfg->RaftEnabled)
        return 0;
    rc = orc_raft_start(n->cfg, &n->fsm, &n->raft, err, len);
    if (rc == 0)
        orc_raft_on_ready(n->raft, node_on_leader, n);
    return rc;
}

static int open_backend(struct orc_node *n, char *err, size_t len)
{
    const struct orc_config *c = n->cfg;
    struct be_options o;
    int applied = 0;
    int rc;

    memset(&o, 0, sizeof(o));
    o.kind = c->BackendDB;
    o.sqlite_path = c->SQLite3DataFile;
    o.mysql_host = c->MySQLOrchestratorHost;
    o.mysql_port = (int)c->MySQLOrchestratorPort;
    o.mysql_database = c->MySQLOrchestratorDatabase;
    o.mysql_user = c->MySQLOrchestratorUser;
    o.mysql_password = c->MySQLOrchestratorPassword;
    o.connect_timeout_s = (int)c->MySQLConnectTimeoutSeconds;
    o.read_timeout_s = (int)c->MySQLOrchestratorReadTimeoutSeconds;
    be_options_tls(&o, c);
    rc = be_open(&o, &n->be, err, len);
    if (rc != 0) {
        orc_errprefix(err, len, "open %s backend", c->BackendDB);
        return rc;
    }
    rc = be_migrate(n->be, &applied, err, len);
    if (rc != 0) {
        orc_errprefix(err, len, "migrate %s backend", c->BackendDB);
        return rc;
    }
    ORC_LOG_N("+backend-ready", "kind=%s schema_version=%d migrations_applied=%d", c->BackendDB,
              be_schema_version(n->be), applied);
    return 0;
}

static void probe_options(struct orc_node *n)
{
    const struct orc_config *c = n->cfg;
    struct disc_probe_options *p = &n->probe;

    memset(p, 0, sizeof(*p));
    p->data_center_pattern = c->DataCenterPattern;
    p->region_pattern = c->RegionPattern;
    p->physical_environment_pattern = c->PhysicalEnvironmentPattern;
    p->detect_data_center_query = c->DetectDataCenterQuery;
    p->detect_region_query = c->DetectRegionQuery;
    p->detect_physical_environment_query = c->DetectPhysicalEnvironmentQuery;
    p->detect_cluster_alias_query = c->DetectClusterAliasQuery;
    p->detect_cluster_domain_query = c->DetectClusterDomainQuery;
    p->detect_instance_alias_query = c->DetectInstanceAliasQuery;
    p->detect_promotion_rule_query = c->DetectPromotionRuleQuery;
    p->detect_semi_sync_enforced_query = c->DetectSemiSyncEnforcedQuery;
    p->replication_lag_query = c->ReplicationLagQuery;
    p->discover_by_show_slave_hosts = c->DiscoverByShowSlaveHosts;
}

static int start_discovery(struct orc_node *n, char *err, size_t len)
{
    const struct orc_config *c = n->cfg;
    struct disc_topo_options o;
    int rc;

    probe_options(n);
    rc = disc_probe_options_prepare(&n->probe, err, len);
    if (rc != 0)
        return rc;
    n->probe_ready = true;
    memset(&o, 0, sizeof(o));
    o.be = n->be;
    o.probe = &n->probe;
    o.conn.user = c->MySQLTopologyUser;
    o.conn.password = c->MySQLTopologyPassword;
    o.conn.connect_timeout_s = (int)c->MySQLConnectTimeoutSeconds;
    o.conn.read_timeout_s = (int)c->MySQLDiscoveryReadTimeoutSeconds;
    o.conn.write_timeout_s = (int)c->MySQLDiscoveryReadTimeoutSeconds;
    disc_conn_options_tls(&o.conn, c);
    o.poll_ms = c->InstancePollSeconds * 1000;
    o.reasonable_check_ms = c->ReasonableInstanceCheckSeconds * 1000;
    o.workers = (int)c->DiscoveryWorkerThreads;
    o.forget_unseen_s = c->UnseenInstanceForgetHours * 3600;
    o.reasonable_lag_s = c->ReasonableReplicationLagSeconds;
    o.flush_ms = c->InstanceFlushIntervalMilliseconds;
    o.default_port = (int)c->DefaultInstancePort;
    o.ignore = (const char *const *)c->DiscoveryIgnoreHostnameFilters.v;
    o.nignore = c->DiscoveryIgnoreHostnameFilters.n;
    o.ignore_replica = (const char *const *)c->DiscoveryIgnoreReplicaHostnameFilters.v;
    o.nignore_replica = c->DiscoveryIgnoreReplicaHostnameFilters.n;
    o.ignore_master = (const char *const *)c->DiscoveryIgnoreMasterHostnameFilters.v;
    o.nignore_master = c->DiscoveryIgnoreMasterHostnameFilters.n;
    o.alias_re = (const char *const *)c->ClusterNameToAlias.keys;
    o.alias_val = (const char *const *)c->ClusterNameToAlias.vals;
    o.nalias = c->ClusterNameToAlias.n;
    o.on_change = node_on_change;
    o.on_change_arg = n;
    rc = disc_topo_new(&o, &n->topo, err, len);
    if (rc != 0)
        return rc;
    orc_fsm_init(&n->fsm, c, n->be, n->topo);
    n->rcfg.be = n->be;
    n->fsm.on_rcfg = orc_rcfg_refresh; /* also run by orc_fsm_restore below */
    n->fsm.on_rcfg_arg = &n->rcfg;
    n->fsm_ready = true;
    rc = disc_topo_start(n->topo, err, len);
    if (rc == 0)
        rc = orc_fsm_restore(&n->fsm, err, len);
    for (size_t i = 0; rc == 0 && i < c->DiscoverySeeds.n; i++) {
        struct orc_key k;
        if (orc_key_parse(c->DiscoverySeeds.v[i], (int)c->DefaultInstancePort, &k) != 0) {
            orc_errf(err, len, "DiscoverySeeds: invalid instance '%s'", c->DiscoverySeeds.v[i]);
            return ORC_ECONFIG;
        }
        ORC_LOG_N("+seed", "instance=%s:%d", k.host, k.port);
        disc_topo_discover(n->topo, &k, false, NULL, err, len);
    }
    return rc;
}

static int start_recovery(struct orc_node *n, char *err, size_t len)
{
    struct rec_loop *loop = NULL;
    int rc;

    rc = rec_hooks_tracker_init(&n->hooks, err, len);
    if (rc != 0)
        return rc;
    n->hooks_ready = true;
    n->rec.cfg = n->cfg;
    n->rec.live = &n->rcfg.live;
    n->rec.be = n->be;
    n->rec.topo = n->topo;
    n->rec.probe = &n->probe;
    n->rec.node = n;
    n->rec.is_leader = node_is_leader;
    n->rec.leader_epoch = node_leader_epoch;
    if (rec_registry_new(&n->rec.running) != 0)
        return ORC_ENOMEM;
    if ((n->rec.stale = rec_stale_new()) == NULL)
        return ORC_ENOMEM;
    n->rec.boot_ms = (int64_t)n->boot_epoch;
    n->rec.submit = node_submit;
    n->rec.submit_r = node_submit_r;
    n->rec.hooks_tracker = &n->hooks;
    n->rec.manager_info = node_manager_info;
    if (n->cfg->RaftEnabled) {
        n->rec.confirm_failure = node_confirm_failure;
        n->rec.report_failures = node_report_failures;
    }
    rc = rec_loop_start(&n->rec, &loop, err, len);
    if (rc == 0)
        __atomic_store_n(&n->loop, loop, __ATOMIC_RELEASE);
    return rc;
}

/* /api/recovery-config (HTTP threads). */
static json_t *node_rcfg_status(void *arg)
{
    struct orc_node *n = arg;

    return orc_rcfg_status(&n->rcfg);
}

static int node_rcfg_check(void *arg,
                           const char *key,
                           const char *text,
                           json_t **value,
                           char *errmsg,
                           size_t len)
{
    struct orc_node *n = arg;

    return orc_rcfg_check(&n->rcfg, key, text, value, errmsg, len);
}

/* /api/reload-configuration (an HTTP thread). */
static int node_reload(void *arg, struct orc_buf *changed, char *errmsg, size_t len)
{
    struct orc_node *n = arg;

    return orc_reload_run(&n->reload, "api", changed, errmsg, len);
}

static int start_http(struct orc_node *n, char *err, size_t len)
{
    struct web_deps d;

    memset(&d, 0, sizeof(d));
    d.cfg = n->cfg;
    d.be = n->be;
    d.topo = n->topo;
    d.rec = &n->rec;
    d.node = n;
    d.is_leader = node_is_leader;
    d.submit = node_submit;
    d.submit_r = node_submit_r;
    d.raft = n->raft ? &orc_raft_web_ops : NULL;
    d.raft_ctx = n->raft;
    d.failure_report = n->raft ? node_failure_report : NULL;
    d.config_status = n->raft ? node_config_status : NULL;
    d.reload = node_reload;
    d.rcfg_status = node_rcfg_status;
    d.rcfg_check = node_rcfg_check;
    return web_server_start(&d, &n->http, err, len);
}

static void stop_all(struct orc_node *n)
{
    struct rec_loop *loop = __atomic_exchange_n(&n->loop, NULL, __ATOMIC_ACQ_REL);

    /* No new requests; then a running recovery reaches its end (a safe point)
     * while this node still leads; only then a leader hands leadership over. */
    web_server_stop(n->http);
    n->http = NULL;
    if (n->raft != NULL)
        orc_raft_on_ready(n->raft, NULL, NULL);
    rec_loop_stop(loop);
    rec_registry_free(n->rec.running); /* no recovery runs any more */
    n->rec.running = NULL;
    rec_stale_free(n->rec.stale); /* no analysis runs any more */
    n->rec.stale = NULL;
    orc_raft_stop(n->raft);
    orc_raft_free(n->raft);
    n->raft = NULL;
    if (n->hooks_ready) {
        if (rec_hooks_tracker_wait(&n->hooks, 5000) == 0)
            rec_hooks_tracker_release(&n->hooks);
        else
            ORC_LOG_W("+hooks-still-running", "asynchronous hooks still running at stop");
    }
    n->hooks_ready = false;
    if (n->topo)
        disc_topo_free(n->topo); /* stops the threads, flushes pending writes */
    n->topo = NULL;
    if (n->fsm_ready)
        orc_fsm_release(&n->fsm);
    n->fsm_ready = false;
    if (n->probe_ready)
        disc_probe_options_release(&n->probe);
    n->probe_ready = false;
    if (n->be)
        be_close(n->be);
    n->be = NULL;
}

static void stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGUSR1);
}

static void on_sighup(struct orc_node *n)
{
    struct orc_buf changed = ORC_BUF_INIT;
    char err[ORC_ERRMSG_SIZE] = "";

    orc_reload_run(&n->reload, "SIGHUP", &changed, err, sizeof(err)); /* logs either way */
    orc_buf_release(&changed);
}

static void on_sigusr1(void)
{
    char err[ORC_ERRMSG_SIZE] = "";

    if (orc_log_reopen(err, sizeof(err)) == 0)
        ORC_LOG_N("+log-reopened", "signal=SIGUSR1");
    else
        ORC_LOG_E("+log-reopen-failed", "error=\"%s\"", err);
}

static int wait_for_stop(struct orc_node *n)
{
    sigset_t set;
    int sig = 0;

    stop_signals(&set);
    for (;;) {
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP)
            on_sighup(n);
        else if (sig == SIGUSR1)
            on_sigusr1();
        else
            return sig;
    }
}

int orc_node_run(const struct orc_config *cfg,
                 const char *config_file,
                 const struct orc_node_loader *loader)
{
    struct orc_node n;
    char err[ORC_ERRMSG_SIZE] = "";
    sigset_t set;
    int sig, rc;

    memset(&n, 0, sizeof(n));
    n.cfg = cfg;
    n.boot_epoch = (uint64_t)orc_wall_ms();
    orc_quorum_init(&n.quorum, (int)cfg->DefaultInstancePort);
    rc = orc_log_init(orc_log_level_parse(cfg->LogLevel), cfg->LogFile, err, sizeof(err));
    if (rc == 0)
        rc = orc_reload_init(&n.reload, cfg, loader, err, sizeof(err));
    if (rc == 0)
        rc = orc_rcfg_init(&n.rcfg, cfg, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "orchestrator: %s\n", err);
        return 1;
    }
    orc_log_set_syslog(cfg->EnableSyslog);
    /* Block the signals before any thread exists, so all inherit the mask. */
    stop_signals(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (disc_library_init(err, sizeof(err)) != 0) {
        ORC_LOG_E("+service-failed", "error=\"%s\"", err);
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT); /* raft proxy and joiner, before threads */
    ORC_LOG_N("+service-starting", "version=%s config=%s", ORC_VERSION,
              config_file ? config_file : "(default paths)");
    log_advertise(cfg);
    rc = rec_hooks_validate_config(cfg, err, sizeof(err));
    if (rc == 0)
        rc = open_backend(&n, err, sizeof(err));
    if (rc == 0)
        rc = start_discovery(&n, err, sizeof(err));
    if (rc == 0)
        rc = start_raft(&n, err, sizeof(err));
    if (rc == 0)
        rc = start_recovery(&n, err, sizeof(err));
    if (rc == 0)
        rc = start_http(&n, err, sizeof(err));
    if (rc != 0) {
        ORC_LOG_E("+service-failed", "error=\"%s\"", err);
        stop_all(&n);
        orc_rcfg_release(&n.rcfg);
        orc_reload_release(&n.reload);
        disc_library_end();
        curl_global_cleanup();
        return 1;
    }
    ORC_LOG_N("+service-started", "listen=%s port=%d backend=%s", cfg->ListenAddress,
              web_server_port(n.http), cfg->BackendDB);
    sig = wait_for_stop(&n);
    ORC_LOG_N("+service-stopping", "signal=%s", strsignal(sig));
    stop_all(&n);
    orc_quorum_release(&n.quorum);
    free(n.report.last);
    orc_rcfg_release(&n.rcfg);
    orc_reload_release(&n.reload);
    disc_library_end();
    curl_global_cleanup();
    ORC_LOG_N("+service-stopped", "signal=%s", strsignal(sig));
    orc_log_close();
    return 0;
}
