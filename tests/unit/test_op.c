/*
 * Unit tests of the operation engine (recovery/op.c) and of the pure parts
 * of replication control (recovery/replication.c): steps run in order and
 * stop at the first failure, the first error is the one kept, a lost
 * leadership stops a run before its next step, replicated commands carry
 * the run's uid, the result JSON; the restart-preserving statements and the
 * next Oracle GTID.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "recovery/op.h"

/* ---- a fake node: leadership and a log of submitted commands ---- */

struct fake {
    uint64_t epoch;
    json_t *log; /* [[op, payload]] */
};

static uint64_t fake_epoch(void *node)
{
    return ((struct fake *)node)->epoch;
}

static bool fake_leader(void *node)
{
    return ((struct fake *)node)->epoch != 0;
}

static int fake_submit(void *node, const char *op, json_t *payload, char *errmsg, size_t len)
{
    struct fake *f = node;

    if (strcmp(op, "write-audit") == 0 && f->epoch == 99) {
        json_decref(payload);
        orc_errf(errmsg, len, "refused");
        return ORC_EDB;
    }
    json_array_append_new(f->log, json_pack("[s, o]", op, payload));
    return 0;
}

static struct orc_config cfg;

static void env_init(struct rec_env *env, struct fake *f, uint64_t epoch)
{
    memset(env, 0, sizeof(*env));
    memset(f, 0, sizeof(*f));
    f->epoch = epoch;
    f->log = json_array();
    env->cfg = &cfg;
    env->node = f;
    env->is_leader = fake_leader;
    env->leader_epoch = fake_epoch;
    env->submit = fake_submit;
}

/* ---- steps ---- */

struct ctx {
    int ran[4];
    int n;
    struct fake *f;
};

static int s_ok(struct rec_op *op, void *c, char *errmsg, size_t len)
{
    struct ctx *x = c;

    (void)errmsg;
    (void)len;
    x->ran[x->n++] = 1;
    rec_op_step(op, "step %d done", x->n);
    return 0;
}

static int s_fail(struct rec_op *op, void *c, char *errmsg, size_t len)
{
    struct ctx *x = c;

    (void)op;
    x->ran[x->n++] = 2;
    orc_errf(errmsg, len, "root cause");
    return ORC_EIO;
}

static int s_lose(struct rec_op *op, void *c, char *errmsg, size_t len)
{
    struct ctx *x = c;

    (void)op;
    (void)errmsg;
    (void)len;
    x->ran[x->n++] = 3;
    x->f->epoch = 8; /* another term: this run's leadership is gone */
    return 0;
}

static void test_steps_stop_at_first_failure(void **state)
{
    struct rec_env env;
    struct fake f;
    struct rec_op op;
    struct ctx x = {{0}, 0, NULL};
    char err[ORC_ERRMSG_SIZE] = "";
    const struct rec_op_step v[] = {{"a", s_ok}, {"b", s_fail}, {"c", s_ok}};

    (void)state;
    env_init(&env, &f, 7);
    assert_int_equal(rec_op_init(&op, &env, "test", NULL), 0);
    assert_int_equal(op.epoch, 7);
    assert_non_null(strchr(op.uid, ':'));
    assert_int_equal(rec_op_run_steps(&op, v, 3, &x, err, sizeof(err)), ORC_EIO);
    assert_int_equal(x.n, 2); /* "c" never ran */
    assert_string_equal(err, "root cause");
    assert_string_equal(op.first_error, "root cause");
    assert_string_equal(op.state, "b");
    /* a later error does not replace the first cause */
    rec_op_error(&op, "cleanup failed");
    assert_string_equal(op.first_error, "root cause");
    assert_string_equal(orc_buf_str(op.errors), "root cause\ncleanup failed\n");
    /* not a registered recovery: no step was written */
    assert_int_equal(json_array_size(f.log), 0);
    rec_op_release(&op);
    json_decref(f.log);
}

static void test_lost_leadership_stops_before_next_step(void **state)
{
    struct rec_env env;
    struct fake f;
    struct rec_op op;
    struct ctx x = {{0}, 0, NULL};
    char err[ORC_ERRMSG_SIZE] = "";
    const struct rec_op_step v[] = {{"a", s_lose}, {"b", s_ok}};

    (void)state;
    env_init(&env, &f, 7);
    x.f = &f;
    rec_op_init(&op, &env, "test", NULL);
    assert_int_equal(rec_op_run_steps(&op, v, 2, &x, err, sizeof(err)), ORC_EPERM);
    assert_int_equal(x.n, 1);
    assert_non_null(strstr(err, "no longer the leader of epoch 7"));
    assert_non_null(strstr(err, "before b"));
    assert_true(rec_op_lost_leadership(&op, err, sizeof(err)));
    f.epoch = 7;
    assert_false(rec_op_lost_leadership(&op, err, sizeof(err)));
    rec_op_release(&op);
    json_decref(f.log);
}

