/*
 * Unit tests of common/config_live.c: which keys may be replicated, a value
 * checked as the loader checks its key, the overlay of replicated values on
 * a file config (precedence, cross-key rules, values left out), and the
 * reference-counted holder (a reader keeps its set across a swap).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/config_live.h"

static json_t *parse(const char *key, const char *text, int *rc)
{
    char err[ORC_ERRMSG_SIZE] = "";
    json_t *v = NULL;

    *rc = orc_config_parse_value(orc_config_find(key), text, &v, err, sizeof(err));
    return v;
}

static void test_recovery_keys(void **state)
{
    (void)state;
    assert_string_equal(orc_config_recovery_key("RecoverMasterClusterFilters")->name,
                        "RecoverMasterClusterFilters");
    assert_string_equal(orc_config_recovery_key("DetachLostSlavesAfterMasterFailover")->name,
                        "DetachLostReplicasAfterMasterFailover");
    assert_non_null(orc_config_recovery_key("PostFailoverProcesses"));
    assert_non_null(orc_config_recovery_key("ExpectFailureAnalysisConcensus"));
    assert_null(orc_config_recovery_key("ListenAddress"));
    assert_null(orc_config_recovery_key("MySQLTopologyPassword"));
    assert_null(orc_config_recovery_key("NoSuchKey"));
    assert_null(orc_config_recovery_key(NULL));
}

static void test_values_parsed_as_flags(void **state)
{
    json_t *v;
    int rc;

    (void)state;
    v = parse("RecoverMasterClusterFilters", "a,b", &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(json_string_value(json_array_get(v, 1)), "b");
    json_decref(v);
    v = parse("RecoverMasterClusterFilters", "[\"x,y\"]", &rc); /* a JSON array keeps commas */
    assert_int_equal(json_array_size(v), 1);
    json_decref(v);
    v = parse("RecoverMasterClusterFilters", "", &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(json_array_size(v), 0);
    json_decref(v);
    v = parse("RecoveryPeriodBlockSeconds", "120", &rc);
    assert_int_equal(json_integer_value(v), 120);
    json_decref(v);
    assert_null(parse("RecoveryPeriodBlockSeconds", "-1", &rc));
    assert_int_equal(rc, ORC_ECONFIG);
    assert_null(parse("RecoveryPeriodBlockSeconds", "12x", &rc));
    assert_null(parse("PreventCrossRegionMasterFailover", "maybe", &rc));
    assert_null(parse("MasterFailoverDetachReplicaMasterHost", "true", &rc));
    v = parse("MasterFailoverDetachReplicaMasterHost", "false", &rc);
    assert_int_equal(rc, 0);
    json_decref(v);
}

static void test_json_type_must_match(void **state)
{
    struct orc_config c;
    json_t *v = json_string("*");
    char err[ORC_ERRMSG_SIZE] = "";

    (void)state;
    orc_config_init(&c);
    assert_int_equal(orc_config_set_json(&c, orc_config_find("RecoverMasterClusterFilters"), v, err,
                                         sizeof(err)),
                     ORC_EINVAL);
    assert_non_null(strstr(err, "an array of strings"));
    json_decref(v);
    v = json_true();
    assert_int_equal(
        orc_config_set_json(&c, orc_config_find("RecoveryPeriodBlockSeconds"), v, err, sizeof(err)),
        ORC_EINVAL);
    assert_int_equal(c.RecoveryPeriodBlockSeconds, 3600); /* unchanged */
    json_decref(v);
    orc_config_release(&c);
}

static int refuse_shell_sh(const struct orc_config *c, char *errmsg, size_t len)
{
    if (strcmp(c->ProcessesShellCommand, "sh") == 0) {
        orc_errf(errmsg, len, "sh refused");
        return ORC_ECONFIG;
    }
    return 0;
}

