/*
 * hooks: the hook process runner: posix_spawn of `shell -c script`, output
 * to the log line by line, per-hook timeouts that kill the process group,
 * asynchronous hooks reaped by a detached thread and counted by a tracker.
 * The script and its environment come from hooks_template.c.
 */
#include "recovery/hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
 * Asynchronous hook tracker
 * ------------------------------------------------------------------------ */

int rec_hooks_tracker_init(struct rec_hooks_tracker *t, char *errmsg, size_t len)
{
    pthread_condattr_t ca;
    int err;

    t->running = 0;
    err = pthread_mutex_init(&t->mu, NULL);
    if (err != 0) {
        orc_errf(errmsg, len, "hook tracker mutex: %s", strerror(err));
        return ORC_ENOMEM;
    }
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    err = pthread_cond_init(&t->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (err != 0) {
        pthread_mutex_destroy(&t->mu);
        orc_errf(errmsg, len, "hook tracker condition: %s", strerror(err));
        return ORC_ENOMEM;
    }
    return 0;
}

int rec_hooks_tracker_running(struct rec_hooks_tracker *t)
{
    int n;

    pthread_mutex_lock(&t->mu);
    n = t->running;
    pthread_mutex_unlock(&t->mu);
    return n;
}

int rec_hooks_tracker_wait(struct rec_hooks_tracker *t, int64_t timeout_ms)
{
    struct timespec ts;
    int rc = 0;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(timeout_ms / 1000);
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&t->mu);
    while (t->running > 0 && rc == 0)
        if (pthread_cond_timedwait(&t->cv, &t->mu, &ts) == ETIMEDOUT)
            rc = t->running > 0 ? ORC_ETIMEDOUT : 0;
    pthread_mutex_unlock(&t->mu);
    return rc;
}

void rec_hooks_tracker_release(struct rec_hooks_tracker *t)
{
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
}

static void tracker_add(struct rec_hooks_tracker *t, int d)
{
    if (t == NULL)
        return;
    pthread_mutex_lock(&t->mu);
    t->running += d;
    if (t->running == 0)
        pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

/* ------------------------------------------------------------------------
 * Running one hook
 * ------------------------------------------------------------------------ */

#define HOOK_POLL_MS 20   /* how often a running hook is checked for exit */
#define HOOK_DRAIN_MS 200 /* output still read after the shell exited */

/* One started hook. Owned by the thread that waits for it. */
struct hook_proc {
    pid_t pid;
    int fd; /* read end of the output pipe; -1 once closed */
    char list[64];
    size_t index;
    char uid[64];
    bool async;
    int64_t timeout_ms;
    size_t max_lines;
    int64_t started_ms;
    struct rec_hooks_tracker *tracker;
    /* the output line being gathered */
    char line[REC_HOOKS_OUTPUT_LINE_MAX];
    size_t line_len;
    bool line_cut;
    size_t logged, dropped;
};

/* Escapes an output line for the log: printable ASCII stays, the rest
 * becomes \xNN (a value with control characters cannot forge log lines). */
static void escape_line(const char *s, size_t n, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;

    for (size_t i = 0; i < n && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c >= 0x20 && c < 0x7f) {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}

static void output_emit(struct hook_proc *hp)
{
    char esc[REC_HOOKS_OUTPUT_LINE_MAX * 4 + 8];

    if (hp->logged >= hp->max_lines) {
        hp->dropped++;
    } else {
        hp->logged++;
        escape_line(hp->line, hp->line_len, esc, sizeof(esc));
        ORC_LOG_I("+hook-output", "list=%s index=%zu pid=%d line=\"%s\"%s", hp->list, hp->index,
                  (int)hp->pid, esc, hp->line_cut ? " cut=1" : "");
    }
    hp->line_len = 0;
    hp->line_cut = false;
}

static void output_feed(struct hook_proc *hp, const char *data, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (data[i] == '\n')
            output_emit(hp);
        else if (hp->line_len < sizeof(hp->line))
            hp->line[hp->line_len++] = data[i];
        else
            hp->line_cut = true;
    }
}

static void output_close(struct hook_proc *hp)
{
    if (hp->line_len > 0 || hp->line_cut)
        output_emit(hp);
    if (hp->dropped > 0)
        ORC_LOG_I("+hook-output", "list=%s index=%zu pid=%d dropped_lines=%zu", hp->list, hp->index,
                  (int)hp->pid, hp->dropped);
    if (hp->fd >= 0)
        close(hp->fd);
    hp->fd = -1;
}

/* Reads what the hook wrote, waiting at most wait_ms for it. */
static void output_read(struct hook_proc *hp, int64_t wait_ms)
{
    struct pollfd pfd = {.fd = hp->fd, .events = POLLIN};
    char buf[4096];
    ssize_t r;

    if (wait_ms < 0)
        wait_ms = 0;
    if (poll(&pfd, 1, (int)wait_ms) <= 0)
        return;
    r = read(hp->fd, buf, sizeof(buf));
    if (r > 0) {
        output_feed(hp, buf, (size_t)r);
    } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        close(hp->fd);
        hp->fd = -1;
    }
}

