/* Unit tests of the pure parts of KV publishing (recovery/kv_keys.c): the key
 * set of a master and of the manager cluster, diffs, base64, etcd's range end,
 * the etcd and Consul transaction bodies, and the settings' precedence (config
 * keys, then the environment). */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "recovery/kv.h"

static void test_master_pairs(void **state)
{
    struct rec_kv_set s;
    struct orc_key k = {"db-2.example", 3307};

    (void)state;
    rec_kv_set_init(&s);
    assert_int_equal(rec_kv_master_pairs("mysql/master/", "main", &k, "10.0.0.2", "", &s), 0);
    assert_int_equal(s.n, 5);
    assert_string_equal(s.v[0].key, "mysql/master/main");
    assert_string_equal(s.v[0].value, "db-2.example:3307");
    assert_string_equal(rec_kv_set_get(&s, "mysql/master/main/hostname"), "db-2.example");
    assert_string_equal(rec_kv_set_get(&s, "mysql/master/main/port"), "3307");
    assert_string_equal(rec_kv_set_get(&s, "mysql/master/main/ipv4"), "10.0.0.2");
    assert_string_equal(rec_kv_set_get(&s, "mysql/master/main/ipv6"), "");
    assert_null(rec_kv_set_get(&s, "mysql/master/main/other"));
    rec_kv_set_release(&s);
}

static void test_diff_writes_only_changes_and_deletes_below_prefix(void **state)
{
    struct rec_kv_set cur, want, put;
    struct orc_strlist del = {NULL, 0};

    (void)state;
    rec_kv_set_init(&cur);
    rec_kv_set_init(&want);
    rec_kv_set_init(&put);
    rec_kv_set_put(&cur, "p/leader", "http://a:3000");
    rec_kv_set_put(&cur, "p/members/a", "x");
    rec_kv_set_put(&cur, "p/members/gone", "x");
    rec_kv_set_put(&cur, "p/other", "kept");
    rec_kv_set_put(&want, "p/leader", "http://b:3000");
    rec_kv_set_put(&want, "p/members/a", "x");
    rec_kv_set_put(&want, "p/members/new", "y");
    assert_int_equal(rec_kv_diff(&cur, &want, "p/members/", &put, &del), 0);
    assert_int_equal(put.n, 2);
    assert_string_equal(rec_kv_set_get(&put, "p/leader"), "http://b:3000");
    assert_string_equal(rec_kv_set_get(&put, "p/members/new"), "y");
    assert_int_equal(del.n, 1);
    assert_string_equal(del.v[0], "p/members/gone");
    free(del.v[0]);
    free(del.v);
    rec_kv_set_release(&put);
    rec_kv_set_init(&put);
    /* nothing to do when the store already holds it */
    assert_int_equal(rec_kv_diff(&want, &want, NULL, &put, &del), 0);
    assert_int_equal(put.n, 0);
    rec_kv_set_release(&cur);
    rec_kv_set_release(&want);
    rec_kv_set_release(&put);
}

static void test_base64_round_trip(void **state)
{
    static const char *const cases[][2] = {
        {"", ""},        {"f", "Zg=="},        {"fo", "Zm8="},
        {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"mysql/master/a", "bXlzcWwvbWFzdGVyL2E="},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct orc_buf e = ORC_BUF_INIT, d = ORC_BUF_INIT;
        assert_int_equal(rec_kv_base64_encode(cases[i][0], strlen(cases[i][0]), &e), 0);
        assert_string_equal(orc_buf_str(&e), cases[i][1]);
        assert_int_equal(rec_kv_base64_decode(cases[i][1], &d), 0);
        assert_string_equal(orc_buf_str(&d), cases[i][0]);
        orc_buf_release(&e);
        orc_buf_release(&d);
    }
    {
        struct orc_buf d = ORC_BUF_INIT;
        assert_int_equal(rec_kv_base64_decode("a*b=", &d), ORC_EINVAL);
        orc_buf_release(&d);
    }
}

static void test_prefix_end(void **state)
{
    struct orc_buf b = ORC_BUF_INIT;

    (void)state;
    assert_int_equal(rec_kv_prefix_end("mysql/master/", &b), 0);
    assert_string_equal(orc_buf_str(&b), "mysql/master0");
    orc_buf_reset(&b);
    assert_int_equal(rec_kv_prefix_end("a\xff", &b), 0);
    assert_string_equal(orc_buf_str(&b), "b");
    orc_buf_release(&b);
}

static void test_etcd_txn_json(void **state)
{
    struct rec_kv_set put;
    char *d0 = orc_strdup("x/gone");
    struct orc_strlist del = {&d0, 1};
    char *body;
    json_t *j, *ops;

    (void)state;
    rec_kv_set_init(&put);
    rec_kv_set_put(&put, "a", "b");
    rec_kv_set_put(&put, "a/ipv6", "");
    body = rec_kv_etcd_txn_json(&put, &del);
    assert_non_null(body);
    assert_string_equal(body,
                        "{\"compare\":[],\"success\":["
                        "{\"request_put\":{\"key\":\"YQ==\",\"value\":\"Yg==\"}},"
                        "{\"request_put\":{\"key\":\"YS9pcHY2\",\"value\":\"\"}},"
                        "{\"request_delete_range\":{\"key\":\"eC9nb25l\"}}],\"failure\":[]}");
    j = json_loads(body, 0, NULL);
    ops = json_object_get(j, "success");
    assert_int_equal(json_array_size(ops), 3);
    json_decref(j);
    free(body);
    free(d0);
    rec_kv_set_release(&put);
}

