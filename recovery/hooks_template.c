/*
 * hooks_template: the values of a hook event, the environment they travel
 * in, and the template rewrite that turns {placeholders} into quoted
 * references to those variables (the quoting rule in hooks.h). Pure: no
 * process is started here (hooks.c runs them).
 */
#include "recovery/hooks.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

/* ------------------------------------------------------------------------
 * Values and environment
 * ------------------------------------------------------------------------ */

enum hook_var {
    HV_FAILURE_TYPE,
    HV_INSTANCE_TYPE,
    HV_IS_MASTER,
    HV_IS_CO_MASTER,
    HV_FAILURE_DESCRIPTION,
    HV_COMMAND,
    HV_FAILED_HOST,
    HV_FAILED_PORT,
    HV_FAILED_DATA_CENTER,
    HV_CLUSTER,
    HV_CLUSTER_ALIAS,
    HV_CLUSTER_DOMAIN,
    HV_COUNT_REPLICAS,
    HV_REPLICA_HOSTS,
    HV_IS_DOWNTIMED,
    HV_AUTO_MASTER_RECOVERY,
    HV_AUTO_IM_RECOVERY,
    HV_ORCHESTRATOR_HOST,
    HV_RECOVERY_UID,
    HV_IS_SUCCESSFUL,
    HV_LOST_REPLICAS,
    HV_COUNT_LOST_REPLICAS,
    HV_SUCCESSOR_HOST,
    HV_SUCCESSOR_PORT,
    HV_SUCCESSOR_COORDS,
    HV_SUCCESSOR_ALIAS,
    HV_OLD_MASTER_HOST,
    HV_OLD_MASTER_PORT,
    HV_COUNT
};

/* Environment names (orchestrator's, plus ORC_FAILED_DATA_CENTER,
 * ORC_COUNT_LOST_REPLICAS and ORC_OLD_MASTER_*). numeric: the value is an
 * integer we format, safe in arithmetic. */
static const struct {
    const char *env;
    bool numeric;
} hook_vars[HV_COUNT] = {
    [HV_FAILURE_TYPE] = {"ORC_FAILURE_TYPE", false},
    [HV_INSTANCE_TYPE] = {"ORC_INSTANCE_TYPE", false},
    [HV_IS_MASTER] = {"ORC_IS_MASTER", false},
    [HV_IS_CO_MASTER] = {"ORC_IS_CO_MASTER", false},
    [HV_FAILURE_DESCRIPTION] = {"ORC_FAILURE_DESCRIPTION", false},
    [HV_COMMAND] = {"ORC_COMMAND", false},
    [HV_FAILED_HOST] = {"ORC_FAILED_HOST", false},
    [HV_FAILED_PORT] = {"ORC_FAILED_PORT", true},
    [HV_FAILED_DATA_CENTER] = {"ORC_FAILED_DATA_CENTER", false},
    [HV_CLUSTER] = {"ORC_FAILURE_CLUSTER", false},
    [HV_CLUSTER_ALIAS] = {"ORC_FAILURE_CLUSTER_ALIAS", false},
    [HV_CLUSTER_DOMAIN] = {"ORC_FAILURE_CLUSTER_DOMAIN", false},
    [HV_COUNT_REPLICAS] = {"ORC_COUNT_REPLICAS", true},
    [HV_REPLICA_HOSTS] = {"ORC_REPLICA_HOSTS", false},
    [HV_IS_DOWNTIMED] = {"ORC_IS_DOWNTIMED", false},
    [HV_AUTO_MASTER_RECOVERY] = {"ORC_AUTO_MASTER_RECOVERY", false},
    [HV_AUTO_IM_RECOVERY] = {"ORC_AUTO_INTERMEDIATE_MASTER_RECOVERY", false},
    [HV_ORCHESTRATOR_HOST] = {"ORC_ORCHESTRATOR_HOST", false},
    [HV_RECOVERY_UID] = {"ORC_RECOVERY_UID", false},
    [HV_IS_SUCCESSFUL] = {"ORC_IS_SUCCESSFUL", false},
    [HV_LOST_REPLICAS] = {"ORC_LOST_REPLICAS", false},
    [HV_COUNT_LOST_REPLICAS] = {"ORC_COUNT_LOST_REPLICAS", true},
    [HV_SUCCESSOR_HOST] = {"ORC_SUCCESSOR_HOST", false},
    [HV_SUCCESSOR_PORT] = {"ORC_SUCCESSOR_PORT", true},
    [HV_SUCCESSOR_COORDS] = {"ORC_SUCCESSOR_BINLOG_COORDINATES", false},
    [HV_SUCCESSOR_ALIAS] = {"ORC_SUCCESSOR_ALIAS", false},
    [HV_OLD_MASTER_HOST] = {"ORC_OLD_MASTER_HOST", false},
    [HV_OLD_MASTER_PORT] = {"ORC_OLD_MASTER_PORT", true},
};

