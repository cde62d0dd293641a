/*
 * Unit tests of the metrics collections: discovery's sample rings
 * (discovery/metrics.c: retention window, ring overflow, one queue sample a
 * second) and the aggregates the *-metrics-aggregated routes compute.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "discovery/topo_int.h"
#include "web/web_int.h"

static struct disc_topo *topo_new(void)
{
    struct disc_topo *t = calloc(1, sizeof(*t));

    assert_non_null(t);
    pthread_mutex_init(&t->metrics_lock, NULL);
    return t;
}

static void topo_free(struct disc_topo *t)
{
    topo_metrics_release(t);
    pthread_mutex_destroy(&t->metrics_lock);
    free(t);
}

static void test_probe_samples_within_the_window(void **state)
{
    struct disc_topo *t = topo_new();
    struct orc_key k = {"db1", 3306};
    struct disc_probe_metric *v;
    int64_t now = orc_wall_ms();
    size_t n;

    (void)state;
    topo_metrics_probe(t, &k, now - 300 * 1000, 10, NULL); /* beyond the retention */
    topo_metrics_probe(t, &k, now - 30 * 1000, 20, "Access denied");
    topo_metrics_probe(t, &k, now - 1000, 30, NULL);
    assert_int_equal(disc_topo_probe_metrics(t, 60, &v, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(v[0].instance_us, 20);
    assert_string_equal(v[0].err, "Access denied");
    assert_string_equal(v[1].err, "");
    assert_true(v[1].total_us >= v[1].instance_us);
    free(v);
    assert_int_equal(disc_topo_probe_metrics(t, 10, &v, &n), 0);
    assert_int_equal(n, 1);
    free(v);
    /* more than a day asked: still only the retention */
    assert_int_equal(disc_topo_probe_metrics(t, 86400, &v, &n), 0);
    assert_int_equal(n, 2);
    free(v);
    topo_free(t);
}

static void test_full_ring_drops_the_oldest(void **state)
{
    struct disc_topo *t = topo_new();
    struct disc_write_metric *v;
    int64_t now = orc_wall_ms();
    size_t n;

    (void)state;
    for (size_t i = 0; i < DISC_METRICS_RING + 10; i++)
        topo_metrics_write(t, now - 1000, 1, 2, i, true);
    assert_int_equal(disc_topo_write_metrics(t, 60, &v, &n), 0);
    assert_int_equal(n, DISC_METRICS_RING);
    assert_int_equal(v[0].instances, 10);
    assert_int_equal(v[n - 1].instances, DISC_METRICS_RING + 9);
    free(v);
    topo_free(t);
}

static void test_one_queue_sample_a_second(void **state)
{
    struct disc_topo *t = topo_new();
    struct disc_queue_metric *v;
    size_t n;

    (void)state;
    topo_metrics_queue(t, 2, 5);
    topo_metrics_queue(t, 3, 7);
    assert_int_equal(disc_topo_queue_metrics(t, 60, &v, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].active, 2);
    assert_int_equal(v[0].queued, 5);
    free(v);
    topo_free(t);
}

static void test_aggregates(void **state)
{
    double v[] = {5, 1, 4, 2, 3, 10, 6, 7, 9, 8};
    double one[] = {2.5};
    struct web_metrics_agg a = web_metrics_aggregate(v, 10);

    (void)state;
    assert_true(a.max == 10 && a.mean == 5.5 && a.median == 5.5 && a.p95 == 10);
    a = web_metrics_aggregate(v, 5); /* 1 2 3 4 5 after the sort */
    assert_true(a.max == 5 && a.mean == 3 && a.median == 3 && a.p95 == 5);
    a = web_metrics_aggregate(one, 1);
    assert_true(a.max == 2.5 && a.median == 2.5 && a.p95 == 2.5);
    a = web_metrics_aggregate(NULL, 0);
    assert_true(a.max == 0 && a.mean == 0 && a.median == 0 && a.p95 == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe_samples_within_the_window),
        cmocka_unit_test(test_full_ring_drops_the_oldest),
        cmocka_unit_test(test_one_queue_sample_a_second),
        cmocka_unit_test(test_aggregates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
