/*
 * fence: keeps the old masters of failed-over clusters read-only. A
 * failover records its old master as fenced (replicated: fence-instance);
 * the leader's fencer thread then checks every fenced instance: while it is
 * unreachable it tries again every FENCE_RETRY_MS (a frozen or partitioned
 * master that comes back is caught within about a second), and whenever it
 * answers writable it sets read_only=1 (and super_read_only where the
 * flavor has it) at once, logged and recorded as a step of the recovery
 * that fenced it: a resumed old master beside a new one is a split brain.
 * Replication is never started on it. The fence ends when the instance is
 * forgotten, made writable by an operator (set-writeable), or becomes the
 * successor of a later recovery (fsm_recovery.c).
 *
 * The fencer is its own thread (owned by the recovery loop) so that a hung
 * old master, whose connection attempts take up to the connect timeout,
 * never delays failure detection.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/be.h"
#include "recovery/ops.h"
#include "recovery/rec.h"

#define FENCE_TICK_MS 200
#define FENCE_RETRY_MS 200   /* unreachable or just fenced: look again soon */
#define FENCE_VERIFY_MS 2000 /* read-only: check it stays so */

struct fstate {
    struct orc_key key;
    int64_t next_ms;
    bool verified;   /* seen read-only at least once */
    int64_t note_ms; /* last "still unreachable" log line */
};

struct rec_fencer {
    struct rec_env *env;
    pthread_t tid;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stopping; /* lock */
    struct fstate *st;
    size_t n;
};

static struct fstate *state_of(struct rec_fencer *f, const struct orc_key *k)
{
    struct fstate *n;

    for (size_t i = 0; i < f->n; i++)
        if (orc_key_eq(&f->st[i].key, k))
            return &f->st[i];
    n = realloc(f->st, (f->n + 1) * sizeof(*n));
    if (n == NULL)
        return NULL;
    f->st = n;
    memset(&f->st[f->n], 0, sizeof(*n));
    f->st[f->n].key = *k;
    return &f->st[f->n++];
}

/* Forgets the states of instances no longer fenced. */
static void prune(struct rec_fencer *f, const struct be_fence_list *l)
{
    size_t keep = 0;

    for (size_t i = 0; i < f->n; i++) {
        bool fenced = false;
        for (size_t j = 0; j < l->n && !fenced; j++)
            fenced = orc_key_eq(&l->v[j].key, &f->st[i].key);
        if (fenced)
            f->st[keep++] = f->st[i];
    }
    f->n = keep;
}

static void record(struct rec_fencer *f, const struct be_fence *fe, const char *msg)
{
    char err[ORC_ERRMSG_SIZE] = "";

    if (f->env->submit == NULL || fe->recovery_uid == NULL || fe->recovery_uid[0] == '\0')
        return;
    if (f->env->submit(f->env->node, "write-recovery-step",
                       json_pack("{s:s, s:I, s:s}", "UID", fe->recovery_uid, "At",
                                 (json_int_t)orc_wall_s(), "Message", msg),
                       err, sizeof(err)) != 0)
        ORC_LOG_W("+fence-record-failed", "instance=%s:%d error=\"%s\"", fe->key.host, fe->key.port,
                  err);
}

