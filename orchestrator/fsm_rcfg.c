/*
 * fsm_rcfg: "set-recovery-config", the replicated recovery settings.
 *
 * {"Key", "Value", "By", "Now"} sets the key's replicated value; without a
 * Value (or with null) the key's row is removed and every node goes back to
 * its file's value. Only the keys of the config fingerprint are accepted,
 * and a value is checked as the loader checks the key, hooks included
 * (placeholders in unsafe contexts are refused): the same on every node,
 * whatever its file says. The value is stored normalized (as the config
 * dump shows it). After the change the node's callback lays the values over
 * its file config (orchestrator/node_rcfg.c).
 */
#include <stdlib.h>
#include <string.h>

#include "backend/be.h"
#include "common/config_live.h"
#include "orchestrator/fsm.h"
#include "orchestrator/fsm_int.h"
#include "recovery/rec.h"

int orc_fsm_rcfg_value(const char *key,
                       const json_t *value,
                       json_t **normalized,
                       char *errmsg,
                       size_t len)
{
    const struct orc_config_def *d = orc_config_recovery_key(key);
    struct orc_config scratch;
    int rc;

    *normalized = NULL;
    if (d == NULL) {
        orc_errf(errmsg, len, "key '%s' is not a recovery setting that may be replicated",
                 key ? key : "");
        return ORC_EINVAL;
    }
    orc_config_init(&scratch);
    rc = orc_config_set_json(&scratch, d, value, errmsg, len);
    if (rc == 0 && d->type == ORC_CFG_LIST && strstr(d->name, "Processes") != NULL) {
        const struct orc_strlist *l = (const void *)((const char *)&scratch + d->offset);
        rc = rec_hooks_validate((const char *const *)l->v, l->n, errmsg, len);
        if (rc != 0) {
            orc_errprefix(errmsg, len, "key '%s'", d->name);
            rc = ORC_EINVAL;
        }
    }
    if (rc == 0 && (*normalized = orc_config_value_json(&scratch, d)) == NULL)
        rc = ORC_ENOMEM;
    orc_config_release(&scratch);
    return rc == ORC_ECONFIG ? ORC_EINVAL : rc;
}

int fsm_op_set_recovery_config(struct orc_fsm *f,
                               const json_t *p,
                               json_t **res,
                               char *errmsg,
                               size_t len)
{
    const char *key = fsm_str(p, "Key");
    const json_t *value = json_object_get(p, "Value");
    const struct orc_config_def *d = orc_config_recovery_key(key);
    json_t *norm = NULL;
    struct be_rcfg r;
    char *text = NULL;
    int rc;

    (void)res;
    if (d == NULL) {
        orc_errf(errmsg, len, "key '%s' is not a recovery setting that may be replicated", key);
        return ORC_EINVAL;
    }
    if (value == NULL || json_is_null(value)) {
        rc = be_rcfg_delete(f->be, d->name, NULL, errmsg, len);
    } else {
        rc = orc_fsm_rcfg_value(d->name, value, &norm, errmsg, len);
        if (rc == 0 && (text = json_dumps(norm, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
            rc = ORC_ENOMEM;
        memset(&r, 0, sizeof(r));
        r.key = d->name;
        r.value = text;
        r.set_by = fsm_str(p, "By");
        r.set_at = (int64_t)json_integer_value(json_object_get(p, "Now"));
        if (rc == 0)
            rc = be_rcfg_put(f->be, &r, errmsg, len);
    }
    free(text);
    json_decref(norm);
    if (rc == 0 && f->on_rcfg != NULL)
        f->on_rcfg(f->on_rcfg_arg);
    return rc;
}
