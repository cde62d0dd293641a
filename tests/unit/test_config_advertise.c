/*
 * Unit tests of AdvertiseAddr (--advertise-addr, ADVERTISE_ADDR): what it
 * derives for RaftAdvertise and HTTPAdvertise, that explicit keys win, the
 * precedence of its sources, and the refusal of malformed values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/config.h"

static char err[ORC_ERRMSG_SIZE];

/* A config with the flags given as key, value pairs, then finalized. */
static int finalize_flags(struct orc_config *c, const char *const *kv)
{
    orc_config_init(c);
    for (size_t i = 0; kv[i] != NULL; i += 2)
        assert_int_equal(orc_config_set(c, kv[i], kv[i + 1], err, sizeof(err)), 0);
    return orc_config_finalize(c, err, sizeof(err));
}

static void test_derives_both_addresses(void **state)
{
    const char *kv[] = {"AdvertiseAddr", "node1.example", "RaftBind", "0.0.0.0:10010",
                        "ListenAddress", ":3001",         NULL};
    struct orc_config c;

    (void)state;
    assert_int_equal(finalize_flags(&c, kv), 0);
    assert_string_equal(c.RaftAdvertise, "node1.example:10010");
    assert_string_equal(c.HTTPAdvertise, "http://node1.example:3001");
    assert_string_equal(orc_config_source(&c, "RaftAdvertise"), "derived");
    assert_string_equal(orc_config_source(&c, "HTTPAdvertise"), "derived");
    /* a second finalize changes nothing */
    assert_int_equal(orc_config_finalize(&c, err, sizeof(err)), 0);
    assert_string_equal(c.RaftAdvertise, "node1.example:10010");
    assert_string_equal(c.HTTPAdvertise, "http://node1.example:3001");
    orc_config_release(&c);
}

static void test_port_ipv6_and_https(void **state)
{
    const char *with_port[] = {"AdvertiseAddr", "10.0.0.5:10020", NULL};
    const char *v6[] = {
        "AdvertiseAddr",     "[fd00::5]", "UseSSL",        "true",      "SSLCertFile", "c",
        "SSLPrivateKeyFile", "k",         "ListenAddress", "[::]:3443", NULL};
    const char *bare_v6[] = {"AdvertiseAddr", "fd00::6", NULL};
    struct orc_config c;

    (void)state;
    assert_int_equal(finalize_flags(&c, with_port), 0);
    assert_string_equal(c.RaftAdvertise, "10.0.0.5:10020"); /* its own port wins */
    assert_string_equal(c.HTTPAdvertise, "http://10.0.0.5:3000");
    orc_config_release(&c);

    assert_int_equal(finalize_flags(&c, v6), 0);
    assert_string_equal(c.RaftAdvertise, "[fd00::5]:10008");
    assert_string_equal(c.HTTPAdvertise, "https://[fd00::5]:3443");
    orc_config_release(&c);

    assert_int_equal(finalize_flags(&c, bare_v6), 0);
    assert_string_equal(c.RaftAdvertise, "[fd00::6]:10008");
    assert_string_equal(c.HTTPAdvertise, "http://[fd00::6]:3000");
    orc_config_release(&c);
}

static void test_explicit_keys_win(void **state)
{
    const char *both[] = {
        "AdvertiseAddr",          "node1", "RaftAdvertise", "node9:10008", "HTTPAdvertise",
        "https://lb.example:443", NULL};
    const char *raft_only[] = {"AdvertiseAddr", "node1", "RaftAdvertise", "node9", NULL};
    struct orc_config c;
    char out[256];

    (void)state;
    assert_int_equal(finalize_flags(&c, both), 0);
    assert_string_equal(c.RaftAdvertise, "node9:10008");
    assert_string_equal(c.HTTPAdvertise, "https://lb.example:443");
    assert_string_equal(orc_config_source(&c, "HTTPAdvertise"), "flag");
    /* what AdvertiseAddr would give is still computed (the start log shows it) */
    assert_int_equal(orc_config_advertise_raft(&c, out, sizeof(out)), 0);
    assert_string_equal(out, "node1:10008");
    assert_int_equal(orc_config_advertise_http(&c, out, sizeof(out)), 0);
    assert_string_equal(out, "http://node1:3000");
    orc_config_release(&c);

    assert_int_equal(finalize_flags(&c, raft_only), 0);
    assert_string_equal(c.RaftAdvertise, "node9:10008");
    assert_string_equal(c.HTTPAdvertise, "http://node1:3000");
    orc_config_release(&c);
}