/* One look at one fenced instance. */
static void check_one(struct rec_fencer *f, const struct be_fence *fe, struct fstate *st)
{
    struct rec_session_options so;
    struct rec_session *s = NULL;
    struct disc_instance in;
    char err[ORC_ERRMSG_SIZE] = "", msg[512];
    int64_t now = orc_mono_ms();

    rec_env_session_options(f->env, &so);
    so.conn.connect_timeout_s = 1;
    so.conn.read_timeout_s = 2;
    so.conn.write_timeout_s = 2;
    disc_instance_init(&in);
    st->next_ms = now + FENCE_RETRY_MS;
    if (rec_session_new(&so, &s) != 0)
        return;
    if (rec_read(s, &fe->key, &in, err, sizeof(err)) != 0) {
        if (now - st->note_ms >= 60000) {
            st->note_ms = now;
            ORC_LOG_I("+fence-pending", "instance=%s:%d reason=unreachable error=\"%s\"",
                      fe->key.host, fe->key.port, err);
        }
    } else if (in.read_only) {
        if (!st->verified)
            ORC_LOG_N("+fence-verified", "instance=%s:%d read_only=1", fe->key.host, fe->key.port);
        st->verified = true;
        st->next_ms = now + FENCE_VERIFY_MS;
    } else if (!rec_env_leader(f->env)) {
        /* lost leadership meanwhile: the next leader's fencer acts */
    } else if (rec_set_read_only(s, &in, true, true, err, sizeof(err)) == 0) {
        snprintf(msg, sizeof(msg),
                 "fenced %s:%d: it answered writable after the failover away from it "
                 "(split brain); read_only=1 set",
                 fe->key.host, fe->key.port);
        ORC_LOG_W("+fence-split-brain", "instance=%s:%d recovery=%s action=read_only=1",
                  fe->key.host, fe->key.port, fe->recovery_uid);
        record(f, fe, msg);
    } else {
        ORC_LOG_E("+fence-failed", "instance=%s:%d error=\"%s\"", fe->key.host, fe->key.port, err);
    }
    disc_instance_release(&in);
    rec_session_free(s);
}

static void pass(struct rec_fencer *f)
{
    struct be_fence_list l = {0};
    char err[ORC_ERRMSG_SIZE] = "";

    if (!rec_env_leader(f->env)) {
        f->n = 0; /* a new leadership starts from scratch */
        return;
    }
    if (be_fence_list(f->env->be, &l, err, sizeof(err)) != 0) {
        ORC_LOG_W("+fence-list-failed", "error=\"%s\"", err);
        return;
    }
    prune(f, &l);
    for (size_t i = 0; i < l.n; i++) {
        struct fstate *st = state_of(f, &l.v[i].key);
        if (st != NULL && orc_mono_ms() >= st->next_ms)
            check_one(f, &l.v[i], st);
        pthread_mutex_lock(&f->lock);
        bool stop = f->stopping;
        pthread_mutex_unlock(&f->lock);
        if (stop)
            break;
    }
    be_fence_list_free(&l);
}

static void *fencer_main(void *arg)
{
    struct rec_fencer *f = arg;

    pthread_setname_np(pthread_self(), "orc-fence");
    pthread_mutex_lock(&f->lock);
    while (!f->stopping) {
        struct timespec ts;
        pthread_mutex_unlock(&f->lock);
        pass(f);
        pthread_mutex_lock(&f->lock);
        orc_deadline(&ts, FENCE_TICK_MS);
        if (!f->stopping)
            pthread_cond_timedwait(&f->cond, &f->lock, &ts);
    }
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

int rec_fencer_start(struct rec_env *env, struct rec_fencer **out, char *errmsg, size_t len)
{
    struct rec_fencer *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return ORC_ENOMEM;
    f->env = env;
    pthread_mutex_init(&f->lock, NULL);
    orc_cond_init(&f->cond); /* orc_deadline() times are monotonic */
    if (pthread_create(&f->tid, NULL, fencer_main, f) != 0) {
        pthread_mutex_destroy(&f->lock);
        pthread_cond_destroy(&f->cond);
        free(f);
        orc_errf(errmsg, len, "cannot start the fencer thread");
        return ORC_ENOMEM;
    }
    *out = f;
    return 0;
}

void rec_fencer_stop(struct rec_fencer *f)
{
    if (f == NULL)
        return;
    pthread_mutex_lock(&f->lock);
    f->stopping = true;
    pthread_cond_signal(&f->cond);
    pthread_mutex_unlock(&f->lock);
    pthread_join(f->tid, NULL);
    pthread_mutex_destroy(&f->lock);
    pthread_cond_destroy(&f->cond);
    free(f->st);
    free(f);
}