/* orchestrator's placeholders, each naming the variable it stands for. */
static const struct {
    const char *name; /* with the braces */
    enum hook_var var;
} hook_placeholders[] = {
    {"{failureType}", HV_FAILURE_TYPE},
    {"{instanceType}", HV_INSTANCE_TYPE},
    {"{isMaster}", HV_IS_MASTER},
    {"{isCoMaster}", HV_IS_CO_MASTER},
    {"{failureDescription}", HV_FAILURE_DESCRIPTION},
    {"{command}", HV_COMMAND},
    {"{failedHost}", HV_FAILED_HOST},
    {"{failedPort}", HV_FAILED_PORT},
    {"{failureCluster}", HV_CLUSTER},
    {"{failureClusterAlias}", HV_CLUSTER_ALIAS},
    {"{failureClusterDomain}", HV_CLUSTER_DOMAIN},
    {"{countSlaves}", HV_COUNT_REPLICAS},
    {"{countReplicas}", HV_COUNT_REPLICAS},
    {"{slaveHosts}", HV_REPLICA_HOSTS},
    {"{replicaHosts}", HV_REPLICA_HOSTS},
    {"{isDowntimed}", HV_IS_DOWNTIMED},
    {"{autoMasterRecovery}", HV_AUTO_MASTER_RECOVERY},
    {"{autoIntermediateMasterRecovery}", HV_AUTO_IM_RECOVERY},
    {"{orchestratorHost}", HV_ORCHESTRATOR_HOST},
    {"{recoveryUID}", HV_RECOVERY_UID},
    {"{isSuccessful}", HV_IS_SUCCESSFUL},
    {"{lostSlaves}", HV_LOST_REPLICAS},
    {"{lostReplicas}", HV_LOST_REPLICAS},
    {"{countLostReplicas}", HV_COUNT_LOST_REPLICAS},
    {"{successorHost}", HV_SUCCESSOR_HOST},
    {"{successorPort}", HV_SUCCESSOR_PORT},
    {"{successorBinlogCoordinates}", HV_SUCCESSOR_COORDS},
    {"{successorAlias}", HV_SUCCESSOR_ALIAS},
};

/* Length of the placeholder at s, or 0; *var gets its variable. */
static size_t placeholder_at(const char *s, size_t avail, enum hook_var *var)
{
    if (avail < 3 || s[0] != '{')
        return 0;
    for (size_t i = 0; i < ORC_ARRAY_LEN(hook_placeholders); i++) {
        size_t n = strlen(hook_placeholders[i].name);
        if (n <= avail && memcmp(s, hook_placeholders[i].name, n) == 0) {
            *var = hook_placeholders[i].var;
            return n;
        }
    }
    return 0;
}

/* Whether the event has a value for v (successor values only with a
 * successor, as orchestrator). NULL ctx: every value exists. */
static bool var_exists(const struct rec_hook_ctx *ctx, enum hook_var v)
{
    if (ctx == NULL)
        return true;
    switch (v) {
        case HV_SUCCESSOR_HOST:
        case HV_SUCCESSOR_PORT:
        case HV_SUCCESSOR_ALIAS:
            return ctx->successor != NULL;
        case HV_SUCCESSOR_COORDS:
            return ctx->successor != NULL && ctx->successor_coords != NULL &&
                   ctx->successor_coords->file[0] != '\0';
        case HV_OLD_MASTER_HOST:
        case HV_OLD_MASTER_PORT:
            return ctx->old_master != NULL;
        default:
            return true;
    }
}

static int put_keys(struct orc_buf *b, const struct orc_key *keys, size_t n)
{
    char ks[ORC_KEY_STRLEN];
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i > 0)
            rc = orc_buf_putc(b, ',');
        if (rc == 0)
            rc = orc_buf_puts(b, orc_key_str(&keys[i], ks, sizeof(ks)));
    }
    return rc;
}

static int put_str(struct orc_buf *b, const char *s)
{
    return orc_buf_puts(b, s != NULL ? s : "");
}

static int put_bool(struct orc_buf *b, bool v)
{
    return orc_buf_puts(b, v ? "true" : "false");
}

