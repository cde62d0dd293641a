/*
 * raft_start: bringing raft up and down. orc_raft_start resolves this node's
 * addresses and the bootstrap configuration, creates RaftDataDir, starts the
 * applier and then the loop thread, which creates every libuv handle and
 * starts raft (bootstrap first when this node is listed in its RaftNodes:
 * RAFT_CANTBOOTSTRAP only means "not pristine") and reports back through a
 * handshake. orc_raft_stop queues a STOP (raft.c: hand-over, then close) and
 * joins the threads.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "orchestrator/fsm.h"
#include "orchestrator/raft_int.h"

#define ORC_RAFT_LOG_ID_FILE "orc-log-id"

/* ---- loop thread: start ---- */

static void abort_close_cb(struct raft *raft)
{
    struct orc_raft *r = raft->data;

    raft_uv_close(&r->io);
    orc_raft_auth_close(&r->transport);
}

static void tune(struct orc_raft *r)
{
    unsigned threshold = (unsigned)r->cfg->RaftSnapshotThreshold;

    raft_set_heartbeat_timeout(&r->raft, ORC_RAFT_HEARTBEAT_MS);
    raft_set_election_timeout(&r->raft, ORC_RAFT_ELECTION_MS);
    raft_set_pre_vote(&r->raft, true);
    r->threshold = threshold;
    raft_set_snapshot_threshold(&r->raft, threshold);
    raft_set_snapshot_trailing(&r->raft, threshold < 128 ? threshold : 128);
    raft_uv_set_connect_retry_delay(&r->io, 50);
}

/* Creates the handles and starts raft; on failure everything created is
 * closed again (the caller runs the loop to let the close callbacks end). */
static int loop_init(struct orc_raft *r, char *err, size_t len)
{
    int rv;

    rv = orc_raft_auth_init(&r->transport, &r->loop, r->bind, r->cfg->RaftSecret, err, len);
    if (rv != 0)
        return rv;
    rv = raft_uv_init(&r->io, &r->loop, r->dir, &r->transport);
    if (rv != 0) {
        orc_errf(err, len, "raft I/O in '%s' bound to %s: %s", r->dir, r->bind,
                 r->io.errmsg[0] ? r->io.errmsg : raft_strerror(rv));
        orc_raft_auth_close(&r->transport);
        return ORC_EIO;
    }
    /* raft_uv 0.15 implements async_work (the io version 2 method) but still
     * says version 1, and raft_init refuses asynchronous snapshots (fsm
     * version 3) unless the io says 2. Nothing else reads the io version. */
    if (r->io.async_work != NULL && r->io.version < 2)
        r->io.version = 2;
    orc_raft_fsm_setup(r);
    rv = raft_init(&r->raft, &r->io, &r->rfsm, r->id, r->advertise);
    if (rv != 0) {
        orc_errf(err, len, "raft_init: %s", raft_errmsg(&r->raft));
        raft_uv_close(&r->io);
        orc_raft_auth_close(&r->transport);
        return ORC_EIO;
    }
    r->raft.data = r;
    tune(r);
    if (r->bootstrap) {
        rv = raft_bootstrap(&r->raft, &r->boot);
        if (rv != 0 && rv != RAFT_CANTBOOTSTRAP) {
            orc_errf(err, len, "raft_bootstrap: %s", raft_errmsg(&r->raft));
            raft_close(&r->raft, abort_close_cb);
            return ORC_EIO;
        }
        if (rv == 0)
            ORC_LOG_N("+raft-bootstrapped", "voters=%u", r->boot.n);
    }
    rv = raft_start(&r->raft);
    if (rv != 0) {
        orc_errf(err, len, "raft_start: %s", raft_errmsg(&r->raft));
        raft_close(&r->raft, abort_close_cb);
        return ORC_EIO;
    }
    uv_async_init(&r->loop, &r->async, orc_raft_async_cb);
    r->async.data = r;
    uv_timer_init(&r->loop, &r->timer);
    r->timer.data = r;
    uv_timer_start(&r->timer, orc_raft_tick_cb, 0, ORC_RAFT_POLL_MS);
    uv_check_init(&r->loop, &r->check);
    r->check.data = r;
    uv_check_start(&r->check, orc_raft_check_cb);
    pthread_mutex_lock(&r->qlock);
    r->accepting = true;
    pthread_mutex_unlock(&r->qlock);
    return 0;
}

