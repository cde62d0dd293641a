/*
 * Unit tests of GTID sets and errant transactions (discovery/gtid.c).
 * MySQL is not installed on the test machines: its sets are tested on
 * strings only (parsing, normalising, subtraction, orchestrator's errant
 * rule). MariaDB's lists are tested here on strings and live in
 * tests/integration/test_errant_gtid.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "discovery/disc.h"

#define U1 "3e11fa47-71ca-11e1-9e33-c80aa9429562"
#define U2 "4f22ab58-82db-22f2-af44-d91bb0530673"
#define U3 "00000000-0000-0000-0000-000000000003"

/* ---- MySQL sets ---- */

static char *ogtid_norm(const char *s)
{
    struct disc_ogtid_set set;
    struct orc_buf b = ORC_BUF_INIT;

    if (disc_ogtid_parse(s, &set) != 0)
        return NULL;
    assert_int_equal(disc_ogtid_format(&set, &b), 0);
    disc_ogtid_release(&set);
    return orc_buf_detach(&b);
}

static void assert_norm(const char *in, const char *want)
{
    char *got = ogtid_norm(in);

    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_mysql_parse_normalises(void **state)
{
    (void)state;
    assert_norm("", "");
    assert_norm(U2 ":1-3," U1 ":5", U1 ":5," U2 ":1-3");
    /* newlines as gtid_executed prints them, upper case, overlaps, adjacency */
    assert_norm(U1 ":1-3:7,\n" U2 ":2", U1 ":1-3:7," U2 ":2");
    assert_norm("3E11FA47-71CA-11E1-9E33-C80AA9429562:4-6:1-3:9", U1 ":1-6:9");
    assert_norm(U1 ":5:1-10", U1 ":1-10");
    /* the same uuid twice is one entry */
    assert_norm(U1 ":1-2," U1 ":3", U1 ":1-3");
    /* MySQL 8.4 tags: kept apart from the untagged intervals */
    assert_norm(U1 ":1-2:Blue:5-6", U1 ":1-2," U1 ":blue:5-6");
}

static void test_mysql_parse_is_strict(void **state)
{
    static const char *const bad[] = {
        U1,                          /* no interval */
        U1 ":",                      /* empty interval */
        U1 ":0",                     /* transaction 0 */
        U1 ":5-3",                   /* reversed */
        U1 ":1-3,",                  /* trailing comma */
        U1 ":1-3;DROP TABLE t",      /* anything else */
        U1 ":1-3' OR '1'='1",        /* quotes */
        "3e11fa47-71ca-11e1-9e33:1", /* short uuid */
        "zz11fa47-71ca-11e1-9e33-c80aa9429562:1",
        U1 ":99999999999999999999", /* overflow */
        U1 ":1 2",
        U1 ":tag", /* a tag without intervals */
        U1 ":1-",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *got = ogtid_norm(bad[i]);
        if (got != NULL)
            fail_msg("accepted '%s' as '%s'", bad[i], got);
    }
}

static char *subtract(const char *a, const char *b)
{
    struct disc_ogtid_set x, y;
    struct orc_buf out = ORC_BUF_INIT;

    assert_int_equal(disc_ogtid_parse(a, &x), 0);
    assert_int_equal(disc_ogtid_parse(b, &y), 0);
    assert_int_equal(disc_ogtid_subtract(&x, &y), 0);
    assert_int_equal(disc_ogtid_format(&x, &out), 0);
    disc_ogtid_release(&x);
    disc_ogtid_release(&y);
    return orc_buf_detach(&out);
}

static void assert_subtract(const char *a, const char *b, const char *want)
{
    char *got = subtract(a, b);

    assert_string_equal(got, want);
    free(got);
}

static void test_mysql_subtract(void **state)
{
    (void)state;
    assert_subtract(U1 ":1-10", U1 ":1-10", "");
    assert_subtract(U1 ":1-10", "", U1 ":1-10");
    assert_subtract(U1 ":1-10", U1 ":3-4:8", U1 ":1-2:5-7:9-10");
    assert_subtract(U1 ":1-10", U1 ":1-3:9-20", U1 ":4-8");
    assert_subtract(U1 ":5", U1 ":1-4:6-9", U1 ":5");
    assert_subtract(U1 ":1-5," U2 ":1-3", U2 ":2", U1 ":1-5," U2 ":1:3");
    assert_subtract(U1 ":1-5," U2 ":1-3", U2 ":1-3", U1 ":1-5");
    /* a tag is its own set */
    assert_subtract(U1 ":1-3:t:1-3", U1 ":1-3", U1 ":t:1-3");
}

static void test_mysql_count_and_remove(void **state)
{
    struct disc_ogtid_set s;

    (void)state;
    assert_int_equal(disc_ogtid_parse(U1 ":1-10:20," U2 ":1-2", &s), 0);
    assert_int_equal(disc_ogtid_count(&s), 13);
    disc_ogtid_remove_uuid(&s, U1);
    assert_int_equal(disc_ogtid_count(&s), 2);
    disc_ogtid_release(&s);
}

static char *ogtid_errant(const char *executed,
                          const char *own,
                          const char *ancestry,
                          bool co,
                          const char *master_exec,
                          const char *master_uuid)
{
    struct orc_buf b = ORC_BUF_INIT;

    assert_int_equal(disc_ogtid_errant(executed, own, ancestry, co, master_exec, master_uuid, &b),
                     0);
    return orc_buf_detach(&b);
}

static void assert_ogtid_errant(const char *want,
                                const char *executed,
                                const char *own,
                                const char *ancestry,
                                bool co,
                                const char *master_exec,
                                const char *master_uuid)
{
    char *got = ogtid_errant(executed, own, ancestry, co, master_exec, master_uuid);

    assert_string_equal(got, want);
    free(got);
}

static void test_mysql_errant_as_orchestrator(void **state)
{
    (void)state;
    /* U1 master, U2 replica: the replica wrote U2:1-2 itself */
    assert_ogtid_errant(U2 ":1-2", U1 ":1-100," U2 ":1-2", U2, U1 "," U2, false, U1 ":1-90", U1);
    /* read after its master: more of the master's own transactions is not errant */
    assert_ogtid_errant("", U1 ":1-100", U2, U1 "," U2, false, U1 ":1-90", U1);
    /* a former master (U3) that the master holds too is not errant; what it lacks is */
    assert_ogtid_errant("", U1 ":1-10," U3 ":1-50", U2, U1 "," U2, false, U1 ":1-10," U3 ":1-50",
                        U1);
    assert_ogtid_errant(U3 ":51", U1 ":1-10," U3 ":1-51", U2, U1 "," U2, false,
                        U1 ":1-10," U3 ":1-50", U1);
    /* co-masters: its own writes may not have reached the other yet */
    assert_ogtid_errant("", U1 ":1-10," U2 ":1-5", U2, U1 "," U2, true, U1 ":1-10," U2 ":1-3", U1);
}

/* ---- MariaDB lists ---- */

static char *mgtid_errant(const char *replica,
                          const char *master,
                          const char *slave_pos,
                          const int64_t *ex,
                          size_t nex)
{
    struct disc_mgtid_list l;
    struct orc_buf b = ORC_BUF_INIT;

    assert_int_equal(disc_mgtid_errant(replica, master, slave_pos, ex, nex, &l), 0);
    assert_int_equal(disc_mgtid_format(&l, &b), 0);
    disc_mgtid_list_release(&l);
    return orc_buf_detach(&b);
}

static void assert_mgtid_errant(const char *want,
                                const char *replica,
                                const char *master,
                                const char *slave_pos,
                                const int64_t *ex,
                                size_t nex)
{
    char *got = mgtid_errant(replica, master, slave_pos, ex, nex);

    assert_string_equal(got, want);
    free(got);
}

static void test_mariadb_parse(void **state)
{
    struct disc_mgtid_list l;
    struct orc_buf b = ORC_BUF_INIT;
    static const char *const bad[] = {"0-1",    "0-1-",        "a-1-2",          "0-1-2,",
                                      "0-1-2;", "0-1-2 0-1-3", "4294967296-1-1", "0-1-2' OR 1",
                                      "-0-1-2"};

    (void)state;
    assert_int_equal(disc_mgtid_parse("0-101-14, 0-102-15,\n1-7-99", &l), 0);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.v[1].server_id, 102);
    assert_int_equal(l.v[2].seq, 99);
    assert_int_equal(disc_mgtid_domain_max(&l, 0), 15);
    assert_int_equal(disc_mgtid_domain_max(&l, 5), 0);
    assert_int_equal(disc_mgtid_format(&l, &b), 0);
    assert_string_equal(orc_buf_str(&b), "0-101-14,0-102-15,1-7-99");
    orc_buf_release(&b);
    disc_mgtid_list_release(&l);
    assert_int_equal(disc_mgtid_parse("", &l), 0);
    assert_int_equal(l.n, 0);
    disc_mgtid_list_release(&l);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (disc_mgtid_parse(bad[i], &l) == 0)
            fail_msg("accepted '%s'", bad[i]);
        assert_int_equal(l.n, 0);
    }
}