/* Appends the value of v (which must exist) to b. */
static int var_value(const struct rec_hook_ctx *c, enum hook_var v, struct orc_buf *b)
{
    switch (v) {
        case HV_FAILURE_TYPE:
            return put_str(b, c->failure_type);
        case HV_INSTANCE_TYPE:
            return put_str(b, c->instance_type);
        case HV_IS_MASTER:
            return put_bool(b, c->is_master);
        case HV_IS_CO_MASTER:
            return put_bool(b, c->is_co_master);
        case HV_FAILURE_DESCRIPTION:
            return put_str(b, c->failure_description);
        case HV_COMMAND:
            return put_str(b, c->command);
        case HV_FAILED_HOST:
            return put_str(b, c->failed.host);
        case HV_FAILED_PORT:
            return orc_buf_printf(b, "%d", c->failed.port);
        case HV_FAILED_DATA_CENTER:
            return put_str(b, c->failed_data_center);
        case HV_CLUSTER:
            return put_str(b, c->cluster);
        case HV_CLUSTER_ALIAS:
            return put_str(b, c->cluster_alias);
        case HV_CLUSTER_DOMAIN:
            return put_str(b, c->cluster_domain);
        case HV_COUNT_REPLICAS:
            return orc_buf_printf(b, "%d", c->count_replicas);
        case HV_REPLICA_HOSTS:
            return put_keys(b, c->replicas, c->n_replicas);
        case HV_IS_DOWNTIMED:
            return put_bool(b, c->is_downtimed);
        case HV_AUTO_MASTER_RECOVERY:
            return put_bool(b, c->auto_master_recovery);
        case HV_AUTO_IM_RECOVERY:
            return put_bool(b, c->auto_intermediate_master_recovery);
        case HV_ORCHESTRATOR_HOST:
            return put_str(b, c->orchestrator_host);
        case HV_RECOVERY_UID:
            return put_str(b, c->recovery_uid);
        case HV_IS_SUCCESSFUL:
            return put_bool(b, c->successor != NULL);
        case HV_LOST_REPLICAS:
            return put_keys(b, c->lost_replicas, c->n_lost_replicas);
        case HV_COUNT_LOST_REPLICAS:
            return orc_buf_printf(b, "%zu", c->n_lost_replicas);
        case HV_SUCCESSOR_HOST:
            return put_str(b, c->successor->host);
        case HV_SUCCESSOR_PORT:
            return orc_buf_printf(b, "%d", c->successor->port);
        case HV_SUCCESSOR_COORDS:
            return orc_buf_printf(b, "%s:%" PRId64, c->successor_coords->file,
                                  c->successor_coords->pos);
        case HV_SUCCESSOR_ALIAS:
            return put_str(b, c->successor_alias);
        case HV_OLD_MASTER_HOST:
            return put_str(b, c->old_master->host);
        case HV_OLD_MASTER_PORT:
            return orc_buf_printf(b, "%d", c->old_master->port);
        case HV_COUNT:
            break;
    }
    return ORC_EINVAL;
}

/* The service's variables a hook inherits; nothing else (no ORC_* config
 * overrides such as ORC_MySQLTopologyPassword, no MYSQL_PWD, no tokens). */
static bool env_is_inherited(const char *entry)
{
    static const char *const keep[] = {"PATH", "HOME",   "LANG", "LANGUAGE",
                                       "TZ",   "TMPDIR", "USER", "LOGNAME"};

    if (strncmp(entry, "LC_", 3) == 0)
        return true;
    for (size_t i = 0; i < ORC_ARRAY_LEN(keep); i++) {
        size_t n = strlen(keep[i]);
        if (strncmp(entry, keep[i], n) == 0 && entry[n] == '=')
            return true;
    }
    return false;
}

/* Cuts a value to REC_HOOKS_VALUE_MAX bytes (a list at its last whole
 * entry), so no value can make the exec fail (E2BIG). */
static void value_cap(struct orc_buf *b, size_t name_len, bool list)
{
    size_t max = name_len + REC_HOOKS_VALUE_MAX, n = b->len;

    if (n <= max)
        return;
    n = max;
    if (list) {
        while (n > name_len && b->data[n] != ',')
            n--;
    }
    b->len = n;
    b->data[n] = '\0';
}

void rec_hooks_env_free(char **env)
{
    if (env == NULL)
        return;
    for (size_t i = 0; env[i] != NULL; i++)
        free(env[i]);
    free(env);
}

static int env_add_vars(const struct rec_hook_ctx *ctx, char **env, size_t *n)
{
    struct orc_buf b = ORC_BUF_INIT;
    int rc = 0;

    for (size_t v = 0; v < HV_COUNT && rc == 0; v++) {
        if (!var_exists(ctx, (enum hook_var)v))
            continue;
        orc_buf_reset(&b);
        rc = orc_buf_printf(&b, "%s=", hook_vars[v].env);
        if (rc == 0)
            rc = var_value(ctx, (enum hook_var)v, &b);
        if (rc == 0) {
            value_cap(&b, strlen(hook_vars[v].env) + 1,
                      v == HV_REPLICA_HOSTS || v == HV_LOST_REPLICAS);
            env[(*n)++] = orc_buf_detach(&b);
        }
    }
    orc_buf_release(&b);
    return rc;
}