/* The hook ran out of time: TERM to its process group, a grace period,
 * then KILL. The shell is reaped only after the KILL, so its pid (the group
 * id) cannot be reused by an unrelated process in between. */
static void hook_kill(struct hook_proc *hp)
{
    int64_t until = orc_mono_ms() + REC_HOOKS_KILL_GRACE_MS;
    siginfo_t si;
    int status;

    kill(-hp->pid, SIGTERM);
    while (orc_mono_ms() < until) {
        memset(&si, 0, sizeof(si));
        if (waitid(P_PID, (id_t)hp->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
            si.si_pid == hp->pid)
            break;
        if (hp->fd >= 0)
            output_read(hp, 10);
        else
            orc_sleep_ms(10);
    }
    kill(-hp->pid, SIGKILL);
    while (waitpid(hp->pid, &status, 0) < 0 && errno == EINTR)
        ;
}

static int exit_status(int status, char *errmsg, size_t len)
{
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status))
        orc_errf(errmsg, len, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        orc_errf(errmsg, len, "killed by signal %d", WTERMSIG(status));
    else
        orc_errf(errmsg, len, "ended with wait status %d", status);
    return ORC_EIO;
}

/* Waits for the hook to end, logging its output, killing it at the
 * deadline. 0 when it exited with status 0. */
static int hook_wait(struct hook_proc *hp, char *errmsg, size_t len)
{
    int64_t deadline = hp->started_ms + hp->timeout_ms, exited_at = -1, nap = 1, now, wait;
    int status = 0;

    for (;;) {
        now = orc_mono_ms();
        if (exited_at < 0) {
            pid_t r = waitpid(hp->pid, &status, WNOHANG);
            if (r < 0 && errno != EINTR) {
                orc_errf(errmsg, len, "lost track of the process: %s", strerror(errno));
                output_close(hp);
                return ORC_EIO;
            }
            if (r == hp->pid)
                exited_at = now;
        }
        if (exited_at >= 0 && (hp->fd < 0 || now - exited_at >= HOOK_DRAIN_MS))
            break;
        if (exited_at < 0 && now >= deadline) {
            hook_kill(hp);
            output_close(hp);
            orc_errf(errmsg, len, "timed out after %" PRId64 " ms", hp->timeout_ms);
            return ORC_ETIMEDOUT;
        }
        wait = exited_at >= 0 ? HOOK_DRAIN_MS - (now - exited_at) : deadline - now;
        if (wait > HOOK_POLL_MS)
            wait = HOOK_POLL_MS;
        if (hp->fd >= 0) {
            output_read(hp, wait);
        } else {
            /* Output closed: the shell is usually exiting right now. */
            orc_sleep_ms(wait < nap ? wait : nap);
            nap = nap * 2 > HOOK_POLL_MS ? HOOK_POLL_MS : nap * 2;
        }
    }
    output_close(hp);
    return exit_status(status, errmsg, len);
}

