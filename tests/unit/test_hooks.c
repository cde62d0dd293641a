/*
 * Unit tests of the hook runner (recovery/hooks.h): the template rewrite,
 * placeholders and environment as hooks really receive them (real bash and
 * dash processes writing into a temp dir), order, fail-fast, timeouts,
 * asynchronous hooks, logging, and shell injection through values that come
 * from the topology servers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/orc.h"
#include "recovery/hooks.h"

extern char **environ;

static char tmpdir[64];
static char logpath[128];

/* ---- helpers -------------------------------------------------------------- */

static char *path_in(const char *name)
{
    static char p[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof(p[k]), "%s/%s", tmpdir, name);
    return p[k];
}

/* Whole file (NUL-terminated), or NULL when it does not exist. */
static char *slurp(const char *path, size_t *n_out)
{
    FILE *f = fopen(path, "rb");
    struct orc_buf b = ORC_BUF_INIT;
    char chunk[4096];
    size_t r;

    if (f == NULL)
        return NULL;
    orc_buf_puts(&b, "");
    while ((r = fread(chunk, 1, sizeof(chunk), f)) > 0)
        orc_buf_append(&b, chunk, r);
    fclose(f);
    if (n_out != NULL)
        *n_out = b.len;
    return orc_buf_detach(&b);
}

/* Copies tpl into out with "@1" replaced by a and "@2" by b (templates are
 * data here, not printf formats). */
static void fill(const char *tpl, const char *a, const char *b, char *out, size_t cap)
{
    struct orc_buf r = ORC_BUF_INIT;

    for (const char *p = tpl; *p != '\0'; p++) {
        if (p[0] == '@' && (p[1] == '1' || p[1] == '2')) {
            orc_buf_puts(&r, p[1] == '1' ? a : b);
            p++;
        } else {
            orc_buf_putc(&r, *p);
        }
    }
    orc_strlcpy(out, orc_buf_str(&r), cap);
    orc_buf_release(&r);
}

