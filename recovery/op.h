/*
 * op: the one operation engine. Every operation that acts on servers (the
 * dead master failover, the graceful takeover, relocations, replication
 * control) is a run of it:
 *
 *   - a uid (one scheme for all) and the leadership epoch it started in,
 *     checked before every step (rec_op_enter) and inside long steps
 *     (rec_op_lost_leadership);
 *   - its steps, logged (+<kind>-step) and kept; when the run is a
 *     registered recovery they are also written as recovery steps, at once
 *     or in batches (rec_op_flush_steps) off a critical path;
 *   - its errors, one per line, the first cause kept apart (curl's rule:
 *     the root cause is the one that survives);
 *   - the replicated commands it issues (rec_op_submit): register and
 *     resolve a recovery, audit entries (write-audit), ...;
 *   - a result JSON (rec_op_result_json).
 *
 * An operation is then mostly a table of steps (struct rec_op_step) run by
 * rec_op_run_steps, or, for the state machines (failover, takeover), a
 * sequence of rec_op_enter + one function per state.
 *
 * Internal to the recovery module. Threads: a run belongs to the thread
 * that runs it (never the loop thread); the env is shared and read-only.
 */
#ifndef ORC_REC_OP_H
#define ORC_REC_OP_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/orc.h"
#include "recovery/rec.h"

struct rec_op {
    struct rec_env *env; /* borrowed */
    const char *kind;    /* static: log events are +<kind>-step, +<kind>-error */
    char uid[64];
    int64_t id; /* the registered recovery's id; 0: not a recovery */
    int64_t blocking_id;
    uint64_t epoch;         /* the leadership epoch the run acts in; 0: not the leader */
    int64_t started_ms;     /* wall clock */
    const char *state;      /* static: the step running, for logs; NULL: none */
    bool batch_steps;       /* recovery steps are written only by rec_op_flush_steps */
    json_t *steps;          /* [{At, Message}], every step of the run */
    size_t flushed;         /* steps[0..flushed) were written as recovery steps */
    struct orc_buf *errors; /* one per line; the caller's buffer or own_errors */
    struct orc_buf own_errors;
    char first_error[ORC_ERRMSG_SIZE]; /* "" until an error is recorded */
    int64_t maint_id[4];               /* maintenance taken by the run (rec_op_maintenance_begin) */
    int nmaint;
};

/* Starts a run: a new uid, the current epoch, the start time. errors (may be
 * NULL: the run keeps its own) receives the errors; it is borrowed. Returns
 * 0 or ORC_ENOMEM. Release with rec_op_release. */
int rec_op_init(struct rec_op *op, struct rec_env *env, const char *kind, struct orc_buf *errors);
void rec_op_release(struct rec_op *op);

/* Records a step: logged, kept, and written as a recovery step when the run
 * is a registered recovery (unless batch_steps). */
void rec_op_step(struct rec_op *op, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes the steps not yet written (a registered recovery only). */
void rec_op_flush_steps(struct rec_op *op);
/* Records an error (logged, appended to the errors; the first is kept). */
void rec_op_error(struct rec_op *op, const char *msg);
/* Submits a replicated command; payload is stolen (NULL is fine: nothing is
 * sent). A failure is recorded as an error. */
void rec_op_submit(struct rec_op *op, const char *cmd, json_t *payload);

/* Enters the step `state` (static name): ORC_EPERM with errmsg set when this
 * node no longer leads in the run's epoch. */
int rec_op_enter(struct rec_op *op, const char *state, char *errmsg, size_t len);
/* Inside long steps: true (with errmsg set) once leadership of the run's
 * epoch is lost. */
bool rec_op_lost_leadership(struct rec_op *op, char *errmsg, size_t len);

/* One step of an operation described as a table. */
struct rec_op_step {
    const char *name; /* static */
    int (*run)(struct rec_op *op, void *ctx, char *errmsg, size_t len);
};
/* Runs the steps in order, each entered with rec_op_enter; the first that
 * fails stops the run, its error is recorded and returned (errmsg set). */
int rec_op_run_steps(struct rec_op *op,
                     const struct rec_op_step *v,
                     size_t n,
                     void *ctx,
                     char *errmsg,
                     size_t len);

/* ---- maintenance for the length of an operation ---- */

/* As orchestrator: an operation that changes an instance's replication
 * holds maintenance on it (a replicated begin-maintenance, reason = the
 * operation), which also keeps two operations off the same instance.
 * ORC_ESTATE when k is already under maintenance. At most 4 per run. */
int rec_op_maintenance_begin(struct rec_op *op,
                             const struct orc_key *k,
                             const char *reason,
                             int64_t seconds,
                             char *errmsg,
                             size_t len);
/* Ends every maintenance the run took (best effort, logged). */
void rec_op_maintenance_end(struct rec_op *op);

/* ---- a run that is a recovery (failover, takeover) ---- */

struct rec_op_registration {
    const struct orc_key *key; /* the failed / demoted master */
    const char *analysis;
    const char *cluster;
    const char *alias;
    int count_replicas;
    const char *replica_hosts; /* "h:p,h:p" */
    const char *token;         /* ProcessingNodeToken: "<epoch>" or "<epoch>/graceful" */
    int64_t detection_id;
    bool force;
};
/* register-recovery: sets op->id (and op->blocking_id when blocked). Returns
 * the command's code: 0, ORC_EEXIST when blocked by anti-flapping, ... */
int rec_op_register(struct rec_op *op,
                    const struct rec_op_registration *r,
                    char *errmsg,
                    size_t len);
/* rec_op_register for the failure a (its master, replicas, cluster), with
 * the run's epoch as token; blocked, errmsg names the blocking recovery. */
int rec_op_register_analysis(struct rec_op *op,
                             const struct rec_analysis *a,
                             int64_t detection_id,
                             char *errmsg,
                             size_t len);
/* resolve-recovery (a registered recovery only): successor NULL when none;
 * lost and participants are "h:p,h:p" lists; AllErrors are the run's. */
void rec_op_resolve(struct rec_op *op,
                    const struct orc_key *key,
                    const struct orc_key *successor,
                    bool successful,
                    const char *lost,
                    const char *participants);
/* Appends "h:p,h:p" for the n keys to out. */
void rec_op_keys_csv(const struct orc_key *keys, size_t n, struct orc_buf *out);

/* ---- audit ---- */

/* Writes an audit entry (a replicated write-audit command; best effort) and
 * logs it (+planned-op). */
void rec_op_audit(struct rec_env *env,
                  const char *type,
                  const struct orc_key *k,
                  const char *cluster,
                  const char *fmt,
                  ...) __attribute__((format(printf, 5, 6)));

/* ---- the result ---- */

/* {"UID", "Kind", "Id", "Epoch", "Successful", "DurationMs", "Steps":
 * [messages], "Errors": [lines], "FirstError"}: a new reference. */
json_t *rec_op_result_json(const struct rec_op *op, bool successful);

/* ---- PromotionIgnoreHostnameFilters ---- */

struct rec_op_filters {
    regex_t *v;
    size_t n;
};
/* Compiles the patterns (POSIX extended); ORC_ECONFIG names a bad one. */
int rec_op_filters_compile(struct rec_op_filters *f,
                           const struct orc_strlist *l,
                           const char *what,
                           char *errmsg,
                           size_t len);
bool rec_op_filters_match(const struct rec_op_filters *f, const char *host);
void rec_op_filters_release(struct rec_op_filters *f);

#endif
