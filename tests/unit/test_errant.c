/*
 * Unit tests of locating errant transactions in binary logs
 * (recovery/errant.c, pure part). The MySQL walk is tested on strings only
 * (no MySQL server here); the MariaDB one also runs live in
 * tests/integration/test_errant_gtid.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "recovery/errant.h"

#define U1 "3e11fa47-71ca-11e1-9e33-c80aa9429562"
#define U2 "4f22ab58-82db-22f2-af44-d91bb0530673"

/* The files found, joined with spaces, or "ERR<code>". */
static char *locate(bool mariadb,
                    const char *errant,
                    const char *held,
                    const struct rec_binlog_gtids *logs,
                    size_t n,
                    const char *end)
{
    char err[256] = "", buf[512] = "";
    json_t *files = json_array(), *v;
    size_t i;
    int rc = rec_errant_locate_files(mariadb, errant, held, logs, n, end, files, err, sizeof(err));

    if (rc != 0)
        snprintf(buf, sizeof(buf), "ERR%d", rc);
    json_array_foreach(files, i, v)
    {
        strncat(buf, i ? " " : "", sizeof(buf) - strlen(buf) - 1);
        strncat(buf, json_string_value(v), sizeof(buf) - strlen(buf) - 1);
    }
    json_decref(files);
    return strdup(buf);
}

static void assert_locate(const char *want,
                          bool mariadb,
                          const char *errant,
                          const char *held,
                          const struct rec_binlog_gtids *logs,
                          size_t n,
                          const char *end)
{
    char *got = locate(mariadb, errant, held, logs, n, end);

    assert_string_equal(got, want);
    free(got);
}

static void test_mariadb_files_where_the_pair_advanced(void **state)
{
    /* bin.1: 0-1-1..5 from the master; bin.2: the errant 0-2-6; bin.3: 0-1-7 */
    const struct rec_binlog_gtids logs[] = {
        {"bin.000001", "[]"},
        {"bin.000002", "[0-1-5]"},
        {"bin.000003", "[0-1-5,0-2-6]"},
    };

    (void)state;
    assert_locate("bin.000002", true, "0-2-6", "0-1-7", logs, 3, "0-1-7,0-2-6");
    /* the errant pair written again in the last file too */
    assert_locate("bin.000002 bin.000003", true, "0-2-9", "0-1-7", logs, 3, "0-1-7,0-2-9");
    /* what the master holds of the pair is not errant: only past it */
    assert_locate("bin.000003", true, "0-2-9", "0-1-7,0-2-6", logs, 3, "0-1-7,0-2-9");
}

static void test_mariadb_purged_and_bad_input(void **state)
{
    const struct rec_binlog_gtids purged[] = {{"bin.000004", "[0-1-5,0-2-6]"}};
    const struct rec_binlog_gtids bad[] = {{"bin.000001", "[0-1-5; DROP]"}};

    (void)state;
    assert_locate("ERR-9", true, "0-2-6", "0-1-5", purged, 1, "0-1-5,0-2-6");
    assert_locate("ERR-2", true, "0-2-6", "0-1-5", bad, 1, "0-1-5,0-2-6");
    assert_locate("ERR-2", true, "0-2-x", "0-1-5", bad, 1, "");
}

static void test_mysql_previous_gtids_walk(void **state)
{
    /* errant U2:1-3; U2:1-2 in bin.2, U2:3 in bin.3 (the last) */
    const struct rec_binlog_gtids logs[] = {
        {"bin.000001", ""},
        {"bin.000002", U1 ":1-10"},
        {"bin.000003", U1 ":1-20,\n" U2 ":1-2"},
    };
    const struct rec_binlog_gtids purged[] = {{"bin.000009", U1 ":1-20," U2 ":1"}};

    (void)state;
    assert_locate("bin.000002 bin.000003", false, U2 ":1-3", NULL, logs, 3, NULL);
    assert_locate("bin.000002", false, U2 ":1-2", NULL, logs, 3, NULL);
    assert_locate("ERR-9", false, U2 ":1-3", NULL, purged, 1, NULL);
    assert_locate("ERR-2", false, U2 ":1-3' OR 1", NULL, logs, 3, NULL);
}

static void assert_kept(const char *want, const char *st, const char *errant, const char *held)
{
    struct orc_buf b = ORC_BUF_INIT;

    assert_int_equal(rec_errant_kept_state(st, errant, held, &b), 0);
    assert_string_equal(orc_buf_str(&b), want);
    orc_buf_release(&b);
}

static void test_mariadb_state_kept_after_reset(void **state)
{
    struct orc_buf b = ORC_BUF_INIT;

    (void)state;
    /* the errant pair the master never had goes */
    assert_kept("0-1-14", "0-1-14,0-2-15", "0-2-15", "0-1-14");
    /* a former master's pair goes back to what the new master holds of it */
    assert_kept("0-1-14,0-2-30", "0-1-14,0-2-31", "0-2-31", "0-1-14,0-2-30");
    /* held through gtid_slave_pos counts too */
    assert_kept("0-1-40,0-2-30", "0-1-40,0-2-31", "0-2-31", "0-1-40,0-2-30");
    assert_kept("", "", "", "");
    assert_int_equal(rec_errant_kept_state("0-1-14'", "0-2-15", "0-1-14", &b), ORC_EINVAL);
    orc_buf_release(&b);
}

static void test_binlog_names(void **state)
{
    (void)state;
    assert_true(rec_valid_binlog_name("mysql-bin.000001"));
    assert_true(rec_valid_binlog_name("host_1-relay.log.7"));
    assert_false(rec_valid_binlog_name(""));
    assert_false(rec_valid_binlog_name(".hidden"));
    assert_false(rec_valid_binlog_name("bin'; DROP TABLE x; --"));
    assert_false(rec_valid_binlog_name("../etc/passwd"));
    assert_false(rec_valid_binlog_name(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mariadb_files_where_the_pair_advanced),
        cmocka_unit_test(test_mariadb_purged_and_bad_input),
        cmocka_unit_test(test_mysql_previous_gtids_walk),
        cmocka_unit_test(test_mariadb_state_kept_after_reset),
        cmocka_unit_test(test_binlog_names),
    };
    return cmocka_run_group_tests_name("errant", tests, NULL, NULL);
}