static void test_nothing_to_derive(void **state)
{
    const char *none[] = {NULL};
    const char *sock[] = {"AdvertiseAddr", "node1", "ListenSocket", "/run/orc.sock", NULL};
    struct orc_config c;
    char out[256];

    (void)state;
    assert_int_equal(finalize_flags(&c, none), 0);
    assert_int_equal(orc_config_advertise_raft(&c, out, sizeof(out)), ORC_ENOTFOUND);
    assert_string_equal(c.RaftAdvertise, "127.0.0.1:10008"); /* RaftBind, as before */
    assert_string_equal(c.HTTPAdvertise, "");
    orc_config_release(&c);

    assert_int_equal(finalize_flags(&c, sock), 0);
    assert_string_equal(c.RaftAdvertise, "node1:10008");
    assert_string_equal(c.HTTPAdvertise, ""); /* no TCP port to advertise */
    assert_int_equal(orc_config_advertise_http(&c, out, sizeof(out)), ORC_ENOTFOUND);
    orc_config_release(&c);
}

static void test_malformed_refused(void **state)
{
    const char *bad[] = {"http://node1", "node1/x",  "node1:0", "node1:99999", "node 1",
                         "node1:port",   "[fd00::1", ":3000",   "user@node1",  NULL};
    struct orc_config c;

    (void)state;
    for (size_t i = 0; bad[i] != NULL; i++) {
        const char *kv[] = {"AdvertiseAddr", bad[i], NULL};

        if (finalize_flags(&c, kv) != ORC_ECONFIG)
            fail_msg("'%s' accepted", bad[i]);
        assert_non_null(strstr(err,
                               "key 'AdvertiseAddr' (--advertise-addr, ADVERTISE_ADDR; set "
                               "by flag): expected host or host:port"));
        assert_non_null(strstr(err, bad[i]));
        orc_config_release(&c);
    }
}

static void test_environment_alias_and_precedence(void **state)
{
    char e0[] = "ADVERTISE_ADDR=node2", e1[] = "ORC_AdvertiseAddr=node3", e2[] = "PATH=/bin";
    char *alias_only[] = {e0, e2, NULL};
    char *both[] = {e1, e0, NULL}; /* ORC_ first in the block: still wins */
    char bad0[] = "ADVERTISE_ADDR=";
    char *empty[] = {bad0, NULL};
    struct orc_config c;

    (void)state;
    orc_config_init(&c);
    assert_int_equal(orc_config_apply_env(&c, alias_only, err, sizeof(err)), 0);
    assert_string_equal(c.AdvertiseAddr, "node2");
    assert_string_equal(orc_config_source(&c, "AdvertiseAddr"), "env");
    assert_int_equal(orc_config_apply_env(&c, both, err, sizeof(err)), 0);
    assert_string_equal(c.AdvertiseAddr, "node3");
    /* a flag (--advertise-addr is --AdvertiseAddr) wins over both */
    assert_int_equal(orc_config_set(&c, "AdvertiseAddr", "node4", err, sizeof(err)), 0);
    assert_int_equal(orc_config_finalize(&c, err, sizeof(err)), 0);
    assert_string_equal(c.RaftAdvertise, "node4:10008");
    orc_config_release(&c);

    /* set but empty: no advertised address, as unset */
    orc_config_init(&c);
    assert_int_equal(orc_config_apply_env(&c, empty, err, sizeof(err)), 0);
    assert_int_equal(orc_config_finalize(&c, err, sizeof(err)), 0);
    assert_string_equal(c.RaftAdvertise, "127.0.0.1:10008");
    orc_config_release(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_derives_both_addresses),
        cmocka_unit_test(test_port_ipv6_and_https),
        cmocka_unit_test(test_explicit_keys_win),
        cmocka_unit_test(test_nothing_to_derive),
        cmocka_unit_test(test_malformed_refused),
        cmocka_unit_test(test_environment_alias_and_precedence),
    };

    orc_log_min_level = ORC_LOG_WARNING;
    return cmocka_run_group_tests_name("config_advertise", tests, NULL, NULL);
}
