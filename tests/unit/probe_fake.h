/*
 * Test support for the discovery probe, shared by test_probe.c (a fake
 * connection that answers from recorded result sets) and test_probe_live.c
 * (which records a real server's answers in the same layout).
 *
 * Layout: tests/unit/data/<flavor>/<case>/<slug>.txt, falling back to
 * tests/unit/data/<flavor>/common/<slug>.txt. The slug names the statement
 * (probe_slug below), so a probe that sends the wrong statement for a
 * flavor ("SHOW SLAVE STATUS" to 8.4) finds no recording and fails.
 */
#ifndef ORC_TEST_PROBE_FAKE_H
#define ORC_TEST_PROBE_FAKE_H

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "discovery/disc.h"

/* File name (without .txt) of the recording that answers sql. */
static inline void probe_slug(const char *sql, char *out, size_t n)
{
    static const struct {
        const char *prefix;
        const char *slug;
    } fixed[] = {
        {"SELECT @@global.hostname", "variables"},
        {"SELECT @@global.version AS version", "version"},
        {"SELECT SUBSTRING_INDEX(host", "processlist"},
        {"SHOW GLOBAL STATUS", "global_status"},
        {"SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync_%'", "semi_sync_variables"},
    };
    size_t j = 0;
    unsigned long h = 5381;

    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        if (strncmp(sql, fixed[i].prefix, strlen(fixed[i].prefix)) == 0) {
            snprintf(out, n, "%s", fixed[i].slug);
            return;
        }
    }
    if (strncmp(sql, "SHOW ", 5) == 0 && strlen(sql) < 40) {
        for (const char *p = sql; *p != '\0' && j + 1 < n; p++)
            out[j++] = *p == ' ' ? '_' : (char)tolower((unsigned char)*p);
        out[j] = '\0';
        return;
    }
    for (const char *p = sql; *p != '\0'; p++)
        h = h * 33 + (unsigned char)*p;
    snprintf(out, n, "query_%08lx", h & 0xffffffffUL);
}

/* Reads a whole file; caller frees. NULL when missing. */
static inline char *probe_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct orc_buf b = ORC_BUF_INIT;
    char chunk[4096];
    size_t got;

    if (f == NULL)
        return NULL;
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (orc_buf_append(&b, chunk, got) != 0)
            break;
    }
    fclose(f);
    if (b.data == NULL)
        return strdup("");
    return orc_buf_detach(&b);
}

/* Where the recordings live: $ORC_TEST_DATA, else next to this file. */
static inline const char *probe_data_dir(void)
{
    const char *env = getenv("ORC_TEST_DATA");

    return env != NULL && *env != '\0' ? env : "tests/unit/data";
}

#endif