static char *read_text(const char *path)
{
    size_t n = 0;

    return slurp(path, &n);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void assert_file_bytes(const char *path, const char *want)
{
    size_t n = 0;
    char *got = slurp(path, &n);

    if (got == NULL)
        fail_msg("'%s' was not written", path);
    if (n != strlen(want) || memcmp(got, want, n) != 0)
        fail_msg("'%s' holds '%s' (%zu bytes), want '%s' (%zu bytes)", path, got, n, want,
                 strlen(want));
    free(got);
}

static const struct orc_key k_replicas[] = {{"db2.example", 3306}, {"db3.example", 3307}};
static const struct orc_key k_lost[] = {{"db4.example", 3308}};
static const struct orc_key k_successor = {"db2.example", 3306};
static const struct orc_key k_old = {"db1.example", 3306};
static struct disc_coords succ_coords;

static struct rec_hook_ctx base_ctx(void)
{
    struct rec_hook_ctx c;

    memset(&c, 0, sizeof(c));
    c.failure_type = "DeadMaster";
    c.instance_type = "master";
    c.is_master = true;
    c.failure_description =
        "Master cannot be reached by orchestrator and none of its replicas "
        "is replicating";
    c.command = "graceful-master-takeover";
    orc_strlcpy(c.failed.host, "db1.example", sizeof(c.failed.host));
    c.failed.port = 3306;
    c.failed_data_center = "dc1";
    c.cluster = "db1.example:3306";
    c.cluster_alias = "main";
    c.cluster_domain = "main.example";
    c.count_replicas = 2;
    c.replicas = k_replicas;
    c.n_replicas = 2;
    c.is_downtimed = false;
    c.auto_master_recovery = true;
    c.auto_intermediate_master_recovery = false;
    c.orchestrator_host = "orc1";
    c.recovery_uid = "1700000000-abc";
    c.successor = &k_successor;
    orc_strlcpy(succ_coords.file, "mysql-bin.000007", sizeof(succ_coords.file));
    succ_coords.pos = 1234;
    c.successor_coords = &succ_coords;
    c.successor_alias = "db2-alias";
    c.lost_replicas = k_lost;
    c.n_lost_replicas = 1;
    c.old_master = &k_old;
    return c;
}

static struct rec_hooks_options opts(int64_t timeout_ms)
{
    struct rec_hooks_options o;

    memset(&o, 0, sizeof(o));
    o.list = "TestProcesses";
    o.timeout_ms = timeout_ms;
    return o;
}

/* Runs a script with bash -c directly, as orchestrator does after pasting values in. */
static int run_bash(const char *script)
{
    char *argv[] = {(char *)"bash", (char *)"-c", (char *)script, NULL};
    pid_t pid;
    int st = 0;

    if (posix_spawnp(&pid, "bash", NULL, NULL, argv, environ) != 0)
        return -1;
    waitpid(pid, &st, 0);
    return st;
}

static char *rewrite(const char *line,
                     const struct rec_hook_ctx *ctx,
                     bool *async,
                     int *rc,
                     char *err,
                     size_t len)
{
    struct orc_buf b = ORC_BUF_INIT;
    bool a = false;

    orc_buf_puts(&b, "");
    *rc = rec_hooks_rewrite(line, ctx, &b, &a, err, len);
    if (async != NULL)
        *async = a;
    return orc_buf_detach(&b);
}

/* ---- the rewrite (pure) ----------------------------------------------------- */

static void test_rewrite_quotes_each_context(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"echo {failedHost}", "echo \"${ORC_FAILED_HOST}\""},
        {"echo a{failedHost}b", "echo a\"${ORC_FAILED_HOST}\"b"},
        {"echo \"h={failedHost}\"", "echo \"h=${ORC_FAILED_HOST}\""},
        {"echo $(echo {failedHost})", "echo $(echo \"${ORC_FAILED_HOST}\")"},
        {"echo \"$(echo {failedHost})\"", "echo \"$(echo \"${ORC_FAILED_HOST}\")\""},
        {"echo `echo {failedHost}`", "echo `echo \"${ORC_FAILED_HOST}\"`"},
        {"echo \"${X:-{failedHost}}\"", "echo \"${X:-${ORC_FAILED_HOST}}\""},
        {"echo ${X:-{failedHost}}", "echo ${X:-\"${ORC_FAILED_HOST}\"}"},
        {"echo $(( {failedPort} + 1 ))", "echo $(( ${ORC_FAILED_PORT} + 1 ))"},
        {"(( {countReplicas} > 1 )) && echo many", "(( ${ORC_COUNT_REPLICAS} > 1 )) && echo many"},
        {"(cd / && echo {failedHost})", "(cd / && echo \"${ORC_FAILED_HOST}\")"},
        {"cat <<< {failedHost}", "cat <<< \"${ORC_FAILED_HOST}\""},
        {"echo \"it's {failedHost}\"", "echo \"it's ${ORC_FAILED_HOST}\""},
        {"echo hi # don't {failedHost}", "echo hi # don't {failedHost}"},
        {"echo a#{failedHost}", "echo a#\"${ORC_FAILED_HOST}\""},
        {"echo {unknown} {failedHostX} {failedHost}",
         "echo {unknown} {failedHostX} \"${ORC_FAILED_HOST}\""},
        {"[[ {failedPort} -eq 3306 ]] && echo yes",
         "[[ \"${ORC_FAILED_PORT}\" -eq 3306 ]] && echo yes"},
        {"echo {failedHost} | ssh h cat", "echo \"${ORC_FAILED_HOST}\" | ssh h cat"},
        {"echo x; ssh h ls; echo {failedHost}", "echo x; ssh h ls; echo \"${ORC_FAILED_HOST}\""},
        {"v={failedHost} printenv v", "v=\"${ORC_FAILED_HOST}\" printenv v"},
        {"if true; then echo {failedHost}; fi", "if true; then echo \"${ORC_FAILED_HOST}\"; fi"},
        {"ssh_helper {failedHost}", "ssh_helper \"${ORC_FAILED_HOST}\""},
        {"bash /x.sh {failedHost}", "bash /x.sh \"${ORC_FAILED_HOST}\""},
        {"echo {failureCluster} {failureClusterAlias}",
         "echo \"${ORC_FAILURE_CLUSTER}\" \"${ORC_FAILURE_CLUSTER_ALIAS}\""},
    };
    char err[ORC_ERRMSG_SIZE];

    (void)state;
    for (size_t i = 0; i < ORC_ARRAY_LEN(cases); i++) {
        bool async = true;
        int rc;
        char *got = rewrite(cases[i].in, NULL, &async, &rc, err, sizeof(err));
        if (rc != 0)
            fail_msg("'%s': %s", cases[i].in, err);
        if (strcmp(got, cases[i].out) != 0)
            fail_msg("'%s' became '%s', want '%s'", cases[i].in, got, cases[i].out);
        assert_false(async);
        free(got);
    }
}

static void test_rewrite_async_and_missing_values(void **state)
{
    struct rec_hook_ctx c = base_ctx();
    char err[ORC_ERRMSG_SIZE];
    bool async = false;
    int rc;
    char *got;

    (void)state;
    got = rewrite("notify {failedHost} & \n", NULL, &async, &rc, err, sizeof(err));
    assert_int_equal(rc, 0);
    assert_true(async);
    assert_string_equal(got, "notify \"${ORC_FAILED_HOST}\" ");
    free(got);
    got = rewrite("echo '&'", NULL, &async, &rc, err, sizeof(err));
    assert_false(async);
    free(got);
    /* No successor: its placeholders stay as they are, as orchestrator leaves them. */
    c.successor = NULL;
    got = rewrite("x {successorHost} {successorPort} {successorBinlogCoordinates} {isSuccessful}",
                  &c, &async, &rc, err, sizeof(err));
    assert_int_equal(rc, 0);
    assert_string_equal(got,
                        "x {successorHost} {successorPort} {successorBinlogCoordinates} "
                        "\"${ORC_IS_SUCCESSFUL}\"");
    free(got);
}

