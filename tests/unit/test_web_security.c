/*
 * Unit tests of the pure parts of the HTTP security: Prometheus label
 * escaping, SSLValidOUs matching, proxy user header values, power users and
 * groups, the cross-site decision, UTF-8 validation and loopback detection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "web/web_int.h"

static char *label(const char *s)
{
    static char out[512];
    struct orc_buf b = ORC_BUF_INIT;

    assert_int_equal(web_prom_label(&b, s), 0);
    orc_strlcpy(out, orc_buf_str(&b), sizeof(out));
    orc_buf_release(&b);
    return out;
}

static void test_prom_label_escapes_backslash_quote_newline(void **state)
{
    (void)state;
    assert_string_equal(label("plain"), "plain");
    assert_string_equal(label(""), "");
    assert_string_equal(label(NULL), "");
    assert_string_equal(label("a\"b"), "a\\\"b");
    assert_string_equal(label("a\\b"), "a\\\\b");
    assert_string_equal(label("a\nb"), "a\\nb");
    /* the alias from the review: stays inside one label value */
    assert_string_equal(label("\"} 1\nfake_metric 1\n#"), "\\\"} 1\\nfake_metric 1\\n#");
    assert_null(strchr(label("x\n\n\ny"), '\n'));
}

static void test_ou_matching(void **state)
{
    char dba[] = "dba", ops[] = "ops";
    char *valid[] = {dba, ops};
    const char *ous_ok[] = {"eng", "ops"};
    const char *ous_bad[] = {"Ops", "dba2", "db"};

    (void)state;
    assert_true(web_ou_allowed(valid, 2, ous_ok, 2));
    assert_false(web_ou_allowed(valid, 2, ous_bad, 3)); /* exact, case-sensitive */
    assert_false(web_ou_allowed(valid, 2, NULL, 0));    /* no OU at all */
    assert_true(web_ou_allowed(NULL, 0, NULL, 0));      /* empty list: any certificate */
    assert_true(web_ou_allowed(NULL, 0, ous_bad, 3));
}

static void test_proxy_user_header_values(void **state)
{
    char longname[WEB_MAX_USER + 2];

    (void)state;
    assert_true(web_auth_user_valid("alice"));
    assert_true(web_auth_user_valid("alice@example.com"));
    assert_true(web_auth_user_valid("J\xc3\xa9r\xc3\xb4me"));
    assert_false(web_auth_user_valid(NULL));
    assert_false(web_auth_user_valid(""));
    assert_false(web_auth_user_valid("al ice"));
    assert_false(web_auth_user_valid("alice\r\nX-Evil: 1"));
    assert_false(web_auth_user_valid("a\tb"));
    assert_false(web_auth_user_valid("\xff\xfe"));
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_false(web_auth_user_valid(longname));
    longname[WEB_MAX_USER] = '\0';
    assert_true(web_auth_user_valid(longname));
}

static void test_power_users_and_groups(void **state)
{
    char s0[] = "*", alice[] = "alice", bob[] = "bob", dba[] = "dba", sre[] = "sre";
    char *star[] = {s0};
    char *some[] = {alice, bob};
    char *groups[] = {dba, sre};
    const char *member[] = {"users", "sre"};
    const char *other[] = {"users"};

    (void)state;
    assert_true(web_auth_power_user(star, 1, "anybody"));
    assert_true(web_auth_power_user(some, 2, "bob"));
    assert_false(web_auth_power_user(some, 2, "Bob"));
    assert_false(web_auth_power_user(some, 2, "carol"));
    assert_false(web_auth_power_user(NULL, 0, "alice"));
    assert_true(web_auth_groups_match(groups, 2, member, 2));
    assert_false(web_auth_groups_match(groups, 2, other, 1));
    assert_false(web_auth_groups_match(NULL, 0, member, 2));
}

static void test_csrf_decision(void **state)
{
    const char *h = "127.0.0.1:3000";

    (void)state;
    /* no browser markers: curl, orchestrator-client, the CLI */
    assert_true(web_csrf_allowed(NULL, NULL, NULL, h, NULL));
    /* Sec-Fetch-Site decides when present */
    assert_true(web_csrf_allowed("same-origin", "http://evil.example", NULL, h, NULL));
    assert_true(web_csrf_allowed("none", NULL, NULL, h, NULL));
    assert_false(web_csrf_allowed("cross-site", NULL, NULL, h, NULL));
    assert_false(web_csrf_allowed("same-site", NULL, NULL, h, NULL));
    /* else Origin against Host (or X-Forwarded-Host) */
    assert_true(web_csrf_allowed(NULL, "http://127.0.0.1:3000", NULL, h, NULL));
    assert_true(web_csrf_allowed(NULL, "https://ORC.example", NULL, "orc.example", NULL));
    assert_true(
        web_csrf_allowed(NULL, "https://orc.example", NULL, "10.0.0.1:3000", "orc.example"));
    assert_false(web_csrf_allowed(NULL, "http://evil.example", NULL, h, NULL));
    assert_false(web_csrf_allowed(NULL, "http://127.0.0.1:3001", NULL, h, NULL));
    assert_false(web_csrf_allowed(NULL, "null", NULL, h, NULL));
    assert_false(web_csrf_allowed(NULL, "http://127.0.0.1:3000", NULL, NULL, NULL));
    /* else Referer */
    assert_true(web_csrf_allowed(NULL, NULL, "http://127.0.0.1:3000/web/x", h, NULL));
    assert_false(web_csrf_allowed(NULL, NULL, "http://evil.example/page", h, NULL));
}

static void test_utf8_validation(void **state)
{
    (void)state;
    assert_true(web_utf8_valid("/api/clusters", 13));
    assert_true(web_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));
    assert_false(web_utf8_valid("/api/\xff", 6));
    assert_false(web_utf8_valid("\xc3", 1));             /* truncated */
    assert_false(web_utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
    assert_false(web_utf8_valid("\xe0\x80\xaf", 3));     /* overlong */
    assert_false(web_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    assert_false(web_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(web_utf8_valid("\x80", 1));             /* lone continuation */
    assert_true(web_utf8_valid("", 0));
}

static void test_listen_is_loopback(void **state)
{
    (void)state;
    assert_true(web_listen_is_loopback("127.0.0.1:3000"));
    assert_true(web_listen_is_loopback("127.0.0.2:3000"));
    assert_true(web_listen_is_loopback("localhost:3000"));
    assert_false(web_listen_is_loopback(":3000"));
    assert_false(web_listen_is_loopback("0.0.0.0:3000"));
    assert_false(web_listen_is_loopback("10.1.2.3:3000"));
    assert_false(web_listen_is_loopback("garbage"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prom_label_escapes_backslash_quote_newline),
        cmocka_unit_test(test_ou_matching),
        cmocka_unit_test(test_proxy_user_header_values),
        cmocka_unit_test(test_power_users_and_groups),
        cmocka_unit_test(test_csrf_decision),
        cmocka_unit_test(test_utf8_validation),
        cmocka_unit_test(test_listen_is_loopback),
    };

    return cmocka_run_group_tests_name("web_security", tests, NULL, NULL);
}
