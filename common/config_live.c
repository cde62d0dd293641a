/*
 * config_live: replicated recovery settings laid over the file config, and
 * the reference-counted holder that swaps the effective config at run time
 * (see config_live.h).
 */
#include "common/config_live.h"

#include <stdlib.h>
#include <string.h>

/* One effective config shared by its readers; freed with the last reference. */
struct orc_config_ref {
    struct orc_config cfg; /* first: a reader's pointer is the ref's */
    int refs;              /* atomic */
};

const struct orc_config_def *orc_config_recovery_key(const char *name)
{
    const struct orc_config_def *d = name ? orc_config_find(name) : NULL;
    const char *k;

    for (size_t i = 0; d != NULL && (k = orc_config_fingerprint_key(i)) != NULL; i++)
        if (strcmp(k, d->name) == 0)
            return d;
    return NULL;
}

int orc_config_parse_value(const struct orc_config_def *d,
                           const char *text,
                           json_t **out,
                           char *errmsg,
                           size_t len)
{
    struct orc_config scratch;
    int rc;

    *out = NULL;
    orc_config_init(&scratch);
    rc = orc_config_set(&scratch, d->name, text, errmsg, len);
    if (rc == 0 && (*out = orc_config_value_json(&scratch, d)) == NULL) {
        orc_errf(errmsg, len, "key '%s': out of memory", d->name);
        rc = ORC_ENOMEM;
    }
    orc_config_release(&scratch);
    return rc;
}

/* The text a flag would carry for a JSON value of d's type, or NULL (with
 * errmsg) when the JSON type is not d's. Caller frees. */
static char *value_text(const struct orc_config_def *d, const json_t *v, char *errmsg, size_t len)
{
    static const char *const want[] = {"a boolean", "an integer", "a string", "an array of strings",
                                       "an object of strings"};
    struct orc_buf b = ORC_BUF_INIT;
    bool ok = false;

    switch (d->type) {
        case ORC_CFG_BOOL:
            ok = json_is_boolean(v) && orc_buf_puts(&b, json_is_true(v) ? "true" : "false") == 0;
            break;
        case ORC_CFG_INT:
            ok = json_is_integer(v) &&
                 orc_buf_printf(&b, "%lld", (long long)json_integer_value(v)) == 0;
            break;
        case ORC_CFG_STR:
            ok = json_is_string(v) && orc_buf_puts(&b, json_string_value(v)) == 0;
            break;
        case ORC_CFG_LIST:
        case ORC_CFG_MAP:
            if ((d->type == ORC_CFG_LIST ? json_is_array(v) : json_is_object(v))) {
                char *s = json_dumps(v, JSON_COMPACT);
                ok = s != NULL && orc_buf_puts(&b, s) == 0;
                free(s);
            }
            break;
    }
    if (!ok) {
        orc_buf_release(&b);
        orc_errf(errmsg, len, "key '%s': the value must be %s", d->name, want[d->type]);
        return NULL;
    }
    return orc_buf_detach(&b);
}

int orc_config_set_json(struct orc_config *c,
                        const struct orc_config_def *d,
                        const json_t *value,
                        char *errmsg,
                        size_t len)
{
    char *text = value_text(d, value, errmsg, len);
    int rc;

    if (text == NULL)
        return ORC_EINVAL;
    rc = orc_config_set(c, d->name, text, errmsg, len);
    free(text);
    return rc;
}

/* base + one value, checked as a whole: 0 and *out set, or an error. */
static int overlay_one(const struct orc_config *base,
                       const struct orc_config_def *d,
                       const json_t *value,
                       orc_config_check_fn check,
                       struct orc_config *out,
                       char *errmsg,
                       size_t len)
{
    int rc = orc_config_copy(out, base);

    if (rc != 0) {
        orc_errf(errmsg, len, "out of memory");
        return ORC_ENOMEM;
    }
    rc = orc_config_set_json(out, d, value, errmsg, len);
    if (rc == 0)
        rc = orc_config_finalize_recovery(out, errmsg, len);
    if (rc == 0 && check != NULL)
        rc = check(out, errmsg, len);
    if (rc != 0)
        orc_config_release(out);
    return rc;
}

