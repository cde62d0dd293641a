/*
 * config_reload: which keys a running service applies live, and the check
 * that decides whether a reloaded config may be applied at all.
 *
 * The list below is THE list of reloadable keys (docs/operations.md shows it).
 * A key is on it only when the service really applies a new value without a
 * restart and without a data race: today the logging keys, which the log
 * module switches under its own lock (file, syslog) or atomically (level).
 * Every other key is read by long-lived threads from the config struct they
 * got at start; changing one of those needs a restart, and a reload that
 * changes one is refused as a whole, naming the keys.
 */
#include <string.h>

#include "common/config.h"

const char *const orc_config_reloadable_keys[] = {
    "LogLevel",     /* the minimum level of the lines written */
    "Debug",        /* orchestrator's switch for LogLevel debug */
    "LogFile",      /* the file is switched; "" goes back to stderr only */
    "EnableSyslog", /* lines also go to syslog(3), or stop going there */
    NULL,
};

bool orc_config_reloadable(const char *key)
{
    for (size_t i = 0; orc_config_reloadable_keys[i] != NULL; i++)
        if (strcmp(orc_config_reloadable_keys[i], key) == 0)
            return true;
    return false;
}

static bool strs_equal(char *const *a, char *const *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return true;
}

/* True when key d holds the same value in a and b. */
static bool key_equal(const struct orc_config *a,
                      const struct orc_config *b,
                      const struct orc_config_def *d)
{
    const char *pa = (const char *)a + d->offset, *pb = (const char *)b + d->offset;

    switch (d->type) {
        case ORC_CFG_BOOL:
            return *(const bool *)pa == *(const bool *)pb;
        case ORC_CFG_INT:
            return *(const int64_t *)pa == *(const int64_t *)pb;
        case ORC_CFG_STR:
            return strcmp(*(char *const *)pa, *(char *const *)pb) == 0;
        case ORC_CFG_LIST: {
            const struct orc_strlist *la = (const void *)pa, *lb = (const void *)pb;
            return la->n == lb->n && strs_equal(la->v, lb->v, la->n);
        }
        case ORC_CFG_MAP: {
            const struct orc_strmap *ma = (const void *)pa, *mb = (const void *)pb;
            return ma->n == mb->n && strs_equal(ma->keys, mb->keys, ma->n) &&
                   strs_equal(ma->vals, mb->vals, ma->n);
        }
    }
    return false;
}

static int append_name(struct orc_buf *b, const char *name)
{
    if (b->len > 0 && orc_buf_puts(b, ", ") != 0)
        return ORC_ENOMEM;
    return orc_buf_puts(b, name);
}

int orc_config_reload_check(const struct orc_config *cur,
                            const struct orc_config *next,
                            struct orc_buf *changed,
                            char *errmsg,
                            size_t len)
{
    struct orc_buf refused = ORC_BUF_INIT;
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < ORC_CONFIG_NKEYS; i++) {
        const struct orc_config_def *d = &orc_config_defs[i];

        if (key_equal(cur, next, d))
            continue;
        rc = append_name(orc_config_reloadable(d->name) ? changed : &refused, d->name);
    }
    if (rc != 0) {
        orc_errf(errmsg, len, "reload: out of memory");
    } else if (refused.len > 0) {
        /* Names only: a changed secret must not be echoed. */
        orc_errf(errmsg, len,
                 "reload refused: these keys cannot change while the service runs "
                 "(restart to apply them): %s",
                 orc_buf_str(&refused));
        rc = ORC_ECONFIG;
    }
    orc_buf_release(&refused);
    return rc;
}