/* The signals a hook starts with at their default action (the service may
 * ignore SIGPIPE or handle SIGTERM; a shell script must not inherit that). */
static void default_signals(sigset_t *set)
{
    sigfillset(set);
    sigdelset(set, SIGKILL);
    sigdelset(set, SIGSTOP);
}

/* Starts `shell -c script` in its own process group, stdin from /dev/null,
 * stdout and stderr into a pipe whose read end goes to hp->fd. */
static int hook_spawn(const char *shell,
                      const char *script,
                      char **env,
                      struct hook_proc *hp,
                      char *errmsg,
                      size_t len)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t mask, def;
    int pfd[2];
    char *argv[] = {(char *)shell, (char *)"-c", (char *)script, NULL};
    int err;

    if (pipe2(pfd, O_CLOEXEC) != 0) {
        orc_errf(errmsg, len, "pipe: %s", strerror(errno));
        return ORC_EIO;
    }
    sigemptyset(&mask);
    default_signals(&def);
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    err = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (err == 0)
        err = posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
    if (err == 0)
        err = posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
    if (err == 0)
        err = posix_spawnattr_setflags(
            &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (err == 0)
        err = posix_spawnattr_setpgroup(&attr, 0);
    if (err == 0)
        err = posix_spawnattr_setsigmask(&attr, &mask);
    if (err == 0)
        err = posix_spawnattr_setsigdefault(&attr, &def);
    if (err == 0)
        err = posix_spawnp(&hp->pid, shell, &fa, &attr, argv, env);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    close(pfd[1]);
    if (err != 0) {
        close(pfd[0]);
        orc_errf(errmsg, len, "cannot start '%s': %s", shell, strerror(err));
        return ORC_EIO;
    }
    hp->fd = pfd[0];
    hp->started_ms = orc_mono_ms();
    return 0;
}

/* Logs how a hook ended. */
static void hook_log_end(const struct hook_proc *hp, int rc, const char *err)
{
    int64_t ms = orc_mono_ms() - hp->started_ms;

    if (rc == 0)
        ORC_LOG_N("+hook-done", "list=%s index=%zu pid=%d ms=%" PRId64 " uid=%s", hp->list,
                  hp->index, (int)hp->pid, ms, hp->uid);
    else if (rc == ORC_ETIMEDOUT)
        orc_log(hp->async ? ORC_LOG_WARNING : ORC_LOG_ERROR, "+hook-timeout",
                "list=%s index=%zu pid=%d ms=%" PRId64 " uid=%s", hp->list, hp->index, (int)hp->pid,
                ms, hp->uid);
    else
        orc_log(hp->async ? ORC_LOG_WARNING : ORC_LOG_ERROR, "+hook-failed",
                "list=%s index=%zu pid=%d ms=%" PRId64 " uid=%s error=\"%s\"", hp->list, hp->index,
                (int)hp->pid, ms, hp->uid, err);
}

static void *hook_async_main(void *arg)
{
    struct hook_proc *hp = arg;
    struct rec_hooks_tracker *t = hp->tracker;
    char err[ORC_ERRMSG_SIZE] = "";
    int rc = hook_wait(hp, err, sizeof(err));

    hook_log_end(hp, rc, err);
    free(hp);
    tracker_add(t, -1); /* last: the tracker may be released right after */
    return NULL;
}

/* Hands a started asynchronous hook to a detached thread that waits for it.
 * If no thread can be made, waits here (never leaves a zombie). */
static void hook_detach(struct hook_proc *hp)
{
    pthread_attr_t attr;
    pthread_t th;
    int err;

    tracker_add(hp->tracker, 1);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    err = pthread_create(&th, &attr, hook_async_main, hp);
    pthread_attr_destroy(&attr);
    if (err != 0) {
        ORC_LOG_W("+hook-async-inline", "list=%s index=%zu pid=%d error=\"%s\"", hp->list,
                  hp->index, (int)hp->pid, strerror(err));
        hook_async_main(hp);
    }
}