int rec_hooks_env_build(const struct rec_hook_ctx *ctx, char ***out)
{
    size_t nenv = 0, n = 0;
    char **env;
    int rc = 0;

    *out = NULL;
    while (environ != NULL && environ[nenv] != NULL)
        nenv++;
    env = calloc(nenv + HV_COUNT + 1, sizeof(*env));
    if (env == NULL)
        return ORC_ENOMEM;
    for (size_t i = 0; i < nenv && rc == 0; i++) {
        if (!env_is_inherited(environ[i]))
            continue;
        env[n] = orc_strdup(environ[i]);
        rc = env[n] != NULL ? 0 : ORC_ENOMEM;
        n++;
    }
    if (rc == 0)
        rc = env_add_vars(ctx, env, &n);
    if (rc != 0) {
        rec_hooks_env_free(env);
        return rc;
    }
    *out = env;
    return 0;
}

/* ------------------------------------------------------------------------
 * The template rewrite: a small lexer of shell quoting that knows, at every
 * placeholder, whether it stands unquoted, in "...", in '...', ... Getting a
 * context wrong can only cost fidelity (a value split into words, or
 * printed as the literal reference), never safety: whatever the context,
 * only "${ORC_NAME}" text is inserted, never a value.
 * ------------------------------------------------------------------------ */

enum lex_kind {
    LK_TOP,   /* the command line itself */
    LK_DQ,    /* "..." or $"..." */
    LK_SQ,    /* '...' */
    LK_DSQ,   /* $'...' */
    LK_CMD,   /* $(...) */
    LK_SUB,   /* (...) in a command */
    LK_BQ,    /* `...` */
    LK_PARAM, /* ${...} */
    LK_ARITH, /* $((...)) or ((...)) */
};

static const char *const lex_kind_names[] = {
    [LK_TOP] = "command",      [LK_DQ] = "double quote", [LK_SQ] = "single quote",
    [LK_DSQ] = "$'...' quote", [LK_CMD] = "$(...)",      [LK_SUB] = "(...)",
    [LK_BQ] = "backquote",     [LK_PARAM] = "${...}",    [LK_ARITH] = "arithmetic",
};

#define LEX_MAX_DEPTH 64

/* What the simple command being read does with its arguments. */
#define CTX_SHELL 0x1u   /* a shell or su: an argument "-c" makes the rest code */
#define CTX_REPARSE 0x2u /* the arguments are parsed again as code */
#define CTX_ARITH 0x4u   /* let: the arguments are arithmetic */
#define CTX_DBL 0x8u     /* inside [[ ... ]] (arithmetic operands) */
#define CTX_PREFIX 0x10u /* after sudo, env, nohup, ...: the command is still to come */

#define LEX_WORD_MAX 16

struct lex_frame {
    enum lex_kind kind;
    bool in_dq;   /* LK_PARAM: inside a double-quoted string */
    int depth;    /* LK_PARAM: open '{'; LK_ARITH: open '(' */
    bool bracket; /* LK_ARITH: opened by $[ (closed by ']') */
    bool arith;   /* LK_PARAM: a substring offset or a subscript was seen */
    /* command frames: the simple command being read (words unquoted only) */
    char word[LEX_WORD_MAX]; /* the current word, cut */
    size_t wlen;
    bool in_word;
    int nwords; /* words of the simple command so far (its name included) */
    char cmd[LEX_WORD_MAX];
    unsigned ctx;  /* CTX_* */
    int subscript; /* open name[ */
};

struct lex {
    const char *s;
    size_t i, n;
    struct lex_frame st[LEX_MAX_DEPTH];
    int top;
    char prev; /* last source character consumed, 0 at a frame start */
    const struct rec_hook_ctx *ctx;
    struct orc_buf *out;
    char *errmsg;
    size_t len;
};

static struct lex_frame *lex_cur(struct lex *lx)
{
    return &lx->st[lx->top];
}

/* Copies k source characters as they are. */
static int lex_take(struct lex *lx, size_t k)
{
    if (k > lx->n - lx->i)
        k = lx->n - lx->i;
    if (k == 0)
        return 0;
    lx->prev = lx->s[lx->i + k - 1];
    lx->i += k;
    return orc_buf_append(lx->out, lx->s + lx->i - k, k);
}

