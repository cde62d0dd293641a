/* Unit tests of the semi-sync plan (recovery/semisync.c) and of the stale
 * binlog coordinates tracker it feeds (recovery/analysis.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "recovery/promote.h"
#include "recovery/rec.h"

static void replica(struct rec_semisync_replica *r,
                    int port,
                    int64_t priority,
                    const char *rule,
                    bool enabled)
{
    memset(r, 0, sizeof(*r));
    orc_strlcpy(r->key.host, "db", sizeof(r->key.host));
    r->key.port = port;
    r->valid = r->replicating = true;
    r->priority = priority;
    r->rule_rank = rec_rule_rank(rule);
    r->enabled = enabled;
    r->action = 7; /* must be reset */
}

static const struct rec_semisync_replica *find(const struct rec_semisync_replica *v,
                                               size_t n,
                                               int port)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].key.port == port)
            return &v[i];
    fail_msg("replica %d missing", port);
    return NULL;
}

static int action_of(const struct rec_semisync_replica *v, size_t n, int port)
{
    return find(v, n, port)->action;
}

/* RecoverLockedSemiSyncMaster: enable just enough, by priority, then rule,
 * then name; never disable; never touch priority 0 or defunct replicas. */
static void test_enough_enables_by_priority_rule_and_name(void **state)
{
    struct rec_semisync_replica v[6];

    (void)state;
    replica(&v[0], 1, 1, "neutral", false);
    replica(&v[1], 2, 2, "prefer_not", false);
    replica(&v[2], 3, 2, "prefer", false);
    replica(&v[3], 4, 0, "must", false); /* always asynchronous */
    replica(&v[4], 5, 9, "neutral", false);
    v[4].replicating = false; /* excluded */
    replica(&v[5], 6, 1, "neutral", true);
    /* wait 2, no client: two enables, priority 2 first, prefer before prefer_not */
    assert_int_equal(rec_semisync_plan(v, 6, 2, 0, false), 2);
    assert_int_equal(v[0].key.port, 3);
    assert_int_equal(v[1].key.port, 2);
    assert_int_equal(action_of(v, 6, 3), 1);
    assert_int_equal(action_of(v, 6, 2), 1);
    assert_int_equal(action_of(v, 6, 1), 0);
    assert_int_equal(action_of(v, 6, 4), 0);
    assert_int_equal(action_of(v, 6, 5), 0);
    assert_int_equal(action_of(v, 6, 6), 0); /* enabled: never disabled here */
    /* one client already acknowledges: one more is enough */
    assert_int_equal(rec_semisync_plan(v, 6, 2, 1, false), 1);
    assert_int_equal(action_of(v, 6, 3), 1);
    /* already enough clients: nothing to do */
    assert_int_equal(rec_semisync_plan(v, 6, 1, 1, false), 0);
}

/* An enabled replica in front does not count as a new enable. */
static void test_enough_skips_enabled_replicas(void **state)
{
    struct rec_semisync_replica v[3];

    (void)state;
    replica(&v[0], 1, 3, "neutral", true);
    replica(&v[1], 2, 2, "neutral", false);
    replica(&v[2], 3, 1, "neutral", false);
    assert_int_equal(rec_semisync_plan(v, 3, 1, 0, false), 1);
    assert_int_equal(action_of(v, 3, 1), 0);
    assert_int_equal(action_of(v, 3, 2), 1);
    assert_int_equal(action_of(v, 3, 3), 0);
}

/* EnforceExactSemiSyncReplicas: the first wait_count possible replicas are
 * enabled, every other one (async ones included) disabled. */
static void test_exact_enables_the_first_and_disables_the_rest(void **state)
{
    struct rec_semisync_replica v[5];

    (void)state;
    replica(&v[0], 1, 1, "neutral", true);
    replica(&v[1], 2, 2, "neutral", true);
    replica(&v[2], 3, 1, "must", false);
    replica(&v[3], 4, 0, "neutral", true);
    replica(&v[4], 5, 5, "neutral", true);
    v[4].valid = false; /* not read: left alone */
    assert_int_equal(rec_semisync_plan(v, 5, 2, 3, true), 3);
    assert_int_equal(action_of(v, 5, 2), 0);  /* priority 2: first, stays */
    assert_int_equal(action_of(v, 5, 3), 1);  /* priority 1 and must: second, enabled */
    assert_int_equal(action_of(v, 5, 1), -1); /* third: disabled */
    assert_int_equal(action_of(v, 5, 4), -1); /* no priority: asynchronous */
    assert_int_equal(action_of(v, 5, 5), 0);
    /* a matching topology needs nothing */
    for (size_t i = 0; i < 5; i++) /* sorted now: by port */
        v[i].enabled = v[i].key.port == 2 || v[i].key.port == 3 || v[i].key.port == 5;
    assert_int_equal(rec_semisync_plan(v, 5, 2, 2, true), 0);
}

static void test_codes_handled(void **state)
{
    (void)state;
    assert_true(rec_semisync_handles(REC_LOCKED_SEMI_SYNC_MASTER));
    assert_true(rec_semisync_handles(REC_MASTER_WITH_TOO_MANY_SEMI_SYNC_REPLICAS));
    assert_false(rec_semisync_handles(REC_LOCKED_SEMI_SYNC_MASTER_HYPOTHESIS));
    assert_false(rec_semisync_handles(REC_DEAD_MASTER));
}

/* The tracker keeps the first-seen time while the coordinates stand still,
 * resets it when they move, and forgets instances not observed lately. */
static void test_stale_tracker_first_seen_and_expiry(void **state)
{
    struct rec_stale *st = rec_stale_new();
    struct orc_key k = {.host = "m", .port = 3306};
    struct disc_coords c = {.file = "bin.000001", .pos = 100};

    (void)state;
    assert_non_null(st);
    assert_false(rec_stale_is_stale(st, &k, &c, 10000, 100000));
    assert_int_equal(rec_stale_observe(st, &k, &c, 100000), 0);
    assert_int_equal(rec_stale_observe(st, &k, &c, 105000), 0);
    assert_false(rec_stale_is_stale(st, &k, &c, 10000, 109000));
    assert_true(rec_stale_is_stale(st, &k, &c, 10000, 111000));
    /* moved: a new first-seen time */
    c.pos = 200;
    assert_false(rec_stale_is_stale(st, &k, &c, 10000, 111000));
    assert_int_equal(rec_stale_observe(st, &k, &c, 111000), 0);
    assert_false(rec_stale_is_stale(st, &k, &c, 10000, 120000));
    assert_true(rec_stale_is_stale(st, &k, &c, 10000, 122000));
    /* last observed at 111000: kept by an earlier cut, dropped by a later one */
    rec_stale_expire(st, 111000);
    assert_true(rec_stale_is_stale(st, &k, &c, 10000, 122000));
    rec_stale_expire(st, 111001);
    assert_false(rec_stale_is_stale(st, &k, &c, 10000, 122000));
    rec_stale_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enough_enables_by_priority_rule_and_name),
        cmocka_unit_test(test_enough_skips_enabled_replicas),
        cmocka_unit_test(test_exact_enables_the_first_and_disables_the_rest),
        cmocka_unit_test(test_codes_handled),
        cmocka_unit_test(test_stale_tracker_first_seen_and_expiry),
    };
    return cmocka_run_group_tests_name("semisync", tests, NULL, NULL);
}