static void test_overlay_precedence_and_rules(void **state)
{
    struct orc_config base, eff;
    struct orc_buf skipped = ORC_BUF_INIT;
    char err[ORC_ERRMSG_SIZE] = "";
    json_t *values = json_pack(
        "{s:[s], s:i, s:b, s:b, s:i, s:s, s:i}", "RecoverMasterClusterFilters", "*",
        "RecoveryPeriodBlockSeconds", 60, "FailMasterPromotionIfSQLThreadNotUpToDate", 1,
        "DelayMasterPromotionIfSQLThreadNotUpToDate", 1, "FailMasterPromotionOnLagMinutes", 2,
        "ProcessesShellCommand", "sh", "ReasonableLockedSemiSyncMasterSeconds", 0);

    (void)state;
    orc_config_init(&base);
    assert_int_equal(orc_config_set(&base, "RecoverMasterClusterFilters", "db1", err, sizeof(err)),
                     0);
    assert_int_equal(
        orc_config_set(&base, "ReasonableReplicationLagSeconds", "7", err, sizeof(err)), 0);
    assert_int_equal(orc_config_set(&base, "ListenAddress", "127.0.0.1:1", err, sizeof(err)), 0);
    assert_int_equal(orc_config_finalize_recovery(&base, err, sizeof(err)), 0);
    assert_int_equal(
        orc_config_overlay(&base, values, refuse_shell_sh, &eff, &skipped, err, sizeof(err)), 0);
    /* replicated beats file */
    assert_int_equal(eff.RecoverMasterClusterFilters.n, 1);
    assert_string_equal(eff.RecoverMasterClusterFilters.v[0], "*");
    assert_int_equal(eff.RecoveryPeriodBlockSeconds, 60);
    /* the first of two exclusive keys holds, the second is left out; a lag
     * limit without ReplicationLagQuery and a value the hook refuses too */
    assert_true(eff.FailMasterPromotionIfSQLThreadNotUpToDate);
    assert_false(eff.DelayMasterPromotionIfSQLThreadNotUpToDate);
    assert_int_equal(eff.FailMasterPromotionOnLagMinutes, 0);
    assert_string_equal(eff.ProcessesShellCommand, "bash");
    assert_string_equal(orc_buf_str(&skipped),
                        "FailMasterPromotionOnLagMinutes, "
                        "DelayMasterPromotionIfSQLThreadNotUpToDate, ProcessesShellCommand");
    /* derived as at load: 0 means ReasonableReplicationLagSeconds */
    assert_int_equal(eff.ReasonableLockedSemiSyncMasterSeconds, 7);
    /* other keys are the file's */
    assert_string_equal(eff.ListenAddress, "127.0.0.1:1");
    orc_config_release(&eff);

    /* nothing replicated: the file's config as it was */
    json_decref(values);
    values = json_object();
    assert_int_equal(orc_config_overlay(&base, values, NULL, &eff, NULL, err, sizeof(err)), 0);
    assert_string_equal(eff.RecoverMasterClusterFilters.v[0], "db1");
    assert_int_equal(eff.RecoveryPeriodBlockSeconds, 3600);
    orc_config_release(&eff);
    json_decref(values);
    orc_buf_release(&skipped);
    orc_config_release(&base);
}

static void test_holder_swap_keeps_readers_set(void **state)
{
    struct orc_config_live l;
    struct orc_config base, next;
    const struct orc_config *a, *b;
    uint64_t ga = 0, gb = 0;
    char err[ORC_ERRMSG_SIZE] = "";

    (void)state;
    orc_config_init(&base);
    assert_int_equal(orc_config_live_init(&l, &base), 0);
    a = orc_config_live_acquire(&l, &ga);
    assert_int_equal(orc_config_copy(&next, &base), 0);
    assert_int_equal(orc_config_set(&next, "RecoveryPeriodBlockSeconds", "5", err, sizeof(err)), 0);
    assert_int_equal(orc_config_live_swap(&l, &next), 0);
    b = orc_config_live_acquire(&l, &gb);
    assert_int_equal(gb, ga + 1);
    assert_int_equal(orc_config_live_generation(&l), gb);
    assert_int_equal(a->RecoveryPeriodBlockSeconds, 3600); /* the reader's set holds */
    assert_int_equal(b->RecoveryPeriodBlockSeconds, 5);
    orc_config_live_put(a); /* the last reference of the old set: freed */
    orc_config_live_release(&l);
    assert_int_equal(b->RecoveryPeriodBlockSeconds, 5); /* still held by b */
    orc_config_live_put(b);
    orc_config_release(&base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recovery_keys),
        cmocka_unit_test(test_values_parsed_as_flags),
        cmocka_unit_test(test_json_type_must_match),
        cmocka_unit_test(test_overlay_precedence_and_rules),
        cmocka_unit_test(test_holder_swap_keeps_readers_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