static void test_consul_txn_json_chunks(void **state)
{
    struct rec_kv_set put;
    char *d0 = orc_strdup("p/members/old");
    struct orc_strlist del = {&d0, 1};
    char *body;

    (void)state;
    rec_kv_set_init(&put);
    rec_kv_set_put(&put, "k1", "v1");
    rec_kv_set_put(&put, "k2", "v2");
    body = rec_kv_consul_txn_json(&put, 1, 5, &del, 0, 1);
    assert_string_equal(body,
                        "[{\"KV\":{\"Verb\":\"set\",\"Key\":\"k2\",\"Value\":\"djI=\"}},"
                        "{\"KV\":{\"Verb\":\"delete\",\"Key\":\"p/members/old\"}}]");
    free(body);
    free(d0);
    rec_kv_set_release(&put);
}

static void test_manager_pairs(void **state)
{
    struct rec_kv_member m[2] = {
        {"10.0.0.1:10008", "voter", true, true},
        {"10.0.0.9:10008", "non-voter", false, false},
    };
    struct rec_kv_set s;

    (void)state;
    rec_kv_set_init(&s);
    assert_int_equal(rec_kv_manager_pairs("orchestrator/cluster/", "http://10.0.0.1:3000",
                                          "10.0.0.1:10008", m, 2, &s),
                     0);
    assert_int_equal(s.n, 4);
    assert_string_equal(rec_kv_set_get(&s, "orchestrator/cluster/leader"), "http://10.0.0.1:3000");
    assert_string_equal(rec_kv_set_get(&s, "orchestrator/cluster/leader/raft"), "10.0.0.1:10008");
    assert_string_equal(rec_kv_set_get(&s, "orchestrator/cluster/members/10.0.0.9:10008"),
                        "{\"Role\":\"non-voter\",\"Healthy\":false,\"Leader\":false}");
    rec_kv_set_release(&s);
}

/* ---- settings ---- */

static const char *const *fake_env;

static const char *fake_get(const char *name)
{
    for (size_t i = 0; fake_env != NULL && fake_env[i] != NULL; i += 2)
        if (strcmp(fake_env[i], name) == 0)
            return fake_env[i + 1];
    return NULL;
}

static void load(struct orc_config *c, const char *json)
{
    char err[ORC_ERRMSG_SIZE] = "", path[] = "/tmp/test_kv_XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");

    assert_non_null(f);
    fputs(json, f);
    fclose(f);
    orc_config_init(c);
    assert_int_equal(orc_config_load_file(c, path, err, sizeof(err)), 0);
    assert_int_equal(orc_config_finalize(c, err, sizeof(err)), 0);
    remove(path);
}

static void test_settings_config_first_then_environment(void **state)
{
    static const char *const env[] = {
        "ETCD_ENDPOINTS",
        "http://e1:2379,http://e2:2379",
        "ETCD_USER",
        "envuser",
        "ETCD_PASSWORD",
        "envpw",
        "ETCD_CACERT",
        "/env/ca.pem",
        "CONSUL_HTTP_ADDR",
        "https://consul.example:8501",
        "CONSUL_HTTP_TOKEN",
        "envtoken",
        "CONSUL_HTTP_SSL_VERIFY",
        "false",
        "CONSUL_TLS_SERVER_NAME",
        "consul.internal",
        NULL,
    };
    struct orc_config c;
    struct rec_kv_settings s;
    char err[ORC_ERRMSG_SIZE] = "";

    (void)state;
    fake_env = env;
    load(&c,
         "{\"EtcdUser\": \"cfguser\", \"KVManagerPrefix\": \"mgr\","
         " \"KVClusterMasterPrefix\": \"db/master\", \"ConsulAclToken\": \"cfgtoken\"}");
    assert_int_equal(rec_kv_settings_resolve(&c, fake_get, &s, err, sizeof(err)), 0);
    assert_string_equal(s.etcd_endpoints, "http://e1:2379,http://e2:2379");
    assert_string_equal(s.etcd_user, "cfguser");   /* the key wins */
    assert_string_equal(s.etcd_password, "envpw"); /* the environment fills in */
    assert_string_equal(s.etcd_cacert, "/env/ca.pem");
    assert_string_equal(s.consul_address, "consul.example:8501");
    assert_string_equal(s.consul_scheme, "https");
    assert_string_equal(s.consul_token, "cfgtoken");
    assert_string_equal(s.consul_server_name, "consul.internal");
    assert_true(s.consul_skip_verify);
    assert_string_equal(s.master_prefix, "db/master/");
    assert_string_equal(s.manager_prefix, "mgr/");
    assert_int_equal(s.zk_address[0], '\0');
    orc_config_release(&c);
}

