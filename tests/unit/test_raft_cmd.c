/*
 * Unit tests of the raft module's pure parts (orchestrator/raft_cmd.c): the
 * command wire format and its 8-byte padding, raft addresses, stable ids and
 * the advertised HTTP URI.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/config.h"
#include "orchestrator/raft.h"

static void test_pad8(void **state)
{
    (void)state;
    assert_int_equal(orc_raft_pad8(0), 0);
    assert_int_equal(orc_raft_pad8(1), 8);
    assert_int_equal(orc_raft_pad8(8), 8);
    assert_int_equal(orc_raft_pad8(9), 16);
    assert_int_equal(orc_raft_pad8(63), 64);
}

/* Every encoded command is a multiple of 8 bytes, whatever the payload. */
static void test_encode_is_padded_to_8(void **state)
{
    struct orc_buf b = ORC_BUF_INIT;

    (void)state;
    for (int n = 0; n < 40; n++) {
        char s[64];
        json_t *v;

        memset(s, 'x', (size_t)n);
        s[n] = '\0';
        v = json_pack("{s:s}", "Alias", s);
        assert_int_equal(orc_raft_cmd_encode("set-cluster-alias", v, &b), 0);
        assert_int_equal(b.len % 8, 0);
        assert_true(b.len >= strlen("{\"op\":\"set-cluster-alias\"}"));
        json_decref(v);
    }
    orc_buf_release(&b);
}

static void test_encode_decode_round_trip(void **state)
{
    struct orc_buf b = ORC_BUF_INIT;
    char op[64];
    json_t *v = json_pack("{s:s, s:i}", "Hostname", "db1", "Port", 3306), *out = NULL;

    (void)state;
    assert_int_equal(orc_raft_cmd_encode("begin-downtime", v, &b), 0);
    /* the op comes first: the loop thread peeks at it */
    assert_memory_equal(b.data, "{\"op\":\"begin-downtime\"", 22);
    assert_int_equal(orc_raft_cmd_decode(b.data, b.len, op, sizeof(op), &out, NULL, 0), 0);
    assert_string_equal(op, "begin-downtime");
    assert_true(json_equal(v, out));
    json_decref(out);
    json_decref(v);
    orc_buf_release(&b);
}

static void test_encode_null_value(void **state)
{
    struct orc_buf b = ORC_BUF_INIT;
    char op[64];
    json_t *out = NULL;

    (void)state;
    assert_int_equal(orc_raft_cmd_encode("enable-global-recoveries", NULL, &b), 0);
    assert_int_equal(b.len % 8, 0);
    assert_int_equal(orc_raft_cmd_decode(b.data, b.len, op, sizeof(op), &out, NULL, 0), 0);
    assert_string_equal(op, "enable-global-recoveries");
    assert_true(json_is_null(out));
    json_decref(out);
    assert_int_equal(orc_raft_cmd_encode("", NULL, &b), ORC_EINVAL);
    orc_buf_release(&b);
}

static void test_decode_rejects_bad_commands(void **state)
{
    char op[8], err[ORC_ERRMSG_SIZE];
    json_t *out = (json_t *)1;
    const char *bad[] = {"", "not json", "[1,2]", "{\"value\":1}", "{\"op\":\"\"}", "{\"op\":7}"};

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(
            orc_raft_cmd_decode(bad[i], strlen(bad[i]), op, sizeof(op), &out, err, sizeof(err)),
            ORC_EINVAL);
        assert_null(out);
        assert_true(err[0] != '\0');
    }
    /* an op longer than the caller's buffer */
    assert_int_equal(orc_raft_cmd_decode("{\"op\":\"register-candidate\"}", 28, op, sizeof(op),
                                         &out, err, sizeof(err)),
                     ORC_EINVAL);
}

static void test_addr_normalize(void **state)
{
    char out[ORC_RAFT_ADDR_MAX], err[ORC_ERRMSG_SIZE];

    (void)state;
    assert_int_equal(
        orc_raft_addr_normalize("127.0.0.1:10008", 10008, out, sizeof(out), err, sizeof(err)), 0);
    assert_string_equal(out, "127.0.0.1:10008");
    assert_int_equal(orc_raft_addr_normalize("10.1.2.3", 10009, out, sizeof(out), err, sizeof(err)),
                     0);
    assert_string_equal(out, "10.1.2.3:10009");
    /* host names are resolved to IPv4 (raft_uv_tcp takes a.b.c.d:port only) */
    assert_int_equal(
        orc_raft_addr_normalize("localhost:7000", 10008, out, sizeof(out), err, sizeof(err)), 0);
    assert_string_equal(out, "127.0.0.1:7000");
    assert_int_equal(orc_raft_addr_normalize("", 10008, out, sizeof(out), err, sizeof(err)),
                     ORC_EINVAL);
    assert_int_equal(
        orc_raft_addr_normalize("127.0.0.1:99999", 10008, out, sizeof(out), err, sizeof(err)),
        ORC_EINVAL);
    /* an IPv6 literal has no IPv4 address (and needs no DNS to say so) */
    assert_int_equal(
        orc_raft_addr_normalize("[::1]:10008", 10008, out, sizeof(out), err, sizeof(err)),
        ORC_ENOTFOUND);
    assert_non_null(strstr(err, "::1"));
}