static void test_mariadb_errant_rules(void **state)
{
    const int64_t m101[] = {101};

    (void)state;
    /* the measured case: a write on the replica (102) its master (101) lacks */
    assert_mgtid_errant("0-102-15", "0-101-14,0-102-15", "0-101-14", "", m101, 1);
    /* nothing of its own: clean */
    assert_mgtid_errant("", "0-101-14", "0-101-14", "", m101, 1);
    /* read after its master: more of the master's own is not errant */
    assert_mgtid_errant("", "0-101-20", "0-101-14", "", m101, 1);
    /* a former master below the new one: its own old writes the new master holds */
    assert_mgtid_errant("", "0-101-14,0-102-30", "0-101-14,0-102-30,0-103-40", "", m101, 1);
    /* ... but not the ones the new master never got (lost in the failover) */
    assert_mgtid_errant("0-102-31", "0-101-14,0-102-31", "0-101-14,0-102-30", "", m101, 1);
    /* a master without log_slave_updates holds what it applied in gtid_slave_pos */
    assert_mgtid_errant("", "0-102-30,0-101-40", "0-101-40", "0-102-30", m101, 1);
    /* another domain the master never had */
    assert_mgtid_errant("5-102-1", "0-101-14,5-102-1", "0-101-14", "", m101, 1);
}