static void test_rewrite_refuses_what_it_cannot_quote(void **state)
{
    static const struct {
        const char *in, *why;
    } cases[] = {
        {"echo \\{failedHost}", "backslash"},
        {"echo \"\\{failedHost}\"", "backslash"},
        {"cat <<EOF\n{failedHost}\nEOF", "here-document"},
        {"cat <<'EOF'\nhost {failedHost}\nEOF", "here-document"},
        {"echo $(( {failedHost} + 1 ))", "arithmetic"},
        {"(( {failureClusterAlias} ))", "arithmetic"},
        {"echo 'abc", "unterminated single quote"},
        {"echo 'h={failedHost}'", "column 9 inside single quotes"},
        {"echo $'h={failedHost}\\n'", "single quotes"},
        {"echo 'Detected {failureType} on {failureCluster}' >> /tmp/recovery.log", "single quotes"},
        {"ssh db1 \"echo {failedHost}\"", "parsed again"},
        {"ssh -p 22 db1 echo {failedHost}", "parsed again"},
        {"bash -c \"echo {failedHost}\"", "parsed again"},
        {"sudo -u x sh -ec \"echo {failedHost}\"", "parsed again"},
        {"timeout 10 bash -c \"echo {failedHost}\"", "parsed again"},
        {"eval echo {failedHost}", "parsed again"},
        {"su -c \"echo {failedHost}\" root", "parsed again"},
        {"x=$(ssh h \"ls {failedHost}\")", "parsed again"},
        {"[[ {failedHost} -eq 1 ]]", "arithmetic"},
        {"let x={failedHost}+1", "arithmetic"},
        {"echo $[ {failedHost} + 1 ]", "arithmetic"},
        {"a[{failedHost}]=1", "subscript"},
        {"echo ${a[{failedHost}]}", "subscript"},
        {"echo ${X:{failedHost}}", "substring"},
        {"{failedHost} --version", "command name"},
        {"sudo {failedHost}", "command name"},
        {"echo \"abc", "unterminated double quote"},
        {"echo $(abc", "unterminated $(...)"},
        {"echo ${abc", "unterminated ${...}"},
        {"echo `abc", "unterminated backquote"},
    };
    const char *lines[] = {"echo ok {failedHost}", "echo \\{failedHost}"};
    char err[ORC_ERRMSG_SIZE];

    (void)state;
    for (size_t i = 0; i < ORC_ARRAY_LEN(cases); i++) {
        int rc;
        free(rewrite(cases[i].in, NULL, NULL, &rc, err, sizeof(err)));
        if (rc != ORC_EINVAL)
            fail_msg("'%s' was accepted", cases[i].in);
        if (strstr(err, cases[i].why) == NULL)
            fail_msg("'%s': message '%s' does not say '%s'", cases[i].in, err, cases[i].why);
    }
    /* A here-document without placeholders is fine. */
    {
        int rc;
        free(rewrite("cat <<EOF\nit's fine\nEOF", NULL, NULL, &rc, err, sizeof(err)));
        assert_int_equal(rc, 0);
    }
    assert_int_equal(rec_hooks_validate(lines, 1, err, sizeof(err)), 0);
    assert_int_equal(rec_hooks_validate(lines, 2, err, sizeof(err)), ORC_EINVAL);
    assert_non_null(strstr(err, "[1]: placeholder '{failedHost}' right after a backslash"));
}

/* ---- placeholders and environment as hooks receive them ---------------------- */

static const struct {
    const char *ph, *env, *want;
} expected_values[] = {
    {"{failureType}", "ORC_FAILURE_TYPE", "DeadMaster"},
    {"{instanceType}", "ORC_INSTANCE_TYPE", "master"},
    {"{isMaster}", "ORC_IS_MASTER", "true"},
    {"{isCoMaster}", "ORC_IS_CO_MASTER", "false"},
    {"{failureDescription}", "ORC_FAILURE_DESCRIPTION",
     "Master cannot be reached by orchestrator and none of its replicas is replicating"},
    {"{command}", "ORC_COMMAND", "graceful-master-takeover"},
    {"{failedHost}", "ORC_FAILED_HOST", "db1.example"},
    {"{failedPort}", "ORC_FAILED_PORT", "3306"},
    {"{failureCluster}", "ORC_FAILURE_CLUSTER", "db1.example:3306"},
    {"{failureClusterAlias}", "ORC_FAILURE_CLUSTER_ALIAS", "main"},
    {"{failureClusterDomain}", "ORC_FAILURE_CLUSTER_DOMAIN", "main.example"},
    {"{countSlaves}", "ORC_COUNT_REPLICAS", "2"},
    {"{countReplicas}", "ORC_COUNT_REPLICAS", "2"},
    {"{slaveHosts}", "ORC_REPLICA_HOSTS", "db2.example:3306,db3.example:3307"},
    {"{replicaHosts}", "ORC_REPLICA_HOSTS", "db2.example:3306,db3.example:3307"},
    {"{isDowntimed}", "ORC_IS_DOWNTIMED", "false"},
    {"{autoMasterRecovery}", "ORC_AUTO_MASTER_RECOVERY", "true"},
    {"{autoIntermediateMasterRecovery}", "ORC_AUTO_INTERMEDIATE_MASTER_RECOVERY", "false"},
    {"{orchestratorHost}", "ORC_ORCHESTRATOR_HOST", "orc1"},
    {"{recoveryUID}", "ORC_RECOVERY_UID", "1700000000-abc"},
    {"{isSuccessful}", "ORC_IS_SUCCESSFUL", "true"},
    {"{lostSlaves}", "ORC_LOST_REPLICAS", "db4.example:3308"},
    {"{lostReplicas}", "ORC_LOST_REPLICAS", "db4.example:3308"},
    {"{countLostReplicas}", "ORC_COUNT_LOST_REPLICAS", "1"},
    {"{successorHost}", "ORC_SUCCESSOR_HOST", "db2.example"},
    {"{successorPort}", "ORC_SUCCESSOR_PORT", "3306"},
    {"{successorBinlogCoordinates}", "ORC_SUCCESSOR_BINLOG_COORDINATES", "mysql-bin.000007:1234"},
    {"{successorAlias}", "ORC_SUCCESSOR_ALIAS", "db2-alias"},
    {NULL, "ORC_FAILED_DATA_CENTER", "dc1"},
    {NULL, "ORC_OLD_MASTER_HOST", "db1.example"},
    {NULL, "ORC_OLD_MASTER_PORT", "3306"},
};

