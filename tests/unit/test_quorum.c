/*
 * Unit tests of quorum-confirmed detection's pure parts (orchestrator/
 * quorum.c): instance keys are normalized before comparison, only a raft
 * member reporting from its own address is accepted, and the report table
 * stays bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "orchestrator/quorum.h"

static void norm_is(const char *in, const char *want)
{
    struct orc_buf b = ORC_BUF_INIT;

    assert_int_equal(orc_quorum_normalize(in, 3306, &b), 0);
    assert_string_equal(orc_buf_str(&b), want);
    orc_buf_release(&b);
}

static void test_keys_are_normalized(void **state)
{
    struct orc_buf b = ORC_BUF_INIT;
    char k[ORC_KEY_STRLEN];

    (void)state;
    norm_is("", ",");
    norm_is("db1:3306", ",db1:3306,");
    norm_is(" DB1.Example.COM:3307 ,db2", ",db1.example.com:3307,db2:3306,");
    norm_is("a:1,, ,b:2,", ",a:1,b:2,");
    assert_int_equal(orc_quorum_key_norm("  Db1 ", 3306, k, sizeof(k)), 0);
    assert_string_equal(k, "db1:3306");
    assert_int_not_equal(orc_quorum_normalize("db1:notaport", 3306, &b), 0);
    orc_buf_release(&b);
}

/* A report in one spelling counts for the key in another. */
static void test_agreeing_compares_normalized_keys(void **state)
{
    struct orc_quorum q;
    const char *nodes[] = {"10.0.0.2:10008", "10.0.0.3:10008"};

    (void)state;
    orc_quorum_init(&q, 3306);
    assert_int_equal(orc_quorum_put(&q, nodes[0], " DB1:3306", NULL, NULL), 0);
    assert_int_equal(orc_quorum_put(&q, nodes[1], "db1", NULL, NULL), 0);
    assert_int_equal(orc_quorum_agreeing(&q, "db1:3306", nodes, 2, 5000), 2);
    assert_int_equal(orc_quorum_agreeing(&q, "Db1:3306", nodes, 2, 5000), 2);
    assert_int_equal(orc_quorum_agreeing(&q, "db1:3307", nodes, 2, 5000), 0);
    /* a node not given (no longer a voter) does not count */
    assert_int_equal(orc_quorum_agreeing(&q, "db1:3306", nodes, 1, 5000), 1);
    orc_quorum_release(&q);
}

static void test_reports_are_bounded(void **state)
{
    struct orc_quorum q;
    char node[32];
    static char big[ORC_QUORUM_REPORT_MAX + 8];
    int rc = 0;

    (void)state;
    orc_quorum_init(&q, 3306);
    for (int i = 0; i < ORC_QUORUM_MAX_NODES + 4; i++) {
        snprintf(node, sizeof(node), "10.0.0.%d:10008", i + 1);
        rc = orc_quorum_put(&q, node, "db1", NULL, NULL);
        if (i < ORC_QUORUM_MAX_NODES)
            assert_int_equal(rc, 0);
    }
    assert_int_not_equal(rc, 0);
    assert_true(q.n <= ORC_QUORUM_MAX_NODES);
    memset(big, 'a', sizeof(big) - 1);
    assert_int_equal(orc_quorum_put(&q, "10.0.0.1:10008", big, NULL, NULL), ORC_EINVAL);
    orc_quorum_release(&q);
}

/* Members whose fresh report carries another config fingerprint. */
static void test_config_mismatch_names_the_members(void **state)
{
    struct orc_quorum q;
    const char *nodes[] = {"10.0.0.2:10008", "10.0.0.3:10008", "10.0.0.4:10008"};
    struct orc_buf out = ORC_BUF_INIT;
    char prev[ORC_QUORUM_FP_MAX];

    (void)state;
    orc_quorum_init(&q, 3306);
    assert_int_equal(orc_quorum_put(&q, nodes[0], "", "00000000000000aa", prev), 0);
    assert_string_equal(prev, "");
    assert_int_equal(orc_quorum_put(&q, nodes[1], "", "00000000000000bb", prev), 0);
    assert_int_equal(orc_quorum_put(&q, nodes[2], "", NULL, prev), 0); /* an older node */
    assert_int_equal(orc_quorum_config_mismatch(&q, "00000000000000aa", nodes, 3, 5000, &out), 1);
    assert_string_equal(orc_buf_str(&out), "10.0.0.3:10008");
    /* not a member any more: not counted */
    assert_int_equal(orc_quorum_config_mismatch(&q, "00000000000000aa", nodes, 1, 5000, NULL), 0);
    assert_int_equal(orc_quorum_put(&q, nodes[1], "", "00000000000000aa", prev), 0);
    assert_string_equal(prev, "00000000000000bb");
    assert_int_equal(orc_quorum_config_mismatch(&q, "00000000000000aa", nodes, 3, 5000, NULL), 0);
    assert_int_equal(orc_quorum_put(&q, nodes[1], "", "x;y", prev), ORC_EINVAL);
    assert_int_equal(orc_quorum_put(&q, nodes[1], "", "00000000000000aaa", prev), ORC_EINVAL);
    orc_buf_release(&out);
    orc_quorum_release(&q);
}

static void test_only_members_report_from_their_own_address(void **state)
{
    const char *members[] = {"10.0.0.1:10008", "10.0.0.2:10008", "10.0.0.3:10008"};
    const char *self = members[0];
    char err[ORC_ERRMSG_SIZE];

    (void)state;
    assert_int_equal(
        orc_quorum_check_reporter(members[1], "10.0.0.2", self, members, 3, err, sizeof(err)), 0);
    assert_int_equal(orc_quorum_check_reporter(members[1], "::ffff:10.0.0.2", self, members, 3, err,
                                               sizeof(err)),
                     0);
    /* not a member */
    assert_int_equal(
        orc_quorum_check_reporter("10.0.0.9:10008", "10.0.0.9", self, members, 3, err, sizeof(err)),
        ORC_EPERM);
    /* a member's name, sent from elsewhere */
    assert_int_equal(
        orc_quorum_check_reporter(members[1], "10.0.0.3", self, members, 3, err, sizeof(err)),
        ORC_EPERM);
    assert_non_null(strstr(err, "not from that member"));
    /* the leader itself never reports to itself */
    assert_int_equal(
        orc_quorum_check_reporter(self, "10.0.0.1", self, members, 3, err, sizeof(err)), ORC_EPERM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_are_normalized),
        cmocka_unit_test(test_agreeing_compares_normalized_keys),
        cmocka_unit_test(test_reports_are_bounded),
        cmocka_unit_test(test_config_mismatch_names_the_members),
        cmocka_unit_test(test_only_members_report_from_their_own_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
