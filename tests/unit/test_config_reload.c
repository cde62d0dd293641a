/*
 * Unit tests of the reload check (common/config_reload.c) and of the log
 * module's live switches: which keys may change while the service runs, the
 * refusal naming the others (never their values), and log level, file and
 * reopen changed while other threads log (run under `make tsan`).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/config.h"

static char err[ORC_ERRMSG_SIZE];

static void finalized(struct orc_config *c)
{
    orc_config_init(c);
    assert_int_equal(orc_config_finalize(c, err, sizeof(err)), 0);
}

static void test_every_reloadable_key_exists(void **state)
{
    (void)state;
    for (size_t i = 0; orc_config_reloadable_keys[i] != NULL; i++)
        assert_non_null(orc_config_find(orc_config_reloadable_keys[i]));
    assert_true(orc_config_reloadable("LogLevel"));
    assert_false(orc_config_reloadable("ListenAddress"));
}

static void test_same_config_changes_nothing(void **state)
{
    struct orc_config a, b;
    struct orc_buf changed = ORC_BUF_INIT;

    (void)state;
    finalized(&a);
    finalized(&b);
    assert_int_equal(orc_config_reload_check(&a, &b, &changed, err, sizeof(err)), 0);
    assert_int_equal(changed.len, 0);
    orc_buf_release(&changed);
    orc_config_release(&a);
    orc_config_release(&b);
}

static void test_live_keys_are_listed(void **state)
{
    struct orc_config a, b;
    struct orc_buf changed = ORC_BUF_INIT;

    (void)state;
    finalized(&a);
    finalized(&b);
    assert_int_equal(orc_config_set(&b, "LogLevel", "debug", err, sizeof(err)), 0);
    assert_int_equal(orc_config_set(&b, "EnableSyslog", "true", err, sizeof(err)), 0);
    assert_int_equal(orc_config_reload_check(&a, &b, &changed, err, sizeof(err)), 0);
    assert_string_equal(orc_buf_str(&changed), "LogLevel, EnableSyslog");
    orc_buf_release(&changed);
    orc_config_release(&a);
    orc_config_release(&b);
}

static void test_restart_keys_are_refused_by_name(void **state)
{
    struct orc_config a, b;
    struct orc_buf changed = ORC_BUF_INIT;

    (void)state;
    finalized(&a);
    finalized(&b);
    assert_int_equal(orc_config_set(&b, "LogLevel", "debug", err, sizeof(err)), 0);
    assert_int_equal(orc_config_set(&b, "RecoverMasterClusterFilters", "a,b", err, sizeof(err)), 0);
    assert_int_equal(orc_config_set(&b, "HTTPAuthPassword", "hunter2", err, sizeof(err)), 0);
    assert_int_equal(orc_config_reload_check(&a, &b, &changed, err, sizeof(err)), ORC_ECONFIG);
    assert_non_null(strstr(err, "HTTPAuthPassword"));
    assert_non_null(strstr(err, "RecoverMasterClusterFilters"));
    assert_null(strstr(err, "LogLevel"));
    assert_null(strstr(err, "hunter2"));
    orc_buf_release(&changed);
    orc_config_release(&a);
    orc_config_release(&b);
}

static volatile int stop_logging;

static void *logger(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&stop_logging, __ATOMIC_RELAXED))
        ORC_LOG_I("+test-line", "n=%d", 1);
    return NULL;
}

static void test_log_switches_while_threads_log(void **state)
{
    char dir[] = "/tmp/orc-log-XXXXXX", a[64], b[64];
    pthread_t t[2];

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(a, sizeof(a), "%s/a.log", dir);
    snprintf(b, sizeof(b), "%s/b.log", dir);
    assert_non_null(freopen("/dev/null", "w", stderr));
    assert_int_equal(orc_log_init(ORC_LOG_WARNING, a, err, sizeof(err)), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, logger, NULL), 0);
    for (int i = 0; i < 50; i++) {
        orc_log_set_level(i % 2 ? ORC_LOG_INFO : ORC_LOG_WARNING);
        assert_int_equal(orc_log_set_file(i % 2 ? a : b, err, sizeof(err)), 0);
        assert_int_equal(orc_log_reopen(err, sizeof(err)), 0);
        orc_log_set_syslog(false);
    }
    assert_int_not_equal(orc_log_set_file("/nonexistent-dir/x.log", err, sizeof(err)), 0);
    __atomic_store_n(&stop_logging, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    orc_log_close();
    unlink(a);
    unlink(b);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_reloadable_key_exists),
        cmocka_unit_test(test_same_config_changes_nothing),
        cmocka_unit_test(test_live_keys_are_listed),
        cmocka_unit_test(test_restart_keys_are_refused_by_name),
        cmocka_unit_test(test_log_switches_while_threads_log),
    };

    orc_log_min_level = ORC_LOG_WARNING;
    return cmocka_run_group_tests_name("config_reload", tests, NULL, NULL);
}
