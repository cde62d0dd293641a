/*
 * fsm_log: applying raft log entries to the store exactly once, and only
 * entries of this node's own log.
 *
 * The store records, in the transaction of each command, the index of the
 * last entry applied (raft_applied, part of snapshots) and which log it
 * counts in (raft_log_identity: the id kept in this node's RaftDataDir and
 * the entry's term; not part of snapshots). So:
 *   - an entry the store already has (a log replayed at restart) is skipped;
 *   - a store that counts in another log (the RaftDataDir was wiped, or two
 *     nodes share one MySQL backend) is refused instead of silently skipping
 *     the new log's first entries;
 *   - a backend failure (be_transient_failures moved during the command)
 *     records nothing: the caller retries the entry; a command refused by
 *     its own logic (the same on every node) is recorded, whatever its code.
 */
#include <string.h>

#include "backend/be.h"
#include "orchestrator/fsm.h"
#include "orchestrator/fsm_int.h"

struct log_state {
    int64_t applied, term;
    char log_id[ORC_FSM_LOG_ID_MAX];
};

static int read_applied(void *ctx, int ncols, const char *const *vals, const char *const *names)
{
    struct log_state *s = ctx;

    (void)ncols;
    (void)names;
    if (vals[0] != NULL)
        orc_parse_int64(vals[0], 0, INT64_MAX, &s->applied);
    return 0;
}

static int read_identity(void *ctx, int ncols, const char *const *vals, const char *const *names)
{
    struct log_state *s = ctx;

    (void)ncols;
    (void)names;
    orc_strlcpy(s->log_id, vals[0] ? vals[0] : "", sizeof(s->log_id));
    if (vals[1] != NULL)
        orc_parse_int64(vals[1], 0, INT64_MAX, &s->term);
    return 0;
}

static int log_state_read(struct be *be, struct log_state *s, char *errmsg, size_t len)
{
    int rc;

    memset(s, 0, sizeof(*s));
    rc = be_query(be, "SELECT applied_index FROM raft_applied WHERE anchor = 1", NULL, 0,
                  read_applied, s, errmsg, len);
    if (rc == 0)
        rc = be_query(be, "SELECT log_id, applied_term FROM raft_log_identity WHERE anchor = 1",
                      NULL, 0, read_identity, s, errmsg, len);
    return rc;
}

static int log_state_write(struct be *be, const struct orc_fsm_entry *e, char *errmsg, size_t len)
{
    static const char *const acols[] = {"anchor", "applied_index"};
    static const char *const icols[] = {"anchor", "log_id", "applied_term"};
    struct be_val av[] = {BE_VINT(1), BE_VINT((int64_t)e->index)};
    struct be_val iv[] = {BE_VINT(1), BE_VTEXT(e->log_id), BE_VINT((int64_t)e->term)};
    int rc = be_upsert(be, "raft_applied", acols, 2, 1, av, 1, errmsg, len);

    if (rc == 0)
        rc = be_upsert(be, "raft_log_identity", icols, 3, 1, iv, 1, errmsg, len);
    return rc;
}

bool orc_fsm_rc_transient(int rc)
{
    /* The backend (server, file, memory, a lock) failed, not the statement:
     * another try may work. ORC_EDB is the statement's own error (e.g. a
     * constraint), the same on every node. */
    return rc == ORC_ETIMEDOUT || rc == ORC_EIO || rc == ORC_ENOMEM;
}

/* Refuses an entry of another log, or one whose term differs from the term
 * the store recorded for the same index (the log was replaced). */
static int check_identity(const struct log_state *s,
                          const struct orc_fsm_entry *e,
                          char *errmsg,
                          size_t len)
{
    if (s->log_id[0] != '\0' && strcmp(s->log_id, e->log_id) != 0) {
        orc_errf(errmsg, len,
                 "the store applied raft log '%s' up to index %lld, this node's log is '%s'",
                 s->log_id, (long long)s->applied, e->log_id);
        return ORC_ESTATE;
    }
    if ((int64_t)e->index == s->applied && s->term != 0 && e->term != 0 &&
        (int64_t)e->term != s->term) {
        orc_errf(errmsg, len, "entry %llu has term %llu in the log but %lld in the store",
                 (unsigned long long)e->index, (unsigned long long)e->term, (long long)s->term);
        return ORC_ESTATE;
    }
    return 0;
}

/* Records the index of a refused command whose transaction could not commit
 * (an inner rollback dooms it). */
static int record_only(struct orc_fsm *f, const struct orc_fsm_entry *e, char *errmsg, size_t len)
{
    int rc = be_begin(f->be, errmsg, len);

    if (rc == 0)
        rc = log_state_write(f->be, e, errmsg, len);
    if (rc == 0)
        return be_commit(f->be, errmsg, len);
    be_rollback(f->be, NULL, 0);
    return rc;
}