int orc_config_overlay(const struct orc_config *base,
                       const json_t *values,
                       orc_config_check_fn check,
                       struct orc_config *out,
                       struct orc_buf *skipped,
                       char *errmsg,
                       size_t len)
{
    struct orc_config cur, next;
    const char *k;

    if (orc_config_copy(&cur, base) != 0) {
        orc_errf(errmsg, len, "out of memory");
        return ORC_ENOMEM;
    }
    for (size_t i = 0; (k = orc_config_fingerprint_key(i)) != NULL; i++) {
        const json_t *v = json_object_get(values, k);
        char err[ORC_ERRMSG_SIZE] = "";
        int rc;

        if (v == NULL || json_is_null(v))
            continue;
        rc = overlay_one(&cur, orc_config_find(k), v, check, &next, err, sizeof(err));
        if (rc == ORC_ENOMEM) {
            orc_config_release(&cur);
            orc_errf(errmsg, len, "%s", err);
            return rc;
        }
        if (rc != 0) {
            ORC_LOG_W("+recovery-config-skipped", "key=%s error=\"%s\"", k, err);
            if (skipped != NULL && (skipped->len == 0 || orc_buf_puts(skipped, ", ") == 0))
                orc_buf_puts(skipped, k);
            continue;
        }
        orc_config_release(&cur);
        cur = next;
    }
    *out = cur;
    return 0;
}

/* ---- the holder ---- */

static struct orc_config_ref *ref_new(struct orc_config *taken)
{
    struct orc_config_ref *r = malloc(sizeof(*r));

    if (r == NULL) {
        orc_config_release(taken);
        return NULL;
    }
    r->cfg = *taken;
    r->refs = 1;
    return r;
}

static void ref_put(struct orc_config_ref *r)
{
    if (r != NULL && __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        orc_config_release(&r->cfg);
        free(r);
    }
}

int orc_config_live_init(struct orc_config_live *l, const struct orc_config *base)
{
    struct orc_config c;

    memset(l, 0, sizeof(*l));
    if (orc_config_copy(&c, base) != 0 || (l->cur = ref_new(&c)) == NULL)
        return ORC_ENOMEM;
    pthread_mutex_init(&l->lock, NULL);
    l->generation = 1;
    l->ready = true;
    return 0;
}

void orc_config_live_release(struct orc_config_live *l)
{
    if (!l->ready)
        return;
    ref_put(l->cur);
    l->cur = NULL;
    pthread_mutex_destroy(&l->lock);
    l->ready = false;
}

const struct orc_config *orc_config_live_acquire(struct orc_config_live *l, uint64_t *generation)
{
    struct orc_config_ref *r;

    pthread_mutex_lock(&l->lock);
    r = l->cur;
    __atomic_add_fetch(&r->refs, 1, __ATOMIC_ACQ_REL);
    if (generation != NULL)
        *generation = l->generation;
    pthread_mutex_unlock(&l->lock);
    return &r->cfg;
}

void orc_config_live_put(const struct orc_config *c)
{
    /* cfg is the first member: the pointer is the ref's */
    ref_put((struct orc_config_ref *)(void *)(uintptr_t)c);
}

int orc_config_live_swap(struct orc_config_live *l, struct orc_config *next)
{
    struct orc_config_ref *r = ref_new(next), *old;

    if (r == NULL)
        return ORC_ENOMEM;
    pthread_mutex_lock(&l->lock);
    old = l->cur;
    l->cur = r;
    l->generation++;
    pthread_mutex_unlock(&l->lock);
    ref_put(old);
    return 0;
}

uint64_t orc_config_live_generation(struct orc_config_live *l)
{
    uint64_t g;

    pthread_mutex_lock(&l->lock);
    g = l->generation;
    pthread_mutex_unlock(&l->lock);
    return g;
}
