/*
 * hooks: runs the operator's hook commands (OnFailureDetectionProcesses,
 * PreFailoverProcesses, PostFailoverProcesses, ...) for a recovery or a
 * takeover, with orchestrator's {placeholders} and ORC_* environment
 * variables. Internal to the recovery module.
 *
 * THE QUOTING RULE (the point of this file). Values such as the failed
 * host come from the topology servers (report_host can be any string, e.g.
 * "$(touch /tmp/x)" or "a;rm -rf /"), so they must never become shell code.
 * orchestrator pastes them into the command line; we do not. A hook line is
 * a trusted template written by the operator. Before it runs:
 *
 *   1. every value is put in the hook's environment (ORC_FAILED_HOST, ...);
 *   2. every known {placeholder} in the template is replaced by a *reference*
 *      to its variable, never by the value, quoted for where it stands:
 *        unquoted, in $(...), `...`, (...):  {failedHost} -> "${ORC_FAILED_HOST}"
 *        inside "...", or ${...} within "...": {failedHost} -> ${ORC_FAILED_HOST}
 *        inside ${...} not within "...":      {failedHost} -> "${ORC_FAILED_HOST}"
 *        inside '...' or $'...':             refused (see 3.)
 *        inside $((...)) or ((...)):         numeric placeholders only
 *                                            ({failedPort}, {successorPort},
 *                                            {countReplicas}, {countSlaves},
 *                                            {countLostReplicas}) -> ${ORC_...};
 *                                            any other one is refused.
 *      The script the shell parses therefore only ever contains the
 *      operator's text plus fixed "${ORC_NAME}" references. The shell expands
 *      a reference as data: command substitution, backquotes, ';', quotes and
 *      newlines in a value are never parsed, and in the quoted forms above
 *      the value reaches the command byte for byte (no word splitting, no
 *      globbing).
 *   3. A template is refused (ORC_EINVAL, with the reason and the column)
 *      when a placeholder stands right after a backslash, after a
 *      here-document ("<<"), inside single quotes, in an argument of a
 *      command that parses it again (eval, ssh, source, bash/sh/su -c, also
 *      behind sudo/env/timeout...), as the command name, in an arithmetic
 *      context (non-numeric placeholders: $(( )), (( )), $[ ], let, [[ ]],
 *      subscripts, ${v:offset}), or when a quote or bracket is left open.
 *      rec_hooks_validate_config checks every hook list at start.
 *   4. A placeholder inside a shell comment is left as it is. A placeholder
 *      whose value does not exist (the successor ones when there is no
 *      successor) is left as literal text, as orchestrator leaves it.
 *
 * What the rewrite cannot protect: a script or variable that hands a value
 * to something that parses it as code again without a placeholder in sight
 * (bash -c "$ORC_X", declare -i, sed/awk programs or SQL built from a
 * value). docs/hooks.md says so to operators.
 *
 * Running: each hook is `<shell> -c <rewritten line>` (shell =
 * ProcessesShellCommand, "bash" by default, looked up in PATH), with a
 * minimal environment (rec_hooks_env_build) plus the ORC_* variables, stdin from /dev/null,
 * stdout and stderr logged line by line (+hook-output, truncated), in its
 * own process group, killed (TERM, then KILL) when it runs past the
 * timeout. A line ending in '&' runs asynchronously: started at once, not
 * waited for, its errors ignored; a detached thread still logs its output,
 * enforces the timeout and reaps it (no zombies).
 *
 * Logging: +hook-start, +hook-done, +hook-failed, +hook-timeout and
 * +hook-output events name the list, the index, the pid and the recovery
 * UID. The hook's command line is never logged (it may carry credentials);
 * its output is (escaped, truncated), so hooks should not print secrets.
 *
 * Code: the values, the environment and the rewrite are in
 * hooks_template.c (pure); the runner and the tracker in hooks.c.
 *
 * Threads: every function may be called from any thread (the recovery
 * thread in practice), never from the loop thread: rec_hooks_run blocks for
 * as long as the synchronous hooks run.
 */
#ifndef ORC_REC_HOOKS_H
#define ORC_REC_HOOKS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/orc.h"
#include "recovery/rec.h"
#include "discovery/disc.h"

/* Per-hook time limit when the options say 0. */
#define REC_HOOKS_DEFAULT_TIMEOUT_MS 120000
/* +hook-output lines logged per hook when the options say 0; the rest are counted. */
#define REC_HOOKS_DEFAULT_MAX_OUTPUT_LINES 100
/* Bytes of one value in a hook's environment; longer ones are cut (a list
 * at its last whole entry) so that no value can keep a hook from starting. */
#define REC_HOOKS_VALUE_MAX 16384
/* Bytes of one output line that are logged; the rest is cut ("..."). */
#define REC_HOOKS_OUTPUT_LINE_MAX 400
/* After SIGTERM on timeout, how long the process group gets before SIGKILL. */
#define REC_HOOKS_KILL_GRACE_MS 500

