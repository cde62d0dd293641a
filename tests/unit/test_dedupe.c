/*
 * Unit tests of the table that makes write requests safe to retry
 * (web/dedupe.c): one run per X-Request-Id, a retry gets the stored answer,
 * a retry of a running request waits for it, and the table stays bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "web/web_int.h"

static void test_second_run_gets_the_stored_answer(void **state)
{
    struct web_dedupe d;
    struct web_dedupe_answer a = {0};

    (void)state;
    assert_int_equal(web_dedupe_init(&d), 0);
    assert_int_equal(web_dedupe_begin(&d, "req-1", 42, 0, &a), WEB_DEDUPE_NEW);
    web_dedupe_finish(&d, "req-1", 200, WEB_JSON, "{\"Code\":\"OK\"}", 13);
    assert_int_equal(web_dedupe_begin(&d, "req-1", 42, 0, &a), WEB_DEDUPE_DONE);
    assert_int_equal(a.status, 200);
    assert_int_equal(a.len, 13);
    assert_memory_equal(a.body, "{\"Code\":\"OK\"}", 13);
    free(a.body);
    /* the same id for another request is refused, another id runs */
    assert_int_equal(web_dedupe_begin(&d, "req-1", 43, 0, &a), WEB_DEDUPE_CONFLICT);
    assert_int_equal(web_dedupe_begin(&d, "req-2", 42, 0, &a), WEB_DEDUPE_NEW);
    /* no id: not tracked */
    assert_int_equal(web_dedupe_begin(&d, "", 42, 0, &a), WEB_DEDUPE_UNTRACKED);
    web_dedupe_release(&d);
}

struct waiter {
    struct web_dedupe *d;
    int rc;
    struct web_dedupe_answer a;
};

static void *wait_for(void *arg)
{
    struct waiter *w = arg;

    w->rc = web_dedupe_begin(w->d, "takeover", 7, 5000, &w->a);
    return NULL;
}

/* A retry while the first run goes on waits for it and gets its answer. */
static void test_retry_of_a_running_request_waits_for_its_answer(void **state)
{
    struct web_dedupe d;
    struct web_dedupe_answer a = {0};
    struct waiter w = {&d, -1, {0}};
    pthread_t t;

    (void)state;
    web_dedupe_init(&d);
    assert_int_equal(web_dedupe_begin(&d, "takeover", 7, 0, &a), WEB_DEDUPE_NEW);
    pthread_create(&t, NULL, wait_for, &w);
    orc_sleep_ms(50);
    web_dedupe_finish(&d, "takeover", 500, WEB_JSON, "x", 1);
    pthread_join(t, NULL);
    assert_int_equal(w.rc, WEB_DEDUPE_DONE);
    assert_int_equal(w.a.status, 500);
    free(w.a.body);
    /* bounded wait when the run never ends */
    assert_int_equal(web_dedupe_begin(&d, "hung", 1, 0, &a), WEB_DEDUPE_NEW);
    assert_int_equal(web_dedupe_begin(&d, "hung", 1, 20, &a), WEB_DEDUPE_BUSY);
    web_dedupe_release(&d);
}

static void test_table_is_bounded(void **state)
{
    struct web_dedupe d;
    struct web_dedupe_answer a = {0};
    char id[32];

    (void)state;
    web_dedupe_init(&d);
    for (int i = 0; i < WEB_DEDUPE_MAX + 10; i++) {
        snprintf(id, sizeof(id), "id-%d", i);
        assert_int_equal(web_dedupe_begin(&d, id, 1, 0, &a), WEB_DEDUPE_NEW);
        web_dedupe_finish(&d, id, 200, WEB_JSON, "{}", 2);
    }
    assert_true(d.n <= WEB_DEDUPE_MAX);
    /* the newest are kept, the oldest forgotten */
    assert_int_equal(web_dedupe_begin(&d, "id-265", 1, 0, &a), WEB_DEDUPE_DONE);
    free(a.body);
    web_dedupe_release(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_second_run_gets_the_stored_answer),
        cmocka_unit_test(test_retry_of_a_running_request_waits_for_its_answer),
        cmocka_unit_test(test_table_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