static void test_placeholders_and_env_reach_the_hook(void **state)
{
    enum { N = ORC_ARRAY_LEN(expected_values) };
    struct rec_hook_ctx c = base_ctx();
    struct rec_hooks_options o = opts(10000);
    char *lines[3 * N];
    size_t n = 0;
    char err[ORC_ERRMSG_SIZE] = "";

    (void)state;
    for (size_t i = 0; i < N; i++) {
        char l[512];
        if (expected_values[i].ph != NULL) {
            snprintf(l, sizeof(l), "printf '%%s' %s > %s/ph%zu", expected_values[i].ph, tmpdir, i);
            lines[n++] = orc_strdup(l);
            snprintf(l, sizeof(l), "printf '%%s' \"[%s]\" > %s/dq%zu", expected_values[i].ph,
                     tmpdir, i);
            lines[n++] = orc_strdup(l);
        }
        snprintf(l, sizeof(l), "printf '%%s' \"$%s\" > %s/env%zu", expected_values[i].env, tmpdir,
                 i);
        lines[n++] = orc_strdup(l);
    }
    assert_int_equal(rec_hooks_run(&o, (const char *const *)lines, n, &c, true, err, sizeof(err)),
                     0);
    for (size_t i = 0; i < N; i++) {
        char p[256], want[512];
        if (expected_values[i].ph != NULL) {
            snprintf(p, sizeof(p), "%s/ph%zu", tmpdir, i);
            assert_file_bytes(p, expected_values[i].want);
            snprintf(p, sizeof(p), "%s/dq%zu", tmpdir, i);
            snprintf(want, sizeof(want), "[%s]", expected_values[i].want);
            assert_file_bytes(p, want);
        }
        snprintf(p, sizeof(p), "%s/env%zu", tmpdir, i);
        assert_file_bytes(p, expected_values[i].want);
    }
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
}

/* A hook's environment is minimal: PATH, HOME, LANG and a few more; never
 * the service's secrets or ORC_* config overrides, nor stale values. */
static void test_env_is_minimal(void **state)
{
    struct rec_hook_ctx c = base_ctx();
    struct rec_hooks_options o = opts(10000);
    char l1[256], l2[256], l3[256], l4[256], l5[256];
    const char *lines[] = {l1, l2, l3, l4, l5};
    char err[ORC_ERRMSG_SIZE] = "";
    const char *home = getenv("HOME");

    (void)state;
    c.successor = NULL;
    setenv("ORC_SUCCESSOR_HOST", "stale-from-the-service-env", 1);
    setenv("ORC_MySQLTopologyPassword", "hunter2-topology", 1);
    setenv("MYSQL_PWD", "hunter2-pwd", 1);
    setenv("HOOK_TEST_INHERITED", "inherited", 1);
    setenv("LANG", "C.UTF-8", 1);
    snprintf(l1, sizeof(l1), "printf '%%s' \"${ORC_SUCCESSOR_HOST-unset}\" > %s", path_in("succ"));
    snprintf(l2, sizeof(l2), "printf '%%s' \"${HOOK_TEST_INHERITED-unset}\" > %s", path_in("inh"));
    snprintf(l3, sizeof(l3), "printf '%%s' {isSuccessful} > %s", path_in("ok"));
    snprintf(l4, sizeof(l4), "env > %s", path_in("env"));
    snprintf(l5, sizeof(l5), "printf '%%s' \"$LANG:$HOME\" > %s", path_in("lang"));
    assert_int_equal(rec_hooks_run(&o, lines, 5, &c, true, err, sizeof(err)), 0);
    unsetenv("ORC_SUCCESSOR_HOST");
    unsetenv("ORC_MySQLTopologyPassword");
    unsetenv("MYSQL_PWD");
    unsetenv("HOOK_TEST_INHERITED");
    assert_file_bytes(path_in("succ"), "unset");
    assert_file_bytes(path_in("inh"), "unset");
    assert_file_bytes(path_in("ok"), "false");
    {
        char *env = read_text(path_in("env"));
        char want[512];
        assert_non_null(env);
        assert_null(strstr(env, "hunter2"));
        assert_null(strstr(env, "ORC_MySQLTopologyPassword"));
        assert_non_null(strstr(env, "PATH="));
        assert_non_null(strstr(env, "ORC_FAILED_HOST=db1.example"));
        free(env);
        snprintf(want, sizeof(want), "C.UTF-8:%s", home != NULL ? home : "");
        assert_file_bytes(path_in("lang"), want);
    }
}

/* A 1 MB alias or replica list cannot keep a hook from starting (E2BIG):
 * each value is cut to REC_HOOKS_VALUE_MAX, a list at a whole entry. */