static void test_settings_defaults_without_environment(void **state)
{
    struct orc_config c;
    struct rec_kv_settings s;
    char err[ORC_ERRMSG_SIZE] = "";

    (void)state;
    fake_env = NULL;
    load(&c,
         "{\"ConsulAddress\": \"127.0.0.1:8500\", \"ConsulKVStoreProvider\": \"consul-txn\","
         " \"ZkAddress\": \"z1,z2:2182\"}");
    assert_int_equal(rec_kv_settings_resolve(&c, fake_get, &s, err, sizeof(err)), 0);
    assert_string_equal(s.etcd_endpoints, "");
    assert_string_equal(s.consul_address, "127.0.0.1:8500");
    assert_string_equal(s.consul_scheme, "http");
    assert_true(s.consul_txn);
    assert_int_equal(s.consul_max_txn, 5);
    assert_false(s.consul_skip_verify);
    assert_string_equal(s.zk_address, "z1,z2:2182");
    assert_string_equal(s.master_prefix, "mysql/master/");
    assert_string_equal(s.manager_prefix, "orchestrator/cluster/");
    assert_int_equal(s.interval_ms, 60000);
    assert_int_equal(s.timeout_ms, 2000);
    assert_int_equal(s.connect_timeout_ms, 1000);
    orc_config_release(&c);
}

static void test_settings_refuse_bad_scheme(void **state)
{
    static const char *const env[] = {"CONSUL_HTTP_ADDR", "ftp://x:1", NULL};
    struct orc_config c;
    struct rec_kv_settings s;
    char err[ORC_ERRMSG_SIZE] = "";

    (void)state;
    fake_env = env;
    load(&c, "{}");
    assert_int_equal(rec_kv_settings_resolve(&c, fake_get, &s, err, sizeof(err)), ORC_ECONFIG);
    assert_non_null(strstr(err, "ftp"));
    orc_config_release(&c);
}

static void test_settings_consul_ssl_and_client_certificate_from_environment(void **state)
{
    static const char *const env[] = {
        "CONSUL_HTTP_ADDR",
        "127.0.0.1:8501",
        "CONSUL_HTTP_SSL",
        "true",
        "CONSUL_CLIENT_CERT",
        "/env/client.pem",
        "CONSUL_CLIENT_KEY",
        "/env/client-key.pem",
        "ETCD_ENDPOINTS",
        "http://e1:2379",
        "ETCD_USER",
        "envuser",
        "ETCD_PASSWORD",
        "envpw",
        NULL,
    };
    static const char *const no_ssl[] = {"CONSUL_HTTP_ADDR", "127.0.0.1:8500", "CONSUL_HTTP_SSL",
                                         "false", NULL};
    struct orc_config c;
    struct rec_kv_settings s;
    char err[ORC_ERRMSG_SIZE] = "";

    (void)state;
    fake_env = env;
    load(&c, "{}");
    assert_int_equal(rec_kv_settings_resolve(&c, fake_get, &s, err, sizeof(err)), 0);
    assert_string_equal(s.consul_address, "127.0.0.1:8501");
    assert_string_equal(s.consul_scheme, "https"); /* CONSUL_HTTP_SSL */
    assert_string_equal(s.consul_cert, "/env/client.pem");
    assert_string_equal(s.consul_key, "/env/client-key.pem");
    assert_string_equal(s.etcd_user, "envuser");
    assert_string_equal(s.etcd_password, "envpw");
    orc_config_release(&c);

    /* CONSUL_HTTP_SSL goes with CONSUL_HTTP_ADDR: ConsulAddress keeps ConsulScheme. */
    load(&c, "{\"ConsulAddress\": \"consul.example:8500\"}");
    assert_int_equal(rec_kv_settings_resolve(&c, fake_get, &s, err, sizeof(err)), 0);
    assert_string_equal(s.consul_address, "consul.example:8500");
    assert_string_equal(s.consul_scheme, "http");
    orc_config_release(&c);

    fake_env = no_ssl;
    load(&c, "{}");
    assert_int_equal(rec_kv_settings_resolve(&c, fake_get, &s, err, sizeof(err)), 0);
    assert_string_equal(s.consul_scheme, "http");
    orc_config_release(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_master_pairs),
        cmocka_unit_test(test_diff_writes_only_changes_and_deletes_below_prefix),
        cmocka_unit_test(test_base64_round_trip),
        cmocka_unit_test(test_prefix_end),
        cmocka_unit_test(test_etcd_txn_json),
        cmocka_unit_test(test_consul_txn_json_chunks),
        cmocka_unit_test(test_manager_pairs),
        cmocka_unit_test(test_settings_config_first_then_environment),
        cmocka_unit_test(test_settings_defaults_without_environment),
        cmocka_unit_test(test_settings_refuse_bad_scheme),
        cmocka_unit_test(test_settings_consul_ssl_and_client_certificate_from_environment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