static int lex_push(struct lex *lx, enum lex_kind kind, size_t k)
{
    struct lex_frame *f = lex_cur(lx);
    bool in_dq = f->kind == LK_DQ || (f->kind == LK_PARAM && f->in_dq);

    if (lx->top + 1 >= LEX_MAX_DEPTH) {
        orc_errf(lx->errmsg, lx->len, "quotes and brackets nested too deep");
        return ORC_EINVAL;
    }
    lx->top++;
    lx->st[lx->top] = (struct lex_frame){.kind = kind, .in_dq = in_dq};
    lx->prev = 0;
    if (k > lx->n - lx->i)
        k = lx->n - lx->i;
    lx->i += k;
    return orc_buf_append(lx->out, lx->s + lx->i - k, k);
}

static int lex_pop(struct lex *lx, size_t k)
{
    int rc = lex_take(lx, k);

    if (lx->top > 0)
        lx->top--;
    return rc;
}

/* A backslash escapes the next character; a placeholder right after one is
 * refused (orchestrator would escape the value's first character). */
static int lex_escape(struct lex *lx)
{
    enum hook_var v;
    size_t m = placeholder_at(lx->s + lx->i + 1, lx->n - lx->i - 1, &v);

    if (m > 0) {
        orc_errf(lx->errmsg, lx->len, "placeholder '%.*s' right after a backslash", (int)m,
                 lx->s + lx->i + 1);
        return ORC_EINVAL;
    }
    return lex_take(lx, 2);
}

/* After "<<": here-document bodies are not lexed; placeholders there are
 * refused, the rest is copied as it is. */
static int lex_heredoc(struct lex *lx)
{
    enum hook_var v;

    for (size_t j = lx->i; j < lx->n; j++) {
        size_t m = placeholder_at(lx->s + j, lx->n - j, &v);
        if (m > 0) {
            orc_errf(lx->errmsg, lx->len,
                     "placeholder '%.*s' after a here-document ('<<') is not supported; use "
                     "\"$%s\" instead",
                     (int)m, lx->s + j, hook_vars[v].env);
            return ORC_EINVAL;
        }
    }
    lx->top = 0;
    return lex_take(lx, lx->n - lx->i);
}

/* A comment runs to the end of the line and is copied as it is. */
static int lex_comment(struct lex *lx)
{
    size_t j = lx->i;

    while (j < lx->n && lx->s[j] != '\n')
        j++;
    return lex_take(lx, j - lx->i);
}

static bool lex_word_start(const struct lex *lx)
{
    return lx->prev == 0 || strchr(" \t\n;&|()<>", lx->prev) != NULL;
}

static bool lex_is_command(enum lex_kind k)
{
    return k == LK_TOP || k == LK_CMD || k == LK_SUB || k == LK_BQ;
}

/* ---- the simple command: which words are names, which are code again ---- */

static bool word_in(const char *w, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(w, list[i]) == 0)
            return true;
    return false;
}