static void test_huge_values_are_capped(void **state)
{
    struct rec_hook_ctx c = base_ctx();
    struct rec_hooks_options o = opts(10000);
    size_t big = 1 << 20, nrep = 40000;
    char *alias = malloc(big + 1), l1[256], l2[256];
    struct orc_key *reps = calloc(nrep, sizeof(*reps));
    const char *lines[] = {l1, l2};
    char err[ORC_ERRMSG_SIZE] = "";
    char *got;

    (void)state;
    assert_non_null(alias);
    assert_non_null(reps);
    memset(alias, 'a', big);
    alias[big] = '\0';
    for (size_t i = 0; i < nrep; i++) {
        snprintf(reps[i].host, sizeof(reps[i].host), "replica%zu.example", i);
        reps[i].port = 3306;
    }
    c.cluster_alias = alias;
    c.replicas = reps;
    c.n_replicas = nrep;
    snprintf(l1, sizeof(l1), "printf '%%s' {failureClusterAlias} > %s", path_in("alias"));
    snprintf(l2, sizeof(l2), "printf '%%s' \"$ORC_REPLICA_HOSTS\" > %s", path_in("reps"));
    assert_int_equal(rec_hooks_run(&o, lines, 2, &c, true, err, sizeof(err)), 0);
    got = read_text(path_in("alias"));
    assert_non_null(got);
    assert_int_equal(strlen(got), REC_HOOKS_VALUE_MAX);
    free(got);
    got = read_text(path_in("reps"));
    assert_non_null(got);
    assert_true(strlen(got) <= REC_HOOKS_VALUE_MAX && strlen(got) > REC_HOOKS_VALUE_MAX / 2);
    assert_true(got[strlen(got) - 1] == '6'); /* ends with a whole "host:3306" */
    free(got);
    free(alias);
    free(reps);
}

/* Every hook list is checked when the service starts, naming the list, the
 * line and the column. */
static void test_validate_config_names_list_index_column(void **state)
{
    struct orc_config cfg;
    char err[ORC_ERRMSG_SIZE] = "";

    (void)state;
    orc_config_init(&cfg);
    assert_int_equal(rec_hooks_validate_config(&cfg, err, sizeof(err)), 0);
    assert_int_equal(
        orc_config_set(&cfg, "PostMasterFailoverProcesses",
                       "[\"echo ok\", \"ssh db1 \\\"echo {failedHost}\\\"\"]", err, sizeof(err)),
        0);
    assert_int_equal(rec_hooks_validate_config(&cfg, err, sizeof(err)), ORC_ECONFIG);
    assert_non_null(strstr(err,
                           "key 'PostMasterFailoverProcesses': [1]: placeholder "
                           "'{failedHost}' at column 15"));
    orc_config_release(&cfg);
}

/* ---- order, failures, timeouts, asynchronous hooks ---------------------------- */

static void test_hooks_run_in_order(void **state)
{
    struct rec_hook_ctx c = base_ctx();
    struct rec_hooks_options o = opts(10000);
    char l[5][256];
    const char *lines[5];
    char err[ORC_ERRMSG_SIZE] = "";

    (void)state;
    for (int i = 0; i < 5; i++) {
        /* Earlier hooks sleep longer: order must come from waiting, not from luck. */
        snprintf(l[i], sizeof(l[i]), "sleep 0.0%d; echo %d >> %s", 5 - i, i, path_in("order"));
        lines[i] = l[i];
    }
    assert_int_equal(rec_hooks_run(&o, lines, 5, &c, false, err, sizeof(err)), 0);
    assert_file_bytes(path_in("order"), "0\n1\n2\n3\n4\n");
}

static void test_fail_fast_stops_post_hooks_continue(void **state)
{
    struct rec_hook_ctx c = base_ctx();
    struct rec_hooks_options o = opts(10000);
    char a[256], b[256], d[256];
    const char *lines[] = {a, "echo failing; exit 3", b, "exit 4", d};
    char err[ORC_ERRMSG_SIZE] = "";

    (void)state;
    o.list = "PreFailoverProcesses";
    snprintf(a, sizeof(a), "echo a >> %s", path_in("ff"));
    snprintf(b, sizeof(b), "echo b >> %s", path_in("ff"));
    snprintf(d, sizeof(d), "echo d >> %s", path_in("ff"));
    assert_int_equal(rec_hooks_run(&o, lines, 5, &c, true, err, sizeof(err)), ORC_EIO);
    assert_string_equal(err, "PreFailoverProcesses[1]: exited with status 3");
    assert_file_bytes(path_in("ff"), "a\n");

    o.list = "PostFailoverProcesses";
    unlink(path_in("ff"));
    err[0] = '\0';
    assert_int_equal(rec_hooks_run(&o, lines, 5, &c, false, err, sizeof(err)), ORC_EIO);
    assert_string_equal(err, "PostFailoverProcesses[1]: exited with status 3");
    assert_file_bytes(path_in("ff"), "a\nb\nd\n");
}

static void test_refused_template_and_missing_shell(void **state)
{
    struct rec_hook_ctx c = base_ctx();
    struct rec_hooks_options o = opts(10000);
    char a[256];
    const char *lines[] = {"echo \\{failedHost}", a};
    char err[ORC_ERRMSG_SIZE] = "";

    (void)state;
    snprintf(a, sizeof(a), "echo after >> %s", path_in("after"));
    assert_int_equal(rec_hooks_run(&o, lines, 2, &c, true, err, sizeof(err)), ORC_EINVAL);
    assert_non_null(strstr(err, "TestProcesses[0]: template: placeholder '{failedHost}'"));
    assert_false(exists(path_in("after")));
    assert_int_equal(rec_hooks_run(&o, lines, 2, &c, false, err, sizeof(err)), ORC_EINVAL);
    assert_file_bytes(path_in("after"), "after\n");

    o.shell = "/nonexistent/shell";
    assert_int_equal(rec_hooks_run(&o, lines + 1, 1, &c, true, err, sizeof(err)), ORC_EIO);
    assert_non_null(strstr(err, "cannot start '/nonexistent/shell'"));
}

