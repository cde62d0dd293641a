/*
 * fuzz_gtid: the GTID parsers and set arithmetic (discovery/gtid.c). The
 * input is split at the first NUL (or newline-newline) into two sets, read
 * as MySQL sets and as MariaDB lists; whatever parses is subtracted,
 * formatted and parsed again (a set printed by us must parse to itself),
 * and the errant rules run on both, under the sanitizers.
 */
#include <stdlib.h>
#include <string.h>

#include "discovery/disc.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    orc_log_set_level(ORC_LOG_ERROR + 1);
    return 0;
}

static void roundtrip_mysql(const char *a, const char *b)
{
    struct disc_ogtid_set x, y, z;
    struct orc_buf out = ORC_BUF_INIT, again = ORC_BUF_INIT;

    if (disc_ogtid_parse(a, &x) != 0)
        return;
    if (disc_ogtid_parse(b, &y) == 0) {
        disc_ogtid_subtract(&x, &y);
        disc_ogtid_release(&y);
    }
    disc_ogtid_format(&x, &out);
    if (disc_ogtid_parse(orc_buf_str(&out), &z) != 0)
        abort(); /* what we print must parse */
    disc_ogtid_format(&z, &again);
    if (strcmp(orc_buf_str(&out), orc_buf_str(&again)) != 0)
        abort(); /* and print the same */
    disc_ogtid_release(&z);
    disc_ogtid_release(&x);
    orc_buf_release(&out);
    orc_buf_release(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *a = malloc(size + 1), *b;
    struct disc_mgtid_list l;
    struct orc_buf out = ORC_BUF_INIT;
    const int64_t ex[] = {1, 2};

    if (a == NULL)
        return 0;
    memcpy(a, data, size);
    a[size] = '\0';
    b = strstr(a, "\n\n");
    if (b != NULL) {
        *b = '\0';
        b += 2;
    } else {
        b = a + strlen(a);
    }
    roundtrip_mysql(a, b);
    disc_ogtid_errant(a, "3e11fa47-71ca-11e1-9e33-c80aa9429562", b, false, b, NULL, &out);
    orc_buf_release(&out);
    if (disc_mgtid_errant(a, b, b, ex, 2, &l) == 0) {
        disc_mgtid_format(&l, &out);
        disc_mgtid_list_release(&l);
        orc_buf_release(&out);
    }
    free(a);
    return 0;
}