static void test_mariadb_errant_excludes_ancestors(void **state)
{
    const int64_t chain[] = {102, 101}; /* master 102, its master 101 */

    (void)state;
    /* 101's writes reach the replica through 102: a stale reading of 102 is not errant */
    assert_mgtid_errant("", "0-101-50", "0-101-40", "", chain, 2);
    assert_mgtid_errant("0-103-2", "0-101-50,0-103-2", "0-101-40", "", chain, 2);
}

/* ---- one instance against its master's reading ---- */

static void mariadb(struct disc_instance *in, int64_t id, const char *state)
{
    disc_instance_init(in);
    in->ver.flavor = DISC_FLAVOR_MARIADB;
    in->ver.major = 10;
    in->server_id = id;
    disc_instance_set_str(&in->executed_gtid_set, state);
}

static void test_instance_errant_and_ancestry(void **state)
{
    struct disc_instance top, mid, leaf;
    struct disc_errant_master m;

    (void)state;
    mariadb(&top, 101, "0-101-14");
    mariadb(&mid, 102, "0-101-14");
    mariadb(&leaf, 103, "0-101-14,0-103-1");
    assert_int_equal(disc_gtid_errant(&top, NULL), 0);
    assert_null(top.gtid_errant);
    assert_int_equal(top.nancestry_ids, 1);

    memset(&m, 0, sizeof(m));
    m.ver = top.ver;
    m.server_id = 101;
    m.executed = top.executed_gtid_set;
    m.ancestry_ids = top.ancestry_ids;
    m.nancestry_ids = top.nancestry_ids;
    assert_int_equal(disc_gtid_errant(&mid, &m), 0);
    assert_null(mid.gtid_errant);
    assert_int_equal(mid.nancestry_ids, 2);
    assert_int_equal(mid.ancestry_ids[0], 102);
    assert_int_equal(mid.ancestry_ids[1], 101);

    m.server_id = 102;
    m.executed = mid.executed_gtid_set;
    m.ancestry_ids = mid.ancestry_ids;
    m.nancestry_ids = mid.nancestry_ids;
    assert_int_equal(disc_gtid_errant(&leaf, &m), 0);
    assert_string_equal(disc_str(leaf.gtid_errant), "0-103-1");

    /* co-masters: its own writes are not errant */
    m.master_is_self = true;
    assert_int_equal(disc_gtid_errant(&leaf, &m), 0);
    assert_null(leaf.gtid_errant);

    /* a set that does not parse is refused and nothing is reported errant */
    m.master_is_self = false;
    disc_instance_set_str(&leaf.executed_gtid_set, "0-103-1; SELECT 1");
    assert_int_equal(disc_gtid_errant(&leaf, &m), ORC_EINVAL);
    assert_null(leaf.gtid_errant);
    disc_instance_release(&top);
    disc_instance_release(&mid);
    disc_instance_release(&leaf);
}

static void test_instance_errant_mysql(void **state)
{
    struct disc_instance in;
    struct disc_errant_master m;

    (void)state;
    disc_instance_init(&in);
    in.ver.flavor = DISC_FLAVOR_MYSQL;
    in.ver.major = 8;
    in.supports_oracle_gtid = true;
    orc_strlcpy(in.server_uuid, U2, sizeof(in.server_uuid));
    disc_instance_set_str(&in.executed_gtid_set, U1 ":1-100,\n" U2 ":1-3");
    memset(&m, 0, sizeof(m));
    m.ver = in.ver;
    orc_strlcpy(m.server_uuid, U1, sizeof(m.server_uuid));
    m.ancestry_uuid = U1;
    m.executed = U1 ":1-90";
    assert_int_equal(disc_gtid_errant(&in, &m), 0);
    assert_string_equal(disc_str(in.ancestry_uuid), U1 "," U2);
    assert_string_equal(disc_str(in.gtid_errant), U2 ":1-3");
    /* a MariaDB master: nothing to compare with */
    m.ver.flavor = DISC_FLAVOR_MARIADB;
    assert_int_equal(disc_gtid_errant(&in, &m), 0);
    assert_null(in.gtid_errant);
    disc_instance_release(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mysql_parse_normalises),
        cmocka_unit_test(test_mysql_parse_is_strict),
        cmocka_unit_test(test_mysql_subtract),
        cmocka_unit_test(test_mysql_count_and_remove),
        cmocka_unit_test(test_mysql_errant_as_orchestrator),
        cmocka_unit_test(test_mariadb_parse),
        cmocka_unit_test(test_mariadb_errant_rules),
        cmocka_unit_test(test_mariadb_errant_excludes_ancestors),
        cmocka_unit_test(test_instance_errant_and_ancestry),
        cmocka_unit_test(test_instance_errant_mysql),
    };
    return cmocka_run_group_tests_name("gtid", tests, NULL, NULL);
}