static void *loop_main(void *arg)
{
    struct orc_raft *r = arg;
    char err[ORC_ERRMSG_SIZE] = "";
    int rc = uv_loop_init(&r->loop);

    if (rc != 0)
        orc_errf(err, sizeof(err), "uv_loop_init: %s", uv_strerror(rc));
    else
        rc = loop_init(r, err, sizeof(err));
    pthread_mutex_lock(&r->start_mu);
    r->start_done = true;
    r->start_rc = rc;
    orc_strlcpy(r->start_err, err, sizeof(r->start_err));
    pthread_cond_broadcast(&r->start_cv);
    pthread_mutex_unlock(&r->start_mu);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&r->loop) != 0)
        ORC_LOG_W("+raft-loop-busy", "handles still open at exit");
    return NULL;
}

/* ---- start (caller thread) ---- */

static int make_dir(const char *path, char *errmsg, size_t len)
{
    char p[1024];

    if (orc_strlcpy(p, path, sizeof(p)) != 0) {
        orc_errf(errmsg, len, "RaftDataDir '%s': path too long", path);
        return ORC_ECONFIG;
    }
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST)
            goto fail;
        *s = '/';
    }
    if (mkdir(p, 0700) == 0 || errno == EEXIST) {
        (void)chmod(p, 0700); /* the raft log: owner only, also when the dir existed */
        return 0;
    }
fail:
    orc_errf(errmsg, len, "RaftDataDir '%s': cannot create '%s': %s", path, p, strerror(errno));
    return ORC_EIO;
}

/* True when dir holds no raft data yet (only what we put there). */
static bool dir_pristine(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    bool empty = true;

    if (d == NULL)
        return true;
    while (empty && (de = readdir(d)) != NULL)
        empty = de->d_name[0] == '.' || strcmp(de->d_name, ORC_RAFT_LOG_ID_FILE) == 0 ||
                strncmp(de->d_name, "orc-leader-uris", 15) == 0;
    closedir(d);
    return empty;
}

static int write_log_id(const char *path, const char *id, char *errmsg, size_t len)
{
    char tmp[1110];
    FILE *f;
    int ok;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    if (f == NULL) {
        orc_errf(errmsg, len, "create '%s': %s", tmp, strerror(errno));
        return ORC_EIO;
    }
    ok = fprintf(f, "%s\n", id) > 0;
    ok = fflush(f) == 0 && ok && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        orc_errf(errmsg, len, "write '%s': %s", path, strerror(errno));
        unlink(tmp);
        return ORC_EIO;
    }
    return 0;
}

/* This node's raft log id (RaftDataDir/orc-log-id), created with the log;
 * *pristine: the dir had no raft data. */
static int log_identity(struct orc_raft *r, bool *pristine, char *errmsg, size_t len)
{
    char path[1100], buf[80] = "";
    unsigned char raw[16];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", r->dir, ORC_RAFT_LOG_ID_FILE);
    *pristine = dir_pristine(r->dir);
    f = fopen(path, "r");
    if (f != NULL) {
        if (fgets(buf, sizeof(buf), f) == NULL)
            buf[0] = '\0';
        fclose(f);
        buf[strcspn(buf, "\r\n")] = '\0';
    }
    if (buf[0] != '\0')
        return orc_strlcpy(r->log_id, buf, sizeof(r->log_id));
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
        orc_errf(errmsg, len, "getrandom: %s", strerror(errno));
        return ORC_EIO;
    }
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(r->log_id + 2 * i, sizeof(r->log_id) - 2 * i, "%02x", raw[i]);
    ORC_LOG_N("+raft-log-id", "id=%s dir=%s pristine=%s", r->log_id, r->dir,
              *pristine ? "yes" : "no");
    return write_log_id(path, r->log_id, errmsg, len);
}

/* The store must count in this node's raft log (or in none yet). */
static int check_store(struct orc_raft *r, char *errmsg, size_t len)
{
    bool pristine = false;
    int rc = log_identity(r, &pristine, errmsg, len);

    if (rc == 0)
        rc = orc_fsm_log_claim(r->fsm, r->log_id, pristine, errmsg, len);
    if (rc == ORC_ESTATE)
        orc_errprefix(errmsg, len,
                      "refusing to start: applying this raft log would skip or repeat "
                      "commands. Restore the RaftDataDir that belongs to this store, or start "
                      "with an empty store (remove the SQLite file / drop the MySQL database) "
                      "to rebuild it from the cluster");
    return rc;
}