/* The event a hook runs for. Everything is borrowed for the length of the
 * call; NULL strings mean "". Values are data: they may hold any bytes. */
struct rec_hook_ctx {
    /* the failure */
    const char *failure_type;        /* analysis code: "DeadMaster", ... */
    const char *instance_type;       /* "master", "co-master", "intermediate-master", ... */
    bool is_master;                  /* {isMaster} */
    bool is_co_master;               /* {isCoMaster} */
    const char *failure_description; /* {failureDescription} */
    /* {command}: "graceful-master-takeover", "force-master-failover",
     * "force-master-takeover", "recover", or "" for automatic recoveries. */
    const char *command;
    struct orc_key failed;          /* {failedHost} {failedPort}; the old master in takeovers */
    const char *failed_data_center; /* ORC_FAILED_DATA_CENTER (no placeholder) */
    const char *cluster;            /* {failureCluster} */
    const char *cluster_alias;      /* {failureClusterAlias} */
    const char *cluster_domain;     /* {failureClusterDomain} */
    int count_replicas;             /* {countReplicas} {countSlaves} */
    const struct orc_key *replicas; /* {replicaHosts} {slaveHosts}: "h:p,h:p" */
    size_t n_replicas;
    bool is_downtimed;                      /* {isDowntimed} */
    bool auto_master_recovery;              /* {autoMasterRecovery} */
    bool auto_intermediate_master_recovery; /* {autoIntermediateMasterRecovery} */
    const char *orchestrator_host;          /* {orchestratorHost} */
    const char *recovery_uid;               /* {recoveryUID} (also logged) */

    /* the outcome: {isSuccessful} is "true" exactly when successor != NULL */
    const struct orc_key *successor;            /* {successorHost} {successorPort} */
    const struct disc_coords *successor_coords; /* {successorBinlogCoordinates} "file:pos";
                                                   NULL or file "" = unknown */
    const char *successor_alias;                /* {successorAlias} */
    const struct orc_key *lost_replicas; /* {lostReplicas} {lostSlaves} {countLostReplicas} */
    size_t n_lost_replicas;
    /* Takeovers: the demoted master (ORC_OLD_MASTER_HOST/PORT, no
     * placeholder). NULL otherwise. */
    const struct orc_key *old_master;
};

struct rec_hooks_options {
    const char *shell;       /* ProcessesShellCommand; NULL or "" = "bash" */
    const char *list;        /* list name for logs and errors: "PreFailoverProcesses" */
    int64_t timeout_ms;      /* per hook (sync and async); 0 = REC_HOOKS_DEFAULT_TIMEOUT_MS */
    size_t max_output_lines; /* per hook; 0 = REC_HOOKS_DEFAULT_MAX_OUTPUT_LINES */
    struct rec_hooks_tracker *tracker; /* counts async hooks; NULL = untracked */
};

/*
 * Runs the hook lines in order for the event ctx.
 *
 * Synchronous hooks run one after the other; an asynchronous one ('&' at the
 * end) is started and the next one follows at once. Returns 0 when every
 * synchronous hook exited with status 0 (asynchronous outcomes are only
 * logged). Otherwise:
 *   - fail_fast (PreFailoverProcesses, PreGracefulTakeoverProcesses,
 *     OnFailureDetectionProcesses): stops at the first failing hook and
 *     returns its error; the caller aborts the operation;
 *   - !fail_fast (the Post* lists): runs every hook and returns the error of
 *     the first one that failed; the caller logs or audits it and goes on.
 * Errors: ORC_EIO (exited with a non-zero status or was killed by a signal,
 * or could not be started), ORC_ETIMEDOUT (killed after timeout_ms),
 * ORC_EINVAL (template refused by the quoting rule, see above; with
 * fail_fast nothing after it runs), ORC_ENOMEM. errmsg names the hook:
 * "PreFailoverProcesses[1]: exited with status 3".
 */
int rec_hooks_run(const struct rec_hooks_options *o,
                  const char *const *lines,
                  size_t n,
                  const struct rec_hook_ctx *ctx,
                  bool fail_fast,
                  char *errmsg,
                  size_t len);

/* Rewrites one template line into the script the shell runs (the rule
 * above). *async is set when the line ends in '&' (which is removed).
 * ctx only says which values exist (the successor ones); NULL = all of them.
 * Appends to out. Pure; exposed for tests and docs. */
int rec_hooks_rewrite(const char *line,
                      const struct rec_hook_ctx *ctx,
                      struct orc_buf *out,
                      bool *async,
                      char *errmsg,
                      size_t len);

/* The environment a hook runs with: from environ only PATH, HOME, LANG,
 * LANGUAGE, LC_*, TZ, TMPDIR, USER and LOGNAME (never the service's secrets
 * or ORC_* config overrides), plus the ORC_* variables of ctx, each cut to
 * REC_HOOKS_VALUE_MAX. NULL-terminated; free with rec_hooks_env_free. */
int rec_hooks_env_build(const struct rec_hook_ctx *ctx, char ***out);
void rec_hooks_env_free(char **env);

#endif