/* True while pid exists and is not a zombie. */
static bool pid_alive(pid_t pid)
{
    char p[64], buf[512];
    FILE *f;
    char *rp;
    bool alive = false;

    snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
    f = fopen(p, "r");
    if (f == NULL)
        return false;
    if (fgets(buf, sizeof(buf), f) != NULL && (rp = strrchr(buf, ')')) != NULL)
        alive = rp[1] == ' ' && rp[2] != 'Z';
    fclose(f);
    return alive;
}

static pid_t read_pid(const char *path)
{
    char *s = slurp(path, NULL);
    int64_t v = 0;

    if (s == NULL)
        return -1;
    s[strcspn(s, "\n")] = '\0';
    if (orc_parse_int64(s, 1, INT32_MAX, &v) != 0)
        v = -1;
    free(s);
    return (pid_t)v;
}

static void test_timeout_kills_the_process_group(void **state)
{
    struct rec_hook_ctx c = base_ctx();
    struct rec_hooks_options o = opts(300);
    char l[256];
    const char *lines[] = {l};
    char err[ORC_ERRMSG_SIZE] = "";
    int64_t t0, ms;
    pid_t child;

    (void)state;
    /* The shell waits for a child sleep: both must go (the whole group). */
    snprintf(l, sizeof(l), "sleep 30 & echo $! > %s; wait", path_in("sleeppid"));
    t0 = orc_mono_ms();
    assert_int_equal(rec_hooks_run(&o, lines, 1, &c, true, err, sizeof(err)), ORC_ETIMEDOUT);
    ms = orc_mono_ms() - t0;
    assert_true(ms >= 300);
    assert_true(ms < 300 + REC_HOOKS_KILL_GRACE_MS + 1500);
    assert_string_equal(err, "TestProcesses[0]: timed out after 300 ms");
    child = read_pid(path_in("sleeppid"));
    assert_true(child > 0);
    for (int i = 0; i < 100 && pid_alive(child); i++)
        orc_sleep_ms(10);
    assert_false(pid_alive(child));

    /* A plain sleep 30 in the foreground. */
    t0 = orc_mono_ms();
    lines[0] = "sleep 30";
    assert_int_equal(rec_hooks_run(&o, lines, 1, &c, false, err, sizeof(err)), ORC_ETIMEDOUT);
    assert_true(orc_mono_ms() - t0 < 300 + REC_HOOKS_KILL_GRACE_MS + 1500);
}

static void test_term_ignoring_hook_is_killed(void **state)
{
    struct rec_hook_ctx c = base_ctx();
    struct rec_hooks_options o = opts(200);
    const char *lines[] = {"trap '' TERM; while :; do sleep 0.05; done"};
    char err[ORC_ERRMSG_SIZE] = "";
    int64_t t0 = orc_mono_ms();

    (void)state;
    assert_int_equal(rec_hooks_run(&o, lines, 1, &c, true, err, sizeof(err)), ORC_ETIMEDOUT);
    assert_true(orc_mono_ms() - t0 < 200 + REC_HOOKS_KILL_GRACE_MS + 1500);
}