/* The bootstrap configuration from RaftNodes; decides r->bootstrap. */
static int boot_config(struct orc_raft *r, char *errmsg, size_t len)
{
    const struct orc_config *c = r->cfg;
    char addr[ORC_RAFT_ADDR_MAX];
    bool self = c->RaftNodes.n == 0;
    int rc;

    raft_configuration_init(&r->boot);
    for (size_t i = 0; i < c->RaftNodes.n; i++) {
        rc = orc_raft_addr_normalize(c->RaftNodes.v[i], (int)c->DefaultRaftPort, addr, sizeof(addr),
                                     errmsg, len);
        if (rc != 0) {
            orc_errprefix(errmsg, len, "RaftNodes");
            return ORC_ECONFIG;
        }
        self = self || strcmp(addr, r->advertise) == 0;
        rc = raft_configuration_add(&r->boot, orc_raft_id_of(addr), addr, RAFT_VOTER);
        if (rc != 0) {
            orc_errf(errmsg, len, "RaftNodes: '%s': %s", c->RaftNodes.v[i], raft_strerror(rc));
            return ORC_ECONFIG;
        }
    }
    if (self && c->RaftNonVoter && c->RaftNodes.n > 0) {
        orc_errf(errmsg, len, "RaftNonVoter: this node (%s) must not be listed in RaftNodes",
                 r->advertise);
        return ORC_ECONFIG;
    }
    if (c->RaftNodes.n == 0 && !c->RaftNonVoter)
        raft_configuration_add(&r->boot, r->id, r->advertise, RAFT_VOTER);
    r->bootstrap = self && !c->RaftNonVoter;
    return 0;
}

static int resolve_self(struct orc_raft *r, char *errmsg, size_t len)
{
    const struct orc_config *c = r->cfg;
    const char *bp, *ap;
    int rc;

    rc = orc_raft_addr_normalize(c->RaftAdvertise, (int)c->DefaultRaftPort, r->advertise,
                                 sizeof(r->advertise), errmsg, len);
    if (rc == 0)
        rc = orc_raft_addr_normalize(c->RaftBind, (int)c->DefaultRaftPort, r->bind, sizeof(r->bind),
                                     errmsg, len);
    if (rc != 0) {
        orc_errprefix(errmsg, len, "RaftBind/RaftAdvertise");
        return ORC_ECONFIG;
    }
    bp = strrchr(r->bind, ':');
    ap = strrchr(r->advertise, ':');
    if (strcmp(bp, ap) != 0) { /* raft_uv_tcp: "the port must match" */
        orc_errf(errmsg, len, "RaftBind (%s) and RaftAdvertise (%s) must use the same port",
                 r->bind, r->advertise);
        return ORC_ECONFIG;
    }
    r->id = orc_raft_id_of(r->advertise);
    if (orc_raft_http_uri(c, r->http_uri, sizeof(r->http_uri)) != 0) {
        orc_errf(errmsg, len, "cannot derive this node's HTTP URI (set HTTPAdvertise)");
        return ORC_ECONFIG;
    }
    if (orc_strlcpy(r->dir, c->RaftDataDir, sizeof(r->dir)) != 0) {
        orc_errf(errmsg, len, "RaftDataDir: path too long");
        return ORC_ECONFIG;
    }
    return 0;
}

static struct orc_raft *raft_new(const struct orc_config *cfg, struct orc_fsm *fsm)
{
    struct orc_raft *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    r->cfg = cfg;
    r->fsm = fsm;
    r->start_ms = orc_mono_ms();
    pthread_mutex_init(&r->start_mu, NULL);
    orc_cond_init(&r->start_cv);
    pthread_mutex_init(&r->qlock, NULL);
    pthread_mutex_init(&r->slock, NULL);
    pthread_mutex_init(&r->ready_lock, NULL);
    pthread_mutex_init(&r->alock, NULL);
    orc_cond_init(&r->acv);
    orc_cond_init(&r->adone);
    orc_cond_init(&r->jcv);
    orc_buf_init(&r->dump);
    r->st.state = "Shutdown";
    raft_configuration_init(&r->boot);
    return r;
}

