/* Unit tests of candidate ranking (recovery/promote.c) and coordinates. */
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "recovery/ops.h"
#include "recovery/promote.h"

static void replica(struct rec_replica *r,
                    const char *host,
                    int port,
                    const char *file,
                    int64_t pos,
                    const char *rule)
{
    memset(r, 0, sizeof(*r));
    disc_instance_init(&r->in);
    orc_strlcpy(r->in.key.host, host, sizeof(r->in.key.host));
    r->in.key.port = port;
    orc_strlcpy(r->in.exec_coords.file, file, sizeof(r->in.exec_coords.file));
    r->in.exec_coords.pos = pos;
    r->in.read_coords = r->in.exec_coords;
    r->in.log_bin = true;
    r->in.log_replica_updates = true;
    r->in.ver.major = 10;
    orc_strlcpy(r->in.binlog_format, "ROW", sizeof(r->in.binlog_format));
    r->rule = rule;
    r->read_ok = true;
    r->relay_applied = true;
}

static void release(struct rec_replica *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        disc_instance_release(&r[i].in);
}

static int choose(struct rec_replica *r, size_t n, const struct rec_promote_options *o, int *adv)
{
    struct disc_instance failed;
    char err[ORC_ERRMSG_SIZE] = "";
    int c;

    disc_instance_init(&failed);
    c = rec_promote_choose(r, n, &failed, o, adv, err, sizeof(err));
    disc_instance_release(&failed);
    return c;
}

static void test_coords_compare_by_file_number(void **state)
{
    struct disc_coords a = {"mysql-bin.000009", 900, 0}, b = {"mysql-bin.000010", 4, 0};

    (void)state;
    assert_true(rec_coords_cmp(&a, &b) < 0);
    assert_true(rec_coords_cmp(&b, &a) > 0);
    b = a;
    assert_int_equal(rec_coords_cmp(&a, &b), 0);
    b.pos = 901;
    assert_true(rec_coords_cmp(&a, &b) < 0);
}

static void test_most_advanced_replica_is_chosen(void **state)
{
    struct rec_replica r[3];
    struct rec_promote_options o;
    int adv;

    (void)state;
    memset(&o, 0, sizeof(o));
    replica(&r[0], "a", 1, "bin.000002", 500, "");
    replica(&r[1], "b", 2, "bin.000003", 100, "");
    replica(&r[2], "c", 3, "bin.000002", 900, "");
    assert_int_equal(choose(r, 3, &o, &adv), 1);
    assert_int_equal(adv, 1);
    release(r, 3);
}

static void test_must_not_is_never_chosen(void **state)
{
    struct rec_replica r[3];
    struct rec_promote_options o;
    int adv;

    (void)state;
    memset(&o, 0, sizeof(o));
    replica(&r[0], "a", 1, "bin.000002", 500, "");
    replica(&r[1], "b", 2, "bin.000003", 100, "must_not");
    replica(&r[2], "c", 3, "bin.000002", 900, "");
    assert_int_equal(choose(r, 3, &o, &adv), 2);
    assert_int_equal(adv, 1); /* the most advanced stays known: the candidate catches up */
    assert_true(r[1].banned);
    assert_string_not_equal(r[1].why_not, "");
    release(r, 3);
}

static void test_rule_breaks_ties_and_filters_ban(void **state)
{
    struct rec_replica r[3];
    struct rec_promote_options o;
    regex_t re;
    int adv;

    (void)state;
    memset(&o, 0, sizeof(o));
    replica(&r[0], "a", 1, "bin.000002", 500, "prefer_not");
    replica(&r[1], "b", 2, "bin.000002", 500, "prefer");
    replica(&r[2], "c", 3, "bin.000002", 500, "");
    assert_int_equal(choose(r, 3, &o, &adv), 1);
    assert_int_equal(regcomp(&re, "^b:", REG_EXTENDED | REG_NOSUB), 0);
    o.ignore = &re;
    o.nignore = 1;
    assert_int_equal(choose(r, 3, &o, &adv), 2);
    regfree(&re);
    release(r, 3);
}

static void test_unapplied_relay_log_or_no_binlog_is_refused(void **state)
{
    struct rec_replica r[2];
    struct rec_promote_options o;
    int adv;

    (void)state;
    memset(&o, 0, sizeof(o));
    replica(&r[0], "a", 1, "bin.000002", 900, "");
    replica(&r[1], "b", 2, "bin.000002", 100, "");
    r[0].relay_applied = false;
    assert_int_equal(choose(r, 2, &o, &adv), 1);
    r[1].in.log_replica_updates = false;
    assert_int_equal(choose(r, 2, &o, &adv), -1);
    release(r, 2);
}