static void test_async_hook_returns_at_once_and_is_reaped(void **state)
{
    struct rec_hook_ctx c = base_ctx();
    struct rec_hooks_tracker t;
    struct rec_hooks_options o = opts(10000);
    char l[256];
    const char *lines[] = {l, "exit 7 &"};
    char err[ORC_ERRMSG_SIZE] = "";
    int64_t t0;
    pid_t pid;
    int st;

    (void)state;
    assert_int_equal(rec_hooks_tracker_init(&t, err, sizeof(err)), 0);
    o.tracker = &t;
    snprintf(l, sizeof(l), "echo $$ > %s; sleep 0.5; printf %%s {failedHost} > %s &",
             path_in("apid"), path_in("adone"));
    t0 = orc_mono_ms();
    /* fail_fast: the failing asynchronous hook must not count. */
    assert_int_equal(rec_hooks_run(&o, lines, 2, &c, true, err, sizeof(err)), 0);
    assert_true(orc_mono_ms() - t0 < 250);
    assert_false(exists(path_in("adone")));
    assert_true(rec_hooks_tracker_running(&t) >= 1);
    assert_int_equal(rec_hooks_tracker_wait(&t, 5000), 0);
    assert_int_equal(rec_hooks_tracker_running(&t), 0);
    assert_file_bytes(path_in("adone"), "db1.example");
    pid = read_pid(path_in("apid"));
    assert_true(pid > 0);
    /* Reaped: no longer our child, not even as a zombie. */
    errno = 0;
    assert_int_equal(waitpid(pid, &st, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
    assert_false(pid_alive(pid));
    rec_hooks_tracker_release(&t);
}

static void test_stdin_is_null_and_background_jobs_do_not_block(void **state)
{
    struct rec_hook_ctx c = base_ctx();
    struct rec_hooks_options o = opts(5000);
    char l1[256], l2[256];
    const char *lines[] = {l1, l2};
    char err[ORC_ERRMSG_SIZE] = "";
    int64_t t0;
    pid_t bg;

    (void)state;
    snprintf(l1, sizeof(l1), "cat > %s", path_in("stdin"));
    /* The background sleep keeps the output pipe open after the shell exits. */
    snprintf(l2, sizeof(l2), "sleep 3 & echo $! > %s", path_in("bgpid"));
    t0 = orc_mono_ms();
    assert_int_equal(rec_hooks_run(&o, lines, 2, &c, true, err, sizeof(err)), 0);
    assert_true(orc_mono_ms() - t0 < 1500);
    assert_file_bytes(path_in("stdin"), "");
    bg = read_pid(path_in("bgpid"));
    assert_true(bg > 0);
    kill(bg, SIGKILL);
}

/* ---- logging ------------------------------------------------------------------ */

static void test_log_events_output_and_no_command_line(void **state)
{
    struct rec_hook_ctx c = base_ctx();
    struct rec_hooks_options o = opts(5000);
    const char *lines[] = {
        "true --password=S3cretHookValue",
        "echo visible-output; printf 'tab\\there\\x01\\n'",
        "head -c 3000 /dev/zero | tr '\\0' x; echo",
        "seq 1 10",
        "exit 5",
    };
    char err[ORC_ERRMSG_SIZE] = "";
    char *log;

    (void)state;
    o.max_output_lines = 3;
    o.list = "PostFailoverProcesses";
    assert_int_equal(rec_hooks_run(&o, lines, 5, &c, false, err, sizeof(err)), ORC_EIO);
    log = slurp(logpath, NULL);
    assert_non_null(log);
    assert_null(strstr(log, "S3cretHookValue"));
    assert_non_null(strstr(log, "+hook-start list=PostFailoverProcesses index=0 pid="));
    assert_non_null(strstr(log, "+hook-done list=PostFailoverProcesses index=0 pid="));
    assert_non_null(strstr(log, "line=\"visible-output\""));
    assert_non_null(strstr(log, "line=\"tab\\x09here\\x01\""));
    assert_non_null(strstr(log, "cut=1"));
    assert_null(
        strstr(log,
               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
    assert_non_null(strstr(log, "line=\"3\""));
    assert_null(strstr(log, "line=\"4\""));
    assert_non_null(strstr(log, "dropped_lines=7"));
    assert_non_null(strstr(log, "+hook-failed list=PostFailoverProcesses index=4"));
    assert_non_null(strstr(log, "error=\"exited with status 5\""));
    free(log);
}

/* ---- injection ------------------------------------------------------------------ */

/* Values a topology server can hand us (report_host, an alias, a binlog name),
 * each with %s for the marker file it would create if a shell ran it. */
static const char *const evil_values[] = {
    "$(touch @1)",         "`touch @1`",
    "a; touch @1",         "'; touch @1; '",
    "\"$(touch @1)\"",     "a\ntouch @1\nb",
    "a && touch @1",       "x' \"$(touch @1)\" 'y",
    "$'\\x27'; touch @1",  "${IFS}$(touch${IFS}@1)",
    "() { :; }; touch @1", "*",
};

/* Templates that put the value in every quoting context: @1 is the
 * placeholder under test, @2 the output file. */
static const char *const contexts[] = {
    "printf '%s' @1 > @2",
    "printf '%s' \"@1\" > @2",
    "printf '%s' \"$(printf '%s' @1)\" > @2",
    "printf '%s' \"`printf '%s' @1`\" > @2",
    "printf '%s' \"${HOOK_UNSET_VAR:-@1}\" > @2",
    "v=@1; printf '%s' \"$v\" > @2",
    "printf '%s' ${HOOK_UNSET_VAR:-@1} > @2",
    "(cd / && printf '%s' @1) > @2",
    "# it's a comment, {failedHost}\nprintf '%s' @1 > @2",
    "printf '%s' \"$(printf '%s' \"$(printf '%s' \"@1\")\")\" > @2",
};

static void check_injection(const char *shell, const char *placeholder, int field)
{
    for (size_t e = 0; e < ORC_ARRAY_LEN(evil_values); e++) {
        struct rec_hook_ctx c = base_ctx();
        struct rec_hooks_options o = opts(10000);
        char marker[256], value[512], lines_buf[ORC_ARRAY_LEN(contexts)][1024];
        const char *lines[ORC_ARRAY_LEN(contexts)];
        struct orc_key replica;
        size_t n = 0;
        char err[ORC_ERRMSG_SIZE] = "";

        snprintf(marker, sizeof(marker), "%s/pwned-%d-%zu", tmpdir, field, e);
        fill(evil_values[e], marker, "", value, sizeof(value));
        o.shell = shell;
        switch (field) {
            case 0:
                orc_strlcpy(c.failed.host, value, sizeof(c.failed.host));
                break;
            case 1:
                c.cluster_alias = value;
                break;
            case 2:
                replica = (struct orc_key){"", 3306};
                orc_strlcpy(replica.host, value, sizeof(replica.host));
                c.replicas = &replica;
                c.n_replicas = 1;
                break;
            default:
                break;
        }
        for (size_t k = 0; k < ORC_ARRAY_LEN(contexts); k++) {
            char out[256];
            /* dash has no $'...' */
            if (strcmp(shell, "sh") == 0 && strstr(contexts[k], "$'") != NULL)
                continue;
            snprintf(out, sizeof(out), "%s/out-%d-%zu-%zu", tmpdir, field, e, k);
            fill(contexts[k], placeholder, out, lines_buf[n], sizeof(lines_buf[n]));
            lines[n] = lines_buf[n];
            n++;
        }
        if (rec_hooks_run(&o, lines, n, &c, true, err, sizeof(err)) != 0)
            fail_msg("%s, value '%s': %s", shell, value, err);
        if (exists(marker))
            fail_msg("%s: value '%s' in %s ran as code", shell, value, placeholder);
        for (size_t k = 0; k < ORC_ARRAY_LEN(contexts); k++) {
            char out[256], want[600];
            if (strcmp(shell, "sh") == 0 && strstr(contexts[k], "$'") != NULL)
                continue;
            snprintf(out, sizeof(out), "%s/out-%d-%zu-%zu", tmpdir, field, e, k);
            if (field == 2) /* a key: "host:port", as orc_key_str writes it */
                orc_key_str(&replica, want, sizeof(want));
            else
                orc_strlcpy(want, value, sizeof(want));
            /* $(...) and `...` drop trailing newlines; no value here ends in one. */
            assert_file_bytes(out, want);
            unlink(out);
        }
    }
}

static void test_injection_values_are_data_in_bash(void **state)
{
    (void)state;
    check_injection("bash", "{failedHost}", 0);
    check_injection("bash", "{failureClusterAlias}", 1);
    check_injection("bash", "{replicaHosts}", 2);
}

static void test_injection_values_are_data_in_dash(void **state)
{
    (void)state;
    check_injection("sh", "{failedHost}", 0);
}

/* The control: pasting the same values into the command line, as
 * orchestrator does, runs them. Without this the test above proves nothing. */
static void test_injection_control_naive_substitution_runs_code(void **state)
{
    /* The same values pasted where each one bites (@1 is the value). */
    static const char *const naive[] = {
        "printf '%s' @1 >/dev/null",   "printf '%s' @1 >/dev/null",   "printf '%s' @1 >/dev/null",
        "printf '%s' '@1' >/dev/null", "printf '%s' @1 >/dev/null",   "printf '%s' @1 >/dev/null",
        "printf '%s' @1 >/dev/null",   "printf '%s' '@1' >/dev/null", "printf '%s' @1 >/dev/null",
        "printf '%s' @1 >/dev/null",
    };

    (void)state;
    for (size_t e = 0; e < ORC_ARRAY_LEN(naive); e++) {
        char marker[256], value[512], script[1024];
        snprintf(marker, sizeof(marker), "%s/naive-%zu", tmpdir, e);
        fill(evil_values[e], marker, "", value, sizeof(value));
        fill(naive[e], value, "", script, sizeof(script));
        /* keep the test output clean: the payloads print and fail noisily */
        memmove(script + 22, script, strlen(script) + 1);
        memcpy(script, "exec >/dev/null 2>&1; ", 22);
        run_bash(script);
        if (!exists(marker))
            fail_msg("control: '%s' did not run its payload", script);
        unlink(marker);
    }
}

/* ---- setup ---------------------------------------------------------------------- */

static int setup(void **state)
{
    char cmd[256];

    (void)state;
    /* Start every test with an empty dir. */
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'/* && truncate -s 0 '%s'", tmpdir, logpath);
    return run_bash(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_rewrite_quotes_each_context, setup),
        cmocka_unit_test_setup(test_rewrite_async_and_missing_values, setup),
        cmocka_unit_test_setup(test_rewrite_refuses_what_it_cannot_quote, setup),
        cmocka_unit_test_setup(test_placeholders_and_env_reach_the_hook, setup),
        cmocka_unit_test_setup(test_env_is_minimal, setup),
        cmocka_unit_test_setup(test_huge_values_are_capped, setup),
        cmocka_unit_test_setup(test_validate_config_names_list_index_column, setup),
        cmocka_unit_test_setup(test_hooks_run_in_order, setup),
        cmocka_unit_test_setup(test_fail_fast_stops_post_hooks_continue, setup),
        cmocka_unit_test_setup(test_refused_template_and_missing_shell, setup),
        cmocka_unit_test_setup(test_timeout_kills_the_process_group, setup),
        cmocka_unit_test_setup(test_term_ignoring_hook_is_killed, setup),
        cmocka_unit_test_setup(test_async_hook_returns_at_once_and_is_reaped, setup),
        cmocka_unit_test_setup(test_stdin_is_null_and_background_jobs_do_not_block, setup),
        cmocka_unit_test_setup(test_log_events_output_and_no_command_line, setup),
        cmocka_unit_test_setup(test_injection_values_are_data_in_bash, setup),
        cmocka_unit_test_setup(test_injection_values_are_data_in_dash, setup),
        cmocka_unit_test_setup(test_injection_control_naive_substitution_runs_code, setup),
    };
    char err[ORC_ERRMSG_SIZE];
    char cmd[256];
    int rc;

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/orc-hooks-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return 2;
    snprintf(logpath, sizeof(logpath), "%s.log", tmpdir);
    if (orc_log_init(ORC_LOG_INFO, logpath, err, sizeof(err)) != 0)
        return 2;
    rc = cmocka_run_group_tests_name("hooks", tests, NULL, NULL);
    orc_log_close();
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", tmpdir, logpath);
    run_bash(cmd);
    return rc;
}
