/*
 * node_reload: re-reading the configuration while the service runs (SIGHUP
 * on the main thread, /api/reload-configuration on an HTTP thread).
 *
 * The config is loaded again from the same sources as at start (files,
 * ORC_<Key> environment, --Key=value flags) and compared key by key with the
 * config last applied. When only reloadable keys changed
 * (orc_config_reloadable_keys) they are applied; when any other key changed
 * the reload is refused as a whole and the running config stays as it was.
 * The threads of the service keep reading the config struct they got at start,
 * which never changes; the reloadable keys live in the log module.
 */
#include <string.h>

#include "common/config.h"
#include "orchestrator/node.h"

int orc_reload_init(struct orc_reload *r,
                    const struct orc_config *cfg,
                    const struct orc_node_loader *loader,
                    char *errmsg,
                    size_t len)
{
    memset(r, 0, sizeof(*r));
    if (orc_config_copy(&r->live, cfg) != 0) {
        orc_errf(errmsg, len, "reload: out of memory");
        return ORC_ENOMEM;
    }
    pthread_mutex_init(&r->lock, NULL);
    r->loader = loader;
    r->ready = true;
    return 0;
}

void orc_reload_release(struct orc_reload *r)
{
    if (!r->ready)
        return;
    orc_config_release(&r->live);
    pthread_mutex_destroy(&r->lock);
    r->ready = false;
}

static int effective_level(const struct orc_config *c)
{
    int level = orc_log_level_parse(c->LogLevel);

    return level < 0 ? ORC_LOG_INFO : level;
}

/* Applies the reloadable keys of next. Only the log file can fail, so it goes
 * first: on failure nothing has changed. */
static int apply(const struct orc_config *cur,
                 const struct orc_config *next,
                 char *errmsg,
                 size_t len)
{
    if (strcmp(cur->LogFile, next->LogFile) != 0 &&
        orc_log_set_file(next->LogFile, errmsg, len) != 0) {
        orc_errprefix(errmsg, len, "reload refused: LogFile");
        return ORC_ECONFIG;
    }
    orc_log_set_level(effective_level(next));
    if (cur->EnableSyslog != next->EnableSyslog)
        orc_log_set_syslog(next->EnableSyslog);
    return 0;
}

int orc_reload_run(struct orc_reload *r,
                   const char *why,
                   struct orc_buf *changed,
                   char *errmsg,
                   size_t len)
{
    struct orc_config next;
    int rc;

    if (!r->ready || r->loader == NULL || r->loader->load == NULL) {
        orc_errf(errmsg, len, "reload is not available");
        return ORC_ESTATE;
    }
    pthread_mutex_lock(&r->lock);
    orc_config_init(&next);
    rc = r->loader->load(r->loader->arg, &next, errmsg, len);
    if (rc != 0) {
        orc_errprefix(errmsg, len, "reload refused");
        rc = ORC_ECONFIG;
    }
    if (rc == 0)
        rc = orc_config_reload_check(&r->live, &next, changed, errmsg, len);
    if (rc == 0)
        rc = apply(&r->live, &next, errmsg, len);
    if (rc == 0) {
        orc_config_release(&r->live);
        r->live = next; /* taken over: next is not released below */
        orc_config_init(&next);
        ORC_LOG_N("+config-reloaded", "by=%s changed=\"%s\"", why, orc_buf_str(changed));
    } else {
        ORC_LOG_W("+config-reload-refused", "by=%s error=\"%s\"", why, errmsg);
    }
    orc_config_release(&next);
    pthread_mutex_unlock(&r->lock);
    return rc;
}
