/*
 * node_rcfg: the recovery settings held in the replicated state, applied on
 * this node.
 *
 * Precedence: a replicated value beats the file's for the keys of the config
 * fingerprint; every other key, and every recovery key without a replicated
 * value, is the file's. The effective config is rebuilt from the backend
 * after each set-recovery-config and after every restore (start, raft
 * snapshot), swapped as a whole, and read by the recovery side through a
 * pinned env (one set per recovery). The fingerprint the followers report is
 * the effective config's, so nodes that share the replicated values agree
 * even when their files differ.
 */
#include <stdlib.h>
#include <string.h>

#include "backend/be.h"
#include "orchestrator/fsm.h"
#include "orchestrator/node.h"
#include "recovery/rec.h"

int orc_rcfg_init(struct orc_rcfg *r, const struct orc_config *file, char *errmsg, size_t len)
{
    memset(r, 0, sizeof(*r));
    r->file = file;
    if (orc_config_live_init(&r->live, file) != 0 || (r->rows = json_object()) == NULL ||
        (r->skipped = json_object()) == NULL) {
        orc_config_live_release(&r->live);
        json_decref(r->rows);
        orc_errf(errmsg, len, "recovery settings: out of memory");
        return ORC_ENOMEM;
    }
    if (orc_config_fingerprint(file, r->fingerprint, sizeof(r->fingerprint)) != 0)
        r->fingerprint[0] = '\0'; /* out of memory: nothing to compare */
    pthread_mutex_init(&r->lock, NULL);
    r->ready = true;
    return 0;
}

void orc_rcfg_release(struct orc_rcfg *r)
{
    if (!r->ready)
        return;
    orc_config_live_release(&r->live);
    json_decref(r->rows);
    json_decref(r->skipped);
    pthread_mutex_destroy(&r->lock);
    r->ready = false;
}

/* rows ({"Key": {"Value", "SetBy", "SetAt"}}) and values ({"Key": value})
 * from the backend. */
static int read_rows(struct orc_rcfg *r, json_t **rows, json_t **values, char *errmsg, size_t len)
{
    struct be_rcfg_list l = {0};
    int rc = be_rcfg_list(r->be, &l, errmsg, len);

    *rows = json_object();
    *values = json_object();
    if (*rows == NULL || *values == NULL)
        rc = ORC_ENOMEM;
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        json_t *v = json_loads(l.v[i].value, JSON_DECODE_ANY, NULL);
        if (v == NULL) {
            ORC_LOG_W("+recovery-config-skipped", "key=%s error=\"stored value is not JSON\"",
                      l.v[i].key);
            continue;
        }
        json_object_set(*values, l.v[i].key, v);
        json_object_set_new(*rows, l.v[i].key,
                            json_pack("{s:o, s:s, s:I}", "Value", v, "SetBy", l.v[i].set_by,
                                      "SetAt", (json_int_t)l.v[i].set_at));
    }
    be_rcfg_list_free(&l);
    if (rc != 0) {
        json_decref(*rows);
        json_decref(*values);
        *rows = *values = NULL;
    }
    return rc;
}

/* {"K": true} for the keys named in "K1, K2". */
static json_t *skipped_set(const char *names)
{
    json_t *o = json_object();

    for (const char *p = names; o != NULL && *p != '\0';) {
        size_t k = strcspn(p, ",");
        char name[128];
        snprintf(name, sizeof(name), "%.*s", (int)k, p);
        json_object_set_new(o, name, json_true());
        p += k;
        while (*p == ',' || *p == ' ')
            p++;
    }
    return o;
}