static int start_loop(struct orc_raft *r, char *errmsg, size_t len)
{
    struct timespec ts;
    int e = pthread_create(&r->loop_thread, NULL, loop_main, r);

    if (e != 0) {
        orc_errf(errmsg, len, "start the raft loop: %s", strerror(e));
        return ORC_EIO;
    }
    r->loop_started = true;
    orc_deadline(&ts, 30000);
    pthread_mutex_lock(&r->start_mu);
    while (!r->start_done)
        if (pthread_cond_timedwait(&r->start_cv, &r->start_mu, &ts) == ETIMEDOUT)
            break;
    e = r->start_done ? r->start_rc : ORC_ETIMEDOUT;
    if (e != 0)
        orc_errf(errmsg, len, "%s", r->start_done ? r->start_err : "raft did not start in 30 s");
    pthread_mutex_unlock(&r->start_mu);
    if (e != 0 && r->start_done) { /* the loop ends once the handles closed */
        pthread_join(r->loop_thread, NULL);
        r->loop_started = false;
    }
    return e;
}

int orc_raft_start(const struct orc_config *cfg,
                   struct orc_fsm *fsm,
                   struct orc_raft **out,
                   char *errmsg,
                   size_t len)
{
    struct orc_raft *r = raft_new(cfg, fsm);
    int rc;

    if (r == NULL)
        return ORC_ENOMEM;
    rc = resolve_self(r, errmsg, len);
    if (rc == 0)
        rc = orc_raft_auth_check(cfg, r->bind, errmsg, len);
    if (rc == 0)
        rc = boot_config(r, errmsg, len);
    if (rc == 0)
        rc = make_dir(r->dir, errmsg, len);
    if (rc == 0)
        rc = check_store(r, errmsg, len);
    if (rc == 0)
        orc_raft_uris_load(r);
    if (rc == 0)
        rc = orc_raft_applier_start(r, errmsg, len);
    if (rc == 0)
        rc = start_loop(r, errmsg, len);
    if (rc == 0)
        rc = orc_raft_joiner_start(r, errmsg, len);
    if (rc != 0) {
        orc_raft_free(r);
        return rc;
    }
    ORC_LOG_N("+raft-started",
              "id=%llu advertise=%s bind=%s http=%s dir=%s bootstrap=%s nonvoter=%s "
              "heartbeat_ms=%d election_ms=%d",
              (unsigned long long)r->id, r->advertise, r->bind, r->http_uri, r->dir,
              r->bootstrap ? "yes" : "no", cfg->RaftNonVoter ? "yes" : "no", ORC_RAFT_HEARTBEAT_MS,
              ORC_RAFT_ELECTION_MS);
    *out = r;
    return 0;
}

void orc_raft_stop(struct orc_raft *r)
{
    char err[ORC_ERRMSG_SIZE] = "";
    struct orc_raft_req *q;
    int64_t t0 = orc_mono_ms();

    if (r == NULL || r->stopped)
        return;
    orc_raft_joiner_stop(r);
    if (r->loop_started) {
        q = orc_raft_req_new(ORC_RREQ_STOP);
        if (q != NULL &&
            orc_raft_req_run(r, q, 4 * ORC_RAFT_ELECTION_MS + 5000, NULL, err, sizeof(err)) != 0)
            ORC_LOG_W("+raft-stop", "error=\"%s\"", err);
        pthread_join(r->loop_thread, NULL);
        r->loop_started = false;
    }
    orc_raft_applier_stop(r);
    pthread_mutex_lock(&r->slock);
    r->stopped = true;
    r->st.state = "Shutdown";
    r->st.is_leader = false;
    pthread_mutex_unlock(&r->slock);
    ORC_LOG_N("+raft-stopped", "after_ms=%lld", (long long)(orc_mono_ms() - t0));
}

void orc_raft_free(struct orc_raft *r)
{
    if (r == NULL)
        return;
    orc_raft_stop(r);
    raft_configuration_close(&r->boot);
    orc_buf_release(&r->dump);
    pthread_mutex_destroy(&r->start_mu);
    pthread_cond_destroy(&r->start_cv);
    pthread_mutex_destroy(&r->qlock);
    pthread_mutex_destroy(&r->slock);
    pthread_mutex_destroy(&r->ready_lock);
    pthread_mutex_destroy(&r->alock);
    pthread_cond_destroy(&r->acv);
    pthread_cond_destroy(&r->adone);
    pthread_cond_destroy(&r->jcv);
    free(r);
}