static struct hook_proc *hook_proc_new(const struct rec_hooks_options *o,
                                       size_t index,
                                       const struct rec_hook_ctx *ctx,
                                       bool async)
{
    struct hook_proc *hp = calloc(1, sizeof(*hp));

    if (hp == NULL)
        return NULL;
    hp->fd = -1;
    hp->pid = -1;
    hp->index = index;
    hp->async = async;
    hp->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : REC_HOOKS_DEFAULT_TIMEOUT_MS;
    hp->max_lines =
        o->max_output_lines > 0 ? o->max_output_lines : REC_HOOKS_DEFAULT_MAX_OUTPUT_LINES;
    hp->tracker = o->tracker;
    snprintf(hp->list, sizeof(hp->list), "%s", o->list != NULL && *o->list ? o->list : "hooks");
    snprintf(hp->uid, sizeof(hp->uid), "%s", ctx->recovery_uid != NULL ? ctx->recovery_uid : "");
    return hp;
}

/* Runs (or, for an asynchronous line, starts) hook number index. */
static int hook_run_one(const struct rec_hooks_options *o,
                        const char *line,
                        size_t index,
                        const struct rec_hook_ctx *ctx,
                        char **env,
                        char *errmsg,
                        size_t len)
{
    const char *shell = o->shell != NULL && *o->shell ? o->shell : "bash";
    struct orc_buf script = ORC_BUF_INIT;
    struct hook_proc *hp = NULL;
    bool async = false;
    int rc;

    rc = rec_hooks_rewrite(line != NULL ? line : "", ctx, &script, &async, errmsg, len);
    if (rc != 0) {
        orc_errprefix(errmsg, len, "template");
        ORC_LOG_E("+hook-failed", "list=%s index=%zu error=\"%s\"", o->list ? o->list : "hooks",
                  index, errmsg);
        goto out;
    }
    hp = hook_proc_new(o, index, ctx, async);
    if (hp == NULL) {
        rc = ORC_ENOMEM;
        orc_errf(errmsg, len, "out of memory");
        goto out;
    }
    rc = hook_spawn(shell, orc_buf_str(&script), env, hp, errmsg, len);
    if (rc != 0) {
        hook_log_end(hp, rc, errmsg);
        goto out;
    }
    ORC_LOG_N("+hook-start", "list=%s index=%zu pid=%d async=%s uid=%s", hp->list, index,
              (int)hp->pid, async ? "true" : "false", hp->uid);
    if (async) {
        hook_detach(hp);
        hp = NULL;
        goto out;
    }
    rc = hook_wait(hp, errmsg, len);
    hook_log_end(hp, rc, errmsg);
out:
    free(hp);
    orc_buf_release(&script);
    return async ? 0 : rc;
}

int rec_hooks_run(const struct rec_hooks_options *o,
                  const char *const *lines,
                  size_t n,
                  const struct rec_hook_ctx *ctx,
                  bool fail_fast,
                  char *errmsg,
                  size_t len)
{
    const char *list = o->list != NULL && *o->list ? o->list : "hooks";
    char err[ORC_ERRMSG_SIZE];
    char **env = NULL;
    int rc, first = 0;

    if (n == 0)
        return 0;
    rc = rec_hooks_env_build(ctx, &env);
    if (rc != 0) {
        orc_errf(errmsg, len, "%s: hook environment: %s", list, orc_strerror(rc));
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        err[0] = '\0';
        rc = hook_run_one(o, lines[i], i, ctx, env, err, sizeof(err));
        if (rc == 0)
            continue;
        if (first == 0) {
            first = rc;
            orc_errf(errmsg, len, "%s[%zu]: %s", list, i, err);
        }
        if (fail_fast)
            break;
    }
    rec_hooks_env_free(env);
    return first;
}