static void test_id_is_stable_and_distinct(void **state)
{
    (void)state;
    assert_true(orc_raft_id_of("127.0.0.1:10008") == orc_raft_id_of("127.0.0.1:10008"));
    assert_true(orc_raft_id_of("127.0.0.1:10008") != orc_raft_id_of("127.0.0.1:10009"));
    assert_true(orc_raft_id_of("127.0.0.1:10008") != orc_raft_id_of("127.0.0.2:10008"));
    assert_true(orc_raft_id_of("") != 0);
    /* FNV-1a 64 of "a" (the id must not change across versions) */
    assert_true(orc_raft_hash("a", 1) == 0xaf63dc4c8601ec8cULL);
}

static void test_http_uri(void **state)
{
    struct orc_config c;
    char uri[ORC_RAFT_URI_MAX], err[ORC_ERRMSG_SIZE];

    (void)state;
    orc_config_init(&c);
    assert_int_equal(orc_config_set(&c, "ListenAddress", ":3000", err, sizeof(err)), 0);
    assert_int_equal(orc_config_set(&c, "RaftAdvertise", "db-orc-1:10008", err, sizeof(err)), 0);
    assert_int_equal(orc_raft_http_uri(&c, uri, sizeof(uri)), 0);
    assert_string_equal(uri, "http://db-orc-1:3000");
    assert_int_equal(orc_config_set(&c, "UseSSL", "true", err, sizeof(err)), 0);
    assert_int_equal(orc_raft_http_uri(&c, uri, sizeof(uri)), 0);
    assert_string_equal(uri, "https://db-orc-1:3000");
    assert_int_equal(
        orc_config_set(&c, "HTTPAdvertise", "http://orc1.example:80", err, sizeof(err)), 0);
    assert_int_equal(orc_raft_http_uri(&c, uri, sizeof(uri)), 0);
    assert_string_equal(uri, "http://orc1.example:80");
    orc_config_release(&c);
}

/* A returning standby is promoted when the voters stay odd. */
static void test_promotion_keeps_voters_odd(void **state)
{
    (void)state;
    assert_false(orc_raft_may_promote(4, 0)); /* nobody waits */
    assert_true(orc_raft_may_promote(4, 1));  /* 4 -> 5 */
    assert_true(orc_raft_may_promote(2, 1));  /* 2 -> 3 */
    assert_false(orc_raft_may_promote(3, 1)); /* 3 -> 4: waits for a partner */
    assert_true(orc_raft_may_promote(3, 2));  /* 3 -> 4 -> 5 */
    assert_false(orc_raft_may_promote(1, 1)); /* 1 -> 2 would need both */
}

/* The join proof a node sends with raft-add-peer when RaftSecret is set. */
static void test_join_proof(void **state)
{
    const char *secret = "0123456789abcdef-secret";
    char proof[ORC_RAFT_PROOF_MAX], bad[ORC_RAFT_PROOF_MAX];
    time_t now = 1800000000;

    (void)state;
    assert_int_equal(
        orc_raft_auth_join_proof(secret, "10.0.0.4:10008", "voter", now, proof, sizeof(proof)), 0);
    assert_int_equal(strlen(proof), 10 + 1 + 64);
    assert_int_equal(orc_raft_auth_join_check(secret, "10.0.0.4:10008", "voter", proof, now), 0);
    assert_int_equal(orc_raft_auth_join_check(secret, "10.0.0.4:10008", "voter", proof, now + 299),
                     0);
    /* stale, or another address, role or secret */
    assert_int_equal(orc_raft_auth_join_check(secret, "10.0.0.4:10008", "voter", proof, now + 301),
                     ORC_EPERM);
    assert_int_equal(orc_raft_auth_join_check(secret, "10.0.0.5:10008", "voter", proof, now),
                     ORC_EPERM);
    assert_int_equal(orc_raft_auth_join_check(secret, "10.0.0.4:10008", "nonvoter", proof, now),
                     ORC_EPERM);
    assert_int_equal(
        orc_raft_auth_join_check("another-secret-0123456", "10.0.0.4:10008", "voter", proof, now),
        ORC_EPERM);
    /* malformed */
    assert_int_equal(orc_raft_auth_join_check(secret, "10.0.0.4:10008", "voter", NULL, now),
                     ORC_EPERM);
    assert_int_equal(orc_raft_auth_join_check(secret, "10.0.0.4:10008", "voter", "", now),
                     ORC_EPERM);
    assert_int_equal(
        orc_raft_auth_join_check(secret, "10.0.0.4:10008", "voter", "1800000000.ab", now),
        ORC_EPERM);
    memcpy(bad, proof, sizeof(bad));
    bad[20] = bad[20] == 'a' ? 'b' : 'a';
    assert_int_equal(orc_raft_auth_join_check(secret, "10.0.0.4:10008", "voter", bad, now),
                     ORC_EPERM);
    /* no secret: no proof made, none needed */
    assert_int_equal(orc_raft_auth_join_proof("", "a:1", "voter", now, proof, sizeof(proof)), 0);
    assert_string_equal(proof, "");
    assert_int_equal(orc_raft_auth_join_check("", "a:1", "voter", NULL, now), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pad8),
        cmocka_unit_test(test_encode_is_padded_to_8),
        cmocka_unit_test(test_encode_decode_round_trip),
        cmocka_unit_test(test_encode_null_value),
        cmocka_unit_test(test_decode_rejects_bad_commands),
        cmocka_unit_test(test_addr_normalize),
        cmocka_unit_test(test_id_is_stable_and_distinct),
        cmocka_unit_test(test_http_uri),
        cmocka_unit_test(test_promotion_keeps_voters_odd),
        cmocka_unit_test(test_join_proof),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