static void test_recovery_steps_batched_and_written(void **state)
{
    struct rec_env env;
    struct fake f;
    struct rec_op op;
    struct orc_buf errors = ORC_BUF_INIT;
    json_t *res;

    (void)state;
    env_init(&env, &f, 3);
    rec_op_init(&op, &env, "test", &errors);
    op.batch_steps = true;
    op.id = 12;
    rec_op_step(&op, "one");
    rec_op_step(&op, "two");
    assert_int_equal(json_array_size(f.log), 0); /* batched */
    rec_op_flush_steps(&op);
    assert_int_equal(json_array_size(f.log), 2);
    rec_op_flush_steps(&op); /* nothing twice */
    assert_int_equal(json_array_size(f.log), 2);
    assert_string_equal(json_string_value(json_array_get(json_array_get(f.log, 0), 0)),
                        "write-recovery-step");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_array_get(f.log, 1), 1), "Message")),
        "two");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_array_get(f.log, 1), 1), "UID")),
        op.uid);
    rec_op_error(&op, "lost replica 127.0.0.1:3308");
    assert_string_equal(orc_buf_str(&errors), "lost replica 127.0.0.1:3308\n");
    rec_op_resolve(&op, &(struct orc_key){"127.0.0.1", 3306}, NULL, false, "", "");
    assert_string_equal(json_string_value(json_array_get(json_array_get(f.log, 2), 0)),
                        "resolve-recovery");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_array_get(f.log, 2), 1), "AllErrors")),
                        "lost replica 127.0.0.1:3308\n");
    res = rec_op_result_json(&op, false);
    assert_non_null(res);
    assert_int_equal(json_integer_value(json_object_get(res, "Id")), 12);
    assert_int_equal(json_array_size(json_object_get(res, "Steps")), 2);
    assert_string_equal(json_string_value(json_object_get(res, "FirstError")),
                        "lost replica 127.0.0.1:3308");
    assert_false(json_is_true(json_object_get(res, "Successful")));
    json_decref(res);
    rec_op_release(&op);
    orc_buf_release(&errors);
    json_decref(f.log);
}

static void test_audit_payload(void **state)
{
    struct rec_env env;
    struct fake f;
    json_t *p, *e;

    (void)state;
    p = rec_audit_json("skip-query", &(struct orc_key){"db1", 3306}, "db0:3306", "m");
    assert_string_equal(json_string_value(json_object_get(p, "Type")), "skip-query");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(p, "Key"), "Port")), 3306);
    json_decref(p);
    p = rec_audit_json("t", NULL, NULL, "m");
    assert_null(json_object_get(p, "Key"));
    assert_string_equal(json_string_value(json_object_get(p, "ClusterName")), "");
    json_decref(p);
    env_init(&env, &f, 3);
    rec_op_audit(&env, "delay-replication", NULL, "c", "set to %d", 5);
    e = json_array_get(f.log, 0);
    assert_string_equal(json_string_value(json_array_get(e, 0)), "write-audit");
    assert_string_equal(json_string_value(json_object_get(json_array_get(e, 1), "Message")),
                        "set to 5");
    json_decref(f.log);
}

static void test_filters(void **state)
{
    struct rec_op_filters fl;
    char g1[] = "^db-backup", g2[] = "\\.dc2\\.", b1[] = "(";
    char *good[] = {g1, g2}, *bad[] = {b1};
    struct orc_strlist l = {good, 2}, lb = {bad, 1};
    char err[ORC_ERRMSG_SIZE] = "";

    (void)state;
    assert_int_equal(
        rec_op_filters_compile(&fl, &l, "PromotionIgnoreHostnameFilters", err, sizeof(err)), 0);
    assert_true(rec_op_filters_match(&fl, "db-backup-1"));
    assert_true(rec_op_filters_match(&fl, "db7.dc2.example"));
    assert_false(rec_op_filters_match(&fl, "db7.dc1.example"));
    rec_op_filters_release(&fl);
    assert_int_equal(rec_op_filters_compile(&fl, &lb, "X", err, sizeof(err)), ORC_ECONFIG);
    assert_non_null(strstr(err, "bad regex '('"));
    rec_op_filters_release(&fl);
}

/* ---- replication control, pure parts ---- */

static void test_restart_statements(void **state)
{
    struct disc_instance in;
    json_t *a = json_array();

    (void)state;
    disc_instance_init(&in);
    disc_version_parse("10.11.6-MariaDB", "", &in.ver);
    in.io_state = DISC_THREAD_RUNNING;
    in.sql_state = DISC_THREAD_STOPPED;
    assert_int_equal(rec_repl_restart_statements(&in, "CHANGE MASTER TO MASTER_DELAY=5;;", a), 0);
    assert_int_equal(json_array_size(a), 3);
    assert_string_equal(json_string_value(json_array_get(a, 0)), "STOP SLAVE IO_THREAD;");
    assert_string_equal(json_string_value(json_array_get(a, 1)),
                        "CHANGE MASTER TO MASTER_DELAY=5;");
    assert_string_equal(json_string_value(json_array_get(a, 2)), "START SLAVE IO_THREAD;");
    json_array_clear(a);
    in.io_state = DISC_THREAD_STOPPED;
    assert_int_equal(rec_repl_restart_statements(&in, "", a), 0);
    assert_int_equal(json_array_size(a), 0);
    json_decref(a);
    disc_instance_release(&in);
}

static void test_next_gtid(void **state)
{
    char out[128];
    const char *u = "3e11fa47-71ca-11e1-9e33-c80aa9429562";

    (void)state;
    assert_int_equal(rec_repl_next_gtid("3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5:7-9,\n"
                                        "aaaaaaaa-71ca-11e1-9e33-c80aa9429562:1-100",
                                        u, out, sizeof(out)),
                     0);
    assert_string_equal(out, "3e11fa47-71ca-11e1-9e33-c80aa9429562:10");
    assert_int_equal(rec_repl_next_gtid("", u, out, sizeof(out)), 0);
    assert_string_equal(out, "3e11fa47-71ca-11e1-9e33-c80aa9429562:1");
    assert_int_equal(rec_repl_next_gtid("x:1", "", out, sizeof(out)), ORC_EINVAL);
    assert_int_equal(rec_repl_next_gtid("", u, out, 8), ORC_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steps_stop_at_first_failure),
        cmocka_unit_test(test_lost_leadership_stops_before_next_step),
        cmocka_unit_test(test_recovery_steps_batched_and_written),
        cmocka_unit_test(test_audit_payload),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_restart_statements),
        cmocka_unit_test(test_next_gtid),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