static bool word_is_ident(const char *w, size_t n)
{
    if (n == 0 || (w[0] >= '0' && w[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(w[i] == '_' || (w[i] >= 'a' && w[i] <= 'z') || (w[i] >= 'A' && w[i] <= 'Z') ||
              (w[i] >= '0' && w[i] <= '9')))
            return false;
    return true;
}

static void cmd_classify(struct lex_frame *f, const char *w);

/* The command name of a simple command (after keywords and prefixes). */
static void cmd_name(struct lex_frame *f, const char *w)
{
    static const char *const keywords[] = {"if",    "then",  "else", "elif", "do",
                                           "while", "until", "!",    "{",    "time"};
    static const char *const prefixes[] = {"sudo",  "env",     "nohup",  "exec",   "command",
                                           "nice",  "timeout", "setsid", "stdbuf", "ionice",
                                           "xargs", "builtin", "chroot", "runuser"};
    bool assign = strchr(w, '=') != NULL && word_is_ident(w, (size_t)(strchr(w, '=') - w));

    if (word_in(w, keywords, ORC_ARRAY_LEN(keywords)) || assign)
        return; /* still at the command position */
    if (word_in(w, prefixes, ORC_ARRAY_LEN(prefixes))) {
        f->ctx |= CTX_PREFIX;
        return;
    }
    if ((f->ctx & CTX_PREFIX) && (w[0] == '-' || (w[0] >= '0' && w[0] <= '9')))
        return; /* an option or a number (timeout 10) of the prefix */
    orc_strlcpy(f->cmd, w, sizeof(f->cmd));
    f->nwords++;
    cmd_classify(f, w);
}

/* Sets what command w does with its arguments. After a prefix (sudo -u x
 * sh -c) every word is checked, since the prefix's options are unknown. */
static void cmd_classify(struct lex_frame *f, const char *w)
{
    static const char *const reparse[] = {"eval", "ssh", "source", ".", "trap", "watch"};
    static const char *const shells[] = {"bash",      "sh",      "dash",          "zsh",
                                         "ksh",       "su",      "mksh",          "ash",
                                         "/bin/bash", "/bin/sh", "/usr/bin/bash", "/bin/su"};

    if (word_in(w, reparse, ORC_ARRAY_LEN(reparse)))
        f->ctx |= CTX_REPARSE;
    else if (word_in(w, shells, ORC_ARRAY_LEN(shells)))
        f->ctx |= CTX_SHELL;
    else if (strcmp(w, "let") == 0)
        f->ctx |= CTX_ARITH;
    else if (strcmp(w, "[[") == 0)
        f->ctx |= CTX_DBL;
}

static void word_end(struct lex_frame *f)
{
    if (!f->in_word)
        return;
    f->in_word = false;
    f->word[f->wlen < LEX_WORD_MAX ? f->wlen : LEX_WORD_MAX - 1] = '\0';
    if (f->nwords == 0) {
        cmd_name(f, f->word);
        return;
    }
    f->nwords++;
    if (f->ctx & CTX_PREFIX)
        cmd_classify(f, f->word);
    if ((f->ctx & CTX_SHELL) && f->word[0] == '-' && strchr(f->word, 'c') != NULL)
        f->ctx |= CTX_REPARSE; /* bash -c, sh -ec, su -c */
    if ((f->ctx & CTX_DBL) && strcmp(f->word, "]]") == 0)
        f->ctx &= ~CTX_DBL;
}

static void command_reset(struct lex_frame *f)
{
    word_end(f);
    f->nwords = 0;
    f->ctx = 0;
    f->cmd[0] = '\0';
    f->subscript = 0;
}

/* Follows words and command boundaries in a command frame (before c is
 * handled by the lexer proper). */
static void lex_track(struct lex_frame *f, char c)
{
    if (c == ' ' || c == '\t') {
        word_end(f);
        return;
    }
    if (c == ';' || c == '&' || c == '|' || c == '\n') {
        command_reset(f);
        return;
    }
    if (c == '[' && f->in_word && word_is_ident(f->word, f->wlen))
        f->subscript++;
    else if (c == ']' && f->subscript > 0)
        f->subscript--;
    if (!f->in_word) {
        f->in_word = true;
        f->wlen = 0;
    }
    if (f->wlen < LEX_WORD_MAX - 1)
        f->word[f->wlen] = c;
    f->wlen++;
}

/* Why placeholder v cannot stand where the lexer is, or NULL. */
static const char *lex_unsafe(struct lex *lx, enum hook_var v)
{
    const struct lex_frame *f = lex_cur(lx);
    bool numeric = hook_vars[v].numeric;

    if (f->kind == LK_SQ || f->kind == LK_DSQ)
        return "inside single quotes (such text is often parsed again: ssh, awk, sed, "
               "bash -c); put it in double quotes instead";
    if (f->kind == LK_PARAM && f->arith && !numeric)
        return "in a ${...} substring offset or subscript (arithmetic)";
    for (int i = lx->top; i >= 0; i--) {
        const struct lex_frame *g = &lx->st[i];
        if (!lex_is_command(g->kind))
            continue;
        if (g->ctx & CTX_REPARSE)
            return "in an argument that is parsed again as code (eval, ssh, bash -c, su -c, "
                   "source)";
        if (!numeric && (g->ctx & (CTX_ARITH | CTX_DBL)))
            return "in arithmetic ('let' or '[[ ]]' operands are evaluated)";
        if (!numeric && g->subscript > 0)
            return "in an array subscript (arithmetic)";
    }
    if (lex_is_command(f->kind) && f->nwords == 0 &&
        !(f->in_word && memchr(f->word, '=', f->wlen < LEX_WORD_MAX ? f->wlen : LEX_WORD_MAX)))
        return "as the command name";
    return NULL;
}

static int lex_dollar(struct lex *lx)
{
    const char *p = lx->s + lx->i;
    size_t left = lx->n - lx->i;
    struct lex_frame *f = lex_cur(lx);
    bool dq = f->kind == LK_DQ;

    if (left >= 3 && p[1] == '(' && p[2] == '(')
        return lex_push(lx, LK_ARITH, 3);
    if (left >= 2 && p[1] == '[') {
        int rc = lex_push(lx, LK_ARITH, 2);
        lex_cur(lx)->bracket = true;
        return rc;
    }
    if (left >= 2 && p[1] == '(')
        return lex_push(lx, LK_CMD, 2);
    if (left >= 2 && p[1] == '{')
        return lex_push(lx, LK_PARAM, 2);
    if (left >= 2 && p[1] == '\'' && !dq && !(f->kind == LK_PARAM && f->in_dq))
        return lex_push(lx, LK_DSQ, 2);
    if (left >= 2 && p[1] == '"' && !dq)
        return lex_push(lx, LK_DQ, 2);
    return lex_take(lx, 1);
}

static int lex_paren(struct lex *lx, char c)
{
    struct lex_frame *f = lex_cur(lx);
    const char *p = lx->s + lx->i;
    bool two = lx->n - lx->i >= 2 && p[1] == c;

    if (f->kind == LK_ARITH) {
        if (c == '(') {
            f->depth++;
            return lex_take(lx, 1);
        }
        if (f->depth > 0) {
            f->depth--;
            return lex_take(lx, 1);
        }
        return two ? lex_pop(lx, 2) : lex_take(lx, 1);
    }
    if (!lex_is_command(f->kind))
        return lex_take(lx, 1);
    if (c == '(')
        return two && lex_word_start(lx) ? lex_push(lx, LK_ARITH, 2) : lex_push(lx, LK_SUB, 1);
    if (f->kind == LK_SUB || f->kind == LK_CMD)
        return lex_pop(lx, 1);
    return lex_take(lx, 1); /* a case pattern's ')' */
}

/* One step in a context where quotes work: commands, ${...}, arithmetic. */
static int lex_step_code(struct lex *lx)
{
    struct lex_frame *f = lex_cur(lx);
    const char *p = lx->s + lx->i;
    size_t left = lx->n - lx->i;

    if (lex_is_command(f->kind))
        lex_track(f, p[0]);
    switch (p[0]) {
        case ']':
            if (f->kind == LK_ARITH && f->bracket)
                return lex_pop(lx, 1);
            break;
        case '[':
            if (f->kind == LK_PARAM)
                f->arith = true;
            break;
        case ':':
            if (f->kind == LK_PARAM && (left < 2 || strchr("-=?+", p[1]) == NULL))
                f->arith = true;
            break;
        case '\\':
            return lex_escape(lx);
        case '\'':
            if (f->kind == LK_PARAM && f->in_dq)
                return lex_take(lx, 1);
            return lex_push(lx, LK_SQ, 1);
        case '"':
            return lex_push(lx, LK_DQ, 1);
        case '`':
            return f->kind == LK_BQ ? lex_pop(lx, 1) : lex_push(lx, LK_BQ, 1);
        case '$':
            return lex_dollar(lx);
        case '(':
        case ')':
            return lex_paren(lx, p[0]);
        case '#':
            if (lex_is_command(f->kind) && lex_word_start(lx))
                return lex_comment(lx);
            break;
        case '{':
            if (f->kind == LK_PARAM)
                f->depth++;
            break;
        case '}':
            if (f->kind != LK_PARAM)
                break;
            if (f->depth == 0)
                return lex_pop(lx, 1);
            f->depth--;
            break;
        case '<':
            if (lex_is_command(f->kind) && left >= 2 && p[1] == '<')
                return left >= 3 && p[2] == '<' ? lex_take(lx, 3) : lex_heredoc(lx);
            break;
        default:
            break;
    }
    return lex_take(lx, 1);
}

static int lex_step(struct lex *lx)
{
    const char c = lx->s[lx->i];

    switch (lex_cur(lx)->kind) {
        case LK_SQ:
            return c == '\'' ? lex_pop(lx, 1) : lex_take(lx, 1);
        case LK_DSQ:
            if (c == '\\')
                return lex_escape(lx);
            return c == '\'' ? lex_pop(lx, 1) : lex_take(lx, 1);
        case LK_DQ:
            switch (c) {
                case '"':
                    return lex_pop(lx, 1);
                case '\\':
                    return lex_escape(lx);
                case '$':
                    return lex_dollar(lx);
                case '`':
                    return lex_push(lx, LK_BQ, 1);
                default:
                    return lex_take(lx, 1);
            }
        default:
            return lex_step_code(lx);
    }
}

/* Writes the reference that stands for placeholder var where it stands. */
static int lex_placeholder(struct lex *lx, enum hook_var v, size_t m)
{
    const struct lex_frame *f = lex_cur(lx);
    const char *name = hook_vars[v].env;
    int rc;

    const char *why = lex_unsafe(lx, v);

    if (f->kind == LK_ARITH && !hook_vars[v].numeric) {
        orc_errf(lx->errmsg, lx->len,
                 "placeholder '%.*s' at column %zu in arithmetic: its value is text that the "
                 "shell would evaluate",
                 (int)m, lx->s + lx->i, lx->i + 1);
        return ORC_EINVAL;
    }
    if (why != NULL) {
        orc_errf(lx->errmsg, lx->len, "placeholder '%.*s' at column %zu %s", (int)m, lx->s + lx->i,
                 lx->i + 1, why);
        return ORC_EINVAL;
    }
    if (lex_is_command(f->kind)) { /* part of the current word */
        struct lex_frame *w = lex_cur(lx);
        if (!w->in_word) {
            w->in_word = true;
            w->wlen = 0;
        }
        for (size_t k = 0; k < m; k++, w->wlen++) /* not a name */
            if (w->wlen < LEX_WORD_MAX - 1)
                w->word[w->wlen] = '\001';
    }
    if (!var_exists(lx->ctx, v))
        return lex_take(lx, m); /* orchestrator leaves it as it is */
    lx->i += m;
    lx->prev = '}';
    switch (f->kind) {
        case LK_DQ:
            rc = orc_buf_printf(lx->out, "${%s}", name);
            break;
        case LK_ARITH:
            rc = orc_buf_printf(lx->out, "${%s}", name);
            break;
        case LK_PARAM:
            rc = orc_buf_printf(lx->out, f->in_dq ? "${%s}" : "\"${%s}\"", name);
            break;
        case LK_SQ:
            rc = orc_buf_printf(lx->out, "'\"${%s}\"'", name);
            break;
        case LK_DSQ:
            rc = orc_buf_printf(lx->out, "'\"${%s}\"$'", name);
            break;
        default:
            rc = orc_buf_printf(lx->out, "\"${%s}\"", name);
            break;
    }
    return rc;
}

/* Trims trailing blanks; a final '&' marks the line asynchronous and goes. */
static size_t line_body(const char *line, bool *async)
{
    size_t n = strlen(line);

    while (n > 0 && strchr(" \t\r\n", line[n - 1]) != NULL)
        n--;
    *async = n > 0 && line[n - 1] == '&';
    if (*async)
        n--;
    return n;
}

int rec_hooks_rewrite(const char *line,
                      const struct rec_hook_ctx *ctx,
                      struct orc_buf *out,
                      bool *async,
                      char *errmsg,
                      size_t len)
{
    struct lex lx;
    int rc = 0;

    memset(&lx, 0, sizeof(lx));
    lx.s = line;
    lx.n = line_body(line, async);
    lx.ctx = ctx;
    lx.out = out;
    lx.errmsg = errmsg;
    lx.len = len;
    rc = orc_buf_reserve(out, lx.n + 1);
    while (rc == 0 && lx.i < lx.n) {
        enum hook_var v;
        size_t m = placeholder_at(lx.s + lx.i, lx.n - lx.i, &v);
        rc = m > 0 ? lex_placeholder(&lx, v, m) : lex_step(&lx);
    }
    if (rc == 0 && lx.top > 0) {
        orc_errf(errmsg, len, "unterminated %s", lex_kind_names[lx.st[lx.top].kind]);
        rc = ORC_EINVAL;
    }
    if (rc == ORC_ENOMEM)
        orc_errf(errmsg, len, "out of memory");
    return rc;
}

int rec_hooks_validate_config(const struct orc_config *c, char *errmsg, size_t len)
{
    const struct {
        const char *name;
        const struct orc_strlist *l;
    } lists[] = {
        {"OnFailureDetectionProcesses", &c->OnFailureDetectionProcesses},
        {"PreGracefulTakeoverProcesses", &c->PreGracefulTakeoverProcesses},
        {"PreFailoverProcesses", &c->PreFailoverProcesses},
        {"PostFailoverProcesses", &c->PostFailoverProcesses},
        {"PostUnsuccessfulFailoverProcesses", &c->PostUnsuccessfulFailoverProcesses},
        {"PostMasterFailoverProcesses", &c->PostMasterFailoverProcesses},
        {"PostIntermediateMasterFailoverProcesses", &c->PostIntermediateMasterFailoverProcesses},
        {"PostGracefulTakeoverProcesses", &c->PostGracefulTakeoverProcesses},
        {"PostTakeMasterProcesses", &c->PostTakeMasterProcesses},
    };

    for (size_t i = 0; i < ORC_ARRAY_LEN(lists); i++) {
        int rc = rec_hooks_validate((const char *const *)lists[i].l->v, lists[i].l->n, errmsg, len);
        if (rc != 0) {
            orc_errprefix(errmsg, len, "key '%s'", lists[i].name);
            return ORC_ECONFIG;
        }
    }
    return 0;
}

int rec_hooks_validate(const char *const *lines, size_t n, char *errmsg, size_t len)
{
    struct orc_buf b = ORC_BUF_INIT;
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0; i++) {
        bool async;
        orc_buf_reset(&b);
        rc = rec_hooks_rewrite(lines[i] != NULL ? lines[i] : "", NULL, &b, &async, errmsg, len);
        if (rc != 0)
            orc_errprefix(errmsg, len, "[%zu]", i);
    }
    orc_buf_release(&b);
    return rc;
}
