/* Unit tests of the common module: buffers, keys, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/orc.h"

static void test_buf_grows(void **state)
{
    struct orc_buf b = ORC_BUF_INIT;

    (void)state;
    assert_string_equal(orc_buf_str(&b), "");
    for (int i = 0; i < 1000; i++)
        assert_int_equal(orc_buf_printf(&b, "%d,", i), 0);
    assert_int_equal(strncmp(orc_buf_str(&b), "0,1,2,", 6), 0);
    assert_true(b.len > 3000);
    char *s = orc_buf_detach(&b);
    assert_null(b.data);
    free(s);
}

static void test_key_parse(void **state)
{
    struct orc_key k;
    char s[ORC_KEY_STRLEN];

    (void)state;
    assert_int_equal(orc_key_parse("db1:3307", 3306, &k), 0);
    assert_string_equal(k.host, "db1");
    assert_int_equal(k.port, 3307);
    assert_int_equal(orc_key_parse("db2", 3306, &k), 0);
    assert_int_equal(k.port, 3306);
    assert_int_equal(orc_key_parse("[::1]:3310", 3306, &k), 0);
    assert_string_equal(k.host, "::1");
    assert_string_equal(orc_key_str(&k, s, sizeof(s)), "[::1]:3310");
    assert_int_equal(orc_key_parse("db:notaport", 3306, &k), ORC_EINVAL);
    assert_int_equal(orc_key_parse("db:70000", 3306, &k), ORC_EINVAL);
    assert_int_equal(orc_key_parse("", 3306, &k), ORC_EINVAL);
    assert_int_equal(orc_key_parse("//db:3306", 3306, &k), 0);
    assert_false(orc_key_valid(&k));
}

static void test_errprefix(void **state)
{
    char e[ORC_ERRMSG_SIZE] = "";

    (void)state;
    orc_errf(e, sizeof(e), "bad checksum");
    orc_errprefix(e, sizeof(e), "load segment %d", 3);
    assert_string_equal(e, "load segment 3: bad checksum");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_grows),
        cmocka_unit_test(test_key_parse),
        cmocka_unit_test(test_errprefix),
    };
    return cmocka_run_group_tests_name("common", tests, NULL, NULL);
}