/* Runs the command in the open transaction and ends it. */
static int apply_in_txn(struct orc_fsm *f,
                        const struct orc_fsm_entry *e,
                        const char *op,
                        const json_t *p,
                        json_t **result,
                        int *cmd_rc,
                        char *errmsg,
                        size_t len)
{
    char werr[ORC_ERRMSG_SIZE] = "";
    uint64_t failures = be_transient_failures(f->be);
    /* the transaction holds the backend's lock: commands run one at a time
     * without f->lock, which is taken before the backend's elsewhere */
    int rc, crc = fsm_apply_serialized(f, op, p, result, errmsg, len);

    /* The backend itself failed during the command (whatever code the
     * handler made of it): nothing is recorded, the entry is tried again. */
    if (be_transient_failures(f->be) != failures) {
        be_rollback(f->be, NULL, 0);
        json_decref(*result);
        *result = NULL;
        return orc_fsm_rc_transient(crc) ? crc : ORC_EIO;
    }
    rc = log_state_write(f->be, e, werr, sizeof(werr));
    if (rc == 0)
        rc = be_commit(f->be, werr, sizeof(werr));
    else
        be_rollback(f->be, NULL, 0);
    /* A refused command whose transaction an inner rollback doomed: its
     * index alone is recorded (unless the backend failed meanwhile). */
    if (rc != 0 && crc != 0 && be_transient_failures(f->be) == failures)
        rc = record_only(f, e, werr, sizeof(werr));
    if (rc != 0) {
        json_decref(*result);
        *result = NULL;
        orc_errf(errmsg, len, "record index %llu: %s", (unsigned long long)e->index, werr);
        return rc;
    }
    *cmd_rc = crc;
    return 0;
}

int orc_fsm_apply_index(struct orc_fsm *f,
                        const struct orc_fsm_entry *e,
                        const char *op,
                        const json_t *p,
                        json_t **result,
                        int *cmd_rc,
                        char *errmsg,
                        size_t len)
{
    struct log_state s;
    int rc;

    *result = NULL;
    *cmd_rc = 0;
    rc = be_begin(f->be, errmsg, len);
    if (rc == 0)
        rc = log_state_read(f->be, &s, errmsg, len);
    if (rc == 0)
        rc = check_identity(&s, e, errmsg, len);
    if (rc == 0 && (int64_t)e->index <= s.applied) {
        /* Replayed after a restart: this store has it already. */
        ORC_LOG_D("+command-replayed", "op=%s index=%llu applied=%lld", op,
                  (unsigned long long)e->index, (long long)s.applied);
        be_rollback(f->be, NULL, 0);
        return 0;
    }
    if (rc != 0) {
        be_rollback(f->be, NULL, 0);
        return rc;
    }
    return apply_in_txn(f, e, op, p, result, cmd_rc, errmsg, len);
}

int orc_fsm_log_claim(struct orc_fsm *f,
                      const char *log_id,
                      bool pristine,
                      char *errmsg,
                      size_t len)
{
    static const char *const icols[] = {"anchor", "log_id", "applied_term"};
    struct be_val iv[] = {BE_VINT(1), BE_VTEXT(log_id), BE_VINT(0)};
    struct log_state s;
    bool claimed = false;
    int rc = be_begin(f->be, errmsg, len);

    /* Claim first, read after: of two nodes starting on one shared store,
     * the second's insert waits for the first's and is ignored, and its
     * read then sees the first one's log. */
    if (rc == 0)
        rc = be_insert_ignore(f->be, "raft_log_identity", icols, 3, iv, &claimed, errmsg, len);
    if (rc == 0)
        rc = log_state_read(f->be, &s, errmsg, len);
    if (rc == 0 && s.log_id[0] == '\0')
        rc = be_upsert(f->be, "raft_log_identity", icols, 3, 1, iv, 1, errmsg, len);
    if (rc == 0 && s.log_id[0] != '\0' && strcmp(s.log_id, log_id) != 0) {
        orc_errf(errmsg, len,
                 "the store holds state applied from raft log '%s' (up to index %lld), not from "
                 "this RaftDataDir's log '%s': the RaftDataDir was replaced, or another node "
                 "uses the same backend",
                 s.log_id, (long long)s.applied, log_id);
        rc = ORC_ESTATE;
    } else if (rc == 0 && (claimed || s.log_id[0] == '\0') && s.applied > 0 && pristine) {
        orc_errf(errmsg, len,
                 "the store holds state applied from a raft log up to index %lld, but the "
                 "RaftDataDir is new (wiped?)",
                 (long long)s.applied);
        rc = ORC_ESTATE;
    }
    if (rc == 0)
        return be_commit(f->be, errmsg, len);
    be_rollback(f->be, NULL, 0);
    return rc;
}