void orc_rcfg_refresh(void *arg)
{
    struct orc_rcfg *r = arg;
    struct orc_buf skipped = ORC_BUF_INIT, names = ORC_BUF_INIT;
    char err[ORC_ERRMSG_SIZE] = "", fp[sizeof(r->fingerprint)] = "";
    json_t *rows = NULL, *values = NULL, *sk = NULL, *old_rows;
    struct orc_config eff;
    const char *k;
    json_t *v;
    bool changed;

    if (r->be == NULL || read_rows(r, &rows, &values, err, sizeof(err)) != 0 ||
        orc_config_overlay(r->file, values, rec_hooks_validate_config, &eff, &skipped, err,
                           sizeof(err)) != 0) {
        ORC_LOG_E("+recovery-config-failed", "error=\"%s\"", err[0] ? err : "no backend");
        goto out;
    }
    if (orc_config_fingerprint(&eff, fp, sizeof(fp)) != 0)
        fp[0] = '\0';
    if (orc_config_live_swap(&r->live, &eff) != 0 ||
        (sk = skipped_set(orc_buf_str(&skipped))) == NULL) {
        ORC_LOG_E("+recovery-config-failed", "error=\"out of memory\"");
        goto out;
    }
    json_object_foreach(rows, k, v) orc_buf_printf(&names, "%s%s", names.len ? "," : "", k);
    pthread_mutex_lock(&r->lock);
    old_rows = r->rows;
    changed = !json_equal(old_rows, rows) || strcmp(r->fingerprint, fp) != 0;
    r->rows = rows;
    rows = NULL;
    json_decref(r->skipped);
    r->skipped = sk;
    snprintf(r->fingerprint, sizeof(r->fingerprint), "%s", fp);
    pthread_mutex_unlock(&r->lock);
    json_decref(old_rows);
    /* names only: hook lines may carry what an operator would not log */
    if (changed)
        ORC_LOG_N("+recovery-config-applied", "replicated=\"%s\" skipped=\"%s\" fingerprint=%s",
                  orc_buf_str(&names), orc_buf_str(&skipped), fp);
out:
    json_decref(rows);
    json_decref(values);
    orc_buf_release(&skipped);
    orc_buf_release(&names);
}

void orc_rcfg_fingerprint(struct orc_rcfg *r, char *out, size_t len)
{
    pthread_mutex_lock(&r->lock);
    snprintf(out, len, "%s", r->fingerprint);
    pthread_mutex_unlock(&r->lock);
}

static json_t *setting_json(struct orc_rcfg *r, const struct orc_config *eff, const char *key)
{
    const struct orc_config_def *d = orc_config_find(key);
    json_t *row = json_object_get(r->rows, key);
    bool skipped = json_object_get(r->skipped, key) != NULL;
    bool replicated = row != NULL && !skipped;
    json_t *o = json_pack(
        "{s:s, s:o, s:s, s:o}", "Key", key, "Value", orc_config_value_json(eff, d), "Source",
        replicated ? "replicated" : "file", "FileValue", orc_config_value_json(r->file, d));

    if (o != NULL && row != NULL) {
        json_object_set(o, "ReplicatedValue", json_object_get(row, "Value"));
        json_object_set(o, "SetBy", json_object_get(row, "SetBy"));
        json_object_set(o, "SetAt", json_object_get(row, "SetAt"));
        if (skipped)
            json_object_set_new(o, "Skipped", json_true());
    }
    return o;
}

json_t *orc_rcfg_status(struct orc_rcfg *r)
{
    const struct orc_config *eff = orc_config_live_acquire(&r->live, NULL);
    json_t *list = json_array(), *out;
    const char *k;

    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; list != NULL && (k = orc_config_fingerprint_key(i)) != NULL; i++)
        json_array_append_new(list, setting_json(r, eff, k));
    out = json_pack("{s:s, s:o*}", "Fingerprint", r->fingerprint, "Settings", list);
    pthread_mutex_unlock(&r->lock);
    orc_config_live_put(eff);
    return out;
}

int orc_rcfg_check(struct orc_rcfg *r,
                   const char *key,
                   const char *text,
                   json_t **value,
                   char *errmsg,
                   size_t len)
{
    const struct orc_config_def *d = orc_config_recovery_key(key);
    const struct orc_config *eff;
    struct orc_config next;
    json_t *parsed = NULL;
    int rc;

    *value = NULL;
    if (d == NULL) {
        orc_errf(errmsg, len, "key '%s' is not a recovery setting that may be replicated",
                 key ? key : "");
        return ORC_ENOTFOUND;
    }
    rc = orc_config_parse_value(d, text ? text : "", &parsed, errmsg, len);
    if (rc == 0)
        rc = orc_fsm_rcfg_value(d->name, parsed, value, errmsg, len);
    json_decref(parsed);
    if (rc != 0)
        return rc == ORC_ENOMEM ? rc : ORC_EINVAL;
    /* the rules between keys, against what this node runs with */
    eff = orc_config_live_acquire(&r->live, NULL);
    rc = orc_config_copy(&next, eff) != 0 ? ORC_ENOMEM : 0;
    orc_config_live_put(eff);
    if (rc == 0) {
        rc = orc_config_set_json(&next, d, *value, errmsg, len);
        if (rc == 0)
            rc = orc_config_finalize_recovery(&next, errmsg, len);
        if (rc == 0)
            rc = rec_hooks_validate_config(&next, errmsg, len);
        orc_config_release(&next);
    }
    if (rc != 0) {
        json_decref(*value);
        *value = NULL;
        return rc == ORC_ENOMEM ? rc : ORC_EINVAL;
    }
    return 0;
}