static void test_requested_candidate_only(void **state)
{
    struct rec_replica r[2];
    struct rec_promote_options o;
    struct orc_key want = {"a", 1};
    int adv;

    (void)state;
    memset(&o, 0, sizeof(o));
    replica(&r[0], "a", 1, "bin.000002", 100, "");
    replica(&r[1], "b", 2, "bin.000002", 900, "");
    o.want = &want;
    assert_int_equal(choose(r, 2, &o, &adv), 0);
    assert_int_equal(adv, 1);
    release(r, 2);
}

static void test_errant_replica_is_chosen_only_without_a_clean_one(void **state)
{
    struct rec_replica r[3];
    struct rec_promote_options o;
    int adv;

    (void)state;
    memset(&o, 0, sizeof(o));
    /* the errant one is as advanced as the others and first by key */
    replica(&r[0], "a", 1, "bin.000002", 500, "");
    replica(&r[1], "b", 2, "bin.000002", 500, "");
    replica(&r[2], "c", 3, "bin.000002", 400, "");
    disc_instance_set_str(&r[0].in.gtid_errant, "0-2-2");
    assert_int_equal(choose(r, 3, &o, &adv), 1);
    assert_non_null(strstr(r[0].why_not, "errant GTID 0-2-2"));
    /* even a less advanced clean replica beats an errant one */
    disc_instance_set_str(&r[1].in.gtid_errant, "0-3-7");
    assert_int_equal(choose(r, 3, &o, &adv), 2);
    /* ... but an errant replica is better than none */
    r[2].relay_applied = false;
    assert_int_equal(choose(r, 3, &o, &adv), 0);
    assert_string_equal(r[0].why_not, "");
    /* prefer does not outweigh errant GTID */
    r[2].relay_applied = true;
    r[0].rule = "prefer";
    assert_int_equal(choose(r, 3, &o, &adv), 2);
    release(r, 3);
}

/* FailMasterPromotionOnLagMinutes: at or above the limit is refused; off,
 * under it or an unknown lag passes. */
static void test_fail_promotion_on_lag_minutes(void **state)
{
    struct orc_key k = {.host = "db2", .port = 3306};
    struct disc_nullint lag = {.value = 120, .valid = true};
    char err[256] = "";

    (void)state;
    assert_int_equal(rec_promote_check_lag(&k, &lag, 2, err, sizeof(err)), ORC_ESTATE);
    assert_non_null(strstr(err, "FailMasterPromotionOnLagMinutes"));
    assert_non_null(strstr(err, "db2:3306"));
    assert_int_equal(rec_promote_check_lag(&k, &lag, 3, err, sizeof(err)), 0);
    assert_int_equal(rec_promote_check_lag(&k, &lag, 0, err, sizeof(err)), 0);
    lag.value = 119;
    assert_int_equal(rec_promote_check_lag(&k, &lag, 2, err, sizeof(err)), 0);
    lag.value = 100000;
    lag.valid = false;
    assert_int_equal(rec_promote_check_lag(&k, &lag, 1, err, sizeof(err)), 0);
}

/* CoMasterRecoveryMustPromoteOtherCoMaster, or a writable other co-master. */
static void test_co_master_must_promote_other(void **state)
{
    (void)state;
    assert_true(rec_promote_co_master_must(true, true));
    assert_true(rec_promote_co_master_must(false, false));
    assert_false(rec_promote_co_master_must(false, true));
}

/* DetachLostReplicasAfterMasterFailover: "//host", once. */
static void test_detached_key(void **state)
{
    struct orc_key m = {.host = "db1", .port = 3307}, d;
    char big[sizeof(m.host)];

    (void)state;
    assert_int_equal(rec_promote_detached_key(&m, &d), 0);
    assert_string_equal(d.host, "//db1");
    assert_int_equal(d.port, 3307);
    assert_int_equal(rec_promote_detached_key(&d, &m), 0);
    assert_string_equal(m.host, "//db1");
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(m.host, big, sizeof(big));
    assert_int_equal(rec_promote_detached_key(&m, &d), ORC_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coords_compare_by_file_number),
        cmocka_unit_test(test_most_advanced_replica_is_chosen),
        cmocka_unit_test(test_must_not_is_never_chosen),
        cmocka_unit_test(test_rule_breaks_ties_and_filters_ban),
        cmocka_unit_test(test_unapplied_relay_log_or_no_binlog_is_refused),
        cmocka_unit_test(test_requested_candidate_only),
        cmocka_unit_test(test_errant_replica_is_chosen_only_without_a_clean_one),
        cmocka_unit_test(test_fail_promotion_on_lag_minutes),
        cmocka_unit_test(test_co_master_must_promote_other),
        cmocka_unit_test(test_detached_key),
    };
    return cmocka_run_group_tests_name("promote", tests, NULL, NULL);
}
