/*
 * config: the key table and the loaders (files, environment, flags). Every
 * source goes through the same steps: parse one value (from JSON or from
 * text), check it against its table row, then move it into the struct.
 * Loaders work on a copy and swap it in only when the whole source is good,
 * so a bad file or environment leaves the config untouched.
 */
#include "common/config.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_FILE_BYTES (16 * 1024 * 1024)
#define MAX_KEY_LEN 128

const struct orc_config_def orc_config_defs[ORC_CONFIG_NKEYS] = {
#define ORC_CFG_SECTION(title)
#define ORC_CFG_KEY(type, name, def, min, max, flags, syn, choices, help)                          \
    {#name, ORC_CFG_##type, offsetof(struct orc_config, name), def, min, max, flags, syn, choices, \
     help},
#include "common/config_keys.h"
#undef ORC_CFG_KEY
#undef ORC_CFG_SECTION
};

const char *const orc_config_default_paths[] = {
    "/etc/orchestrator.conf.json",
    "conf/orchestrator.conf.json",
    "orchestrator.conf.json",
    NULL,
};

/* One parsed value on its way into the struct. */
union cfg_val {
    bool b;
    int64_t i;
    char *s;
    struct orc_strlist l;
    struct orc_strmap m;
};

/* ---- table lookups ---- */

const struct orc_config_def *orc_config_find(const char *key)
{
    if (key == NULL)
        return NULL;
    for (size_t i = 0; i < ORC_CONFIG_NKEYS; i++) {
        const struct orc_config_def *d = &orc_config_defs[i];
        if (strcmp(d->name, key) == 0 || (d->synonym != NULL && strcmp(d->synonym, key) == 0))
            return d;
    }
    return NULL;
}

bool orc_config_has_key(const char *key)
{
    return orc_config_find(key) != NULL;
}

static size_t def_index(const struct orc_config_def *d)
{
    return (size_t)(d - orc_config_defs);
}

static void *field_of(struct orc_config *c, const struct orc_config_def *d)
{
    return (char *)c + d->offset;
}

static const void *cfield_of(const struct orc_config *c, const struct orc_config_def *d)
{
    return (const char *)c + d->offset;
}

/* The value as it may appear in a message: secrets are never echoed. */
static const char *shown(const struct orc_config_def *d, const char *value)
{
    return (d->flags & ORC_CFG_SECRET) ? "(hidden)" : value;
}

/* ---- owned values: free, copy, move ---- */

static void list_free(struct orc_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static void map_free(struct orc_strmap *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->keys[i]);
        free(m->vals[i]);
    }
    free(m->keys);
    free(m->vals);
    m->keys = m->vals = NULL;
    m->n = 0;
}

static void val_free(enum orc_cfg_type t, union cfg_val *v)
{
    if (t == ORC_CFG_STR) {
        free(v->s);
        v->s = NULL;
    } else if (t == ORC_CFG_LIST) {
        list_free(&v->l);
    } else if (t == ORC_CFG_MAP) {
        map_free(&v->m);
    }
}

static int list_push(struct orc_strlist *l, const char *s, size_t n)
{
    char **v = realloc(l->v, (l->n + 1) * sizeof(*v));
    char *copy;

    if (v == NULL)
        return ORC_ENOMEM;
    l->v = v;
    copy = strndup(s, n);
    if (copy == NULL)
        return ORC_ENOMEM;
    l->v[l->n++] = copy;
    return 0;
}

static int map_push(struct orc_strmap *m, const char *k, const char *val)
{
    char **keys = realloc(m->keys, (m->n + 1) * sizeof(*keys));
    char **vals;

    if (keys == NULL)
        return ORC_ENOMEM;
    m->keys = keys;
    vals = realloc(m->vals, (m->n + 1) * sizeof(*vals));
    if (vals == NULL)
        return ORC_ENOMEM;
    m->vals = vals;
    m->keys[m->n] = strdup(k);
    m->vals[m->n] = strdup(val);
    if (m->keys[m->n] == NULL || m->vals[m->n] == NULL) {
        free(m->keys[m->n]);
        free(m->vals[m->n]);
        return ORC_ENOMEM;
    }
    m->n++;
    return 0;
}

/* Copies the field of src described by d into v (owned by v). */
static int val_from_field(const struct orc_config *src,
                          const struct orc_config_def *d,
                          union cfg_val *v)
{
    const void *f = cfield_of(src, d);

    memset(v, 0, sizeof(*v));
    switch (d->type) {
        case ORC_CFG_BOOL:
            v->b = *(const bool *)f;
            return 0;
        case ORC_CFG_INT:
            v->i = *(const int64_t *)f;
            return 0;
        case ORC_CFG_STR:
            v->s = strdup(*(char *const *)f ? *(char *const *)f : "");
            return v->s ? 0 : ORC_ENOMEM;
        case ORC_CFG_LIST: {
            const struct orc_strlist *l = f;
            for (size_t i = 0; i < l->n; i++)
                if (list_push(&v->l, l->v[i], strlen(l->v[i])) != 0)
                    goto nomem;
            return 0;
        }
        case ORC_CFG_MAP: {
            const struct orc_strmap *m = f;
            for (size_t i = 0; i < m->n; i++)
                if (map_push(&v->m, m->keys[i], m->vals[i]) != 0)
                    goto nomem;
            return 0;
        }
    }
    return ORC_EINVAL;
nomem:
    val_free(d->type, v);
    return ORC_ENOMEM;
}

/* Moves v into the field described by d, freeing what the field held. */
static void val_take(struct orc_config *c, const struct orc_config_def *d, union cfg_val *v)
{
    void *f = field_of(c, d);

    switch (d->type) {
        case ORC_CFG_BOOL:
            *(bool *)f = v->b;
            break;
        case ORC_CFG_INT:
            *(int64_t *)f = v->i;
            break;
        case ORC_CFG_STR:
            free(*(char **)f);
            *(char **)f = v->s;
            break;
        case ORC_CFG_LIST:
            list_free(f);
            *(struct orc_strlist *)f = v->l;
            break;
        case ORC_CFG_MAP:
            map_free(f);
            *(struct orc_strmap *)f = v->m;
            break;
    }
    memset(v, 0, sizeof(*v));
}

/* ---- parsing from JSON ---- */

static const char *json_kind(const json_t *j)
{
    switch (json_typeof(j)) {
        case JSON_OBJECT:
            return "an object";
        case JSON_ARRAY:
            return "an array";
        case JSON_STRING:
            return "a string";
        case JSON_INTEGER:
            return "an integer";
        case JSON_REAL:
            return "a number with a fraction";
        case JSON_TRUE:
        case JSON_FALSE:
            return "a boolean";
        case JSON_NULL:
            return "null";
    }
    return "something else";
}

/* If s is exactly "${NAME}", copies NAME into name and returns true. */
static bool env_reference(const char *s, char *name, size_t len)
{
    size_t n = strlen(s);

    if (n < 4 || s[0] != '$' || s[1] != '{' || s[n - 1] != '}' || n - 3 >= len)
        return false;
    if (!(isalpha((unsigned char)s[2]) || s[2] == '_'))
        return false;
    for (size_t i = 2; i < n - 1; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
            return false;
    memcpy(name, s + 2, n - 3);
    name[n - 3] = '\0';
    return true;
}

/* A JSON string as an owned C string; "${NAME}" is read from the environment
 * when subst is set. */
static int str_from_json(const json_t *j, bool subst, char **out, char *err, size_t len)
{
    const char *s = json_string_value(j);
    char name[MAX_KEY_LEN];

    if (subst && env_reference(s, name, sizeof(name))) {
        s = getenv(name);
        if (s == NULL) {
            orc_errf(err, len, "environment variable '%s' is not set", name);
            return ORC_ECONFIG;
        }
    }
    *out = strdup(s);
    return *out ? 0 : ORC_ENOMEM;
}

static int list_from_json(const json_t *arr,
                          bool subst,
                          struct orc_strlist *l,
                          char *err,
                          size_t len)
{
    size_t i;
    json_t *item;
    char *s;

    json_array_foreach(arr, i, item)
    {
        if (!json_is_string(item)) {
            orc_errf(err, len, "item %zu: expected a string, got %s", i, json_kind(item));
            return ORC_ECONFIG;
        }
        if (str_from_json(item, subst, &s, err, len) != 0) {
            orc_errprefix(err, len, "item %zu", i);
            return ORC_ECONFIG;
        }
        if (list_push(l, s, strlen(s)) != 0) {
            free(s);
            return ORC_ENOMEM;
        }
        free(s);
    }
    return 0;
}

static int map_from_json(json_t *obj, bool subst, struct orc_strmap *m, char *err, size_t len)
{
    const char *k;
    json_t *item;
    char *s;

    json_object_foreach(obj, k, item)
    {
        if (!json_is_string(item)) {
            orc_errf(err, len, "'%s': expected a string, got %s", k, json_kind(item));
            return ORC_ECONFIG;
        }
        if (str_from_json(item, subst, &s, err, len) != 0) {
            orc_errprefix(err, len, "'%s'", k);
            return ORC_ECONFIG;
        }
        if (map_push(m, k, s) != 0) {
            free(s);
            return ORC_ENOMEM;
        }
        free(s);
    }
    return 0;
}

/* Parses j as the type of d into v (owned by v even on error). */
static int val_from_json(const struct orc_config_def *d,
                         json_t *j,
                         bool subst,
                         union cfg_val *v,
                         char *err,
                         size_t len)
{
    static const char *const want[] = {"a boolean", "an integer", "a string", "an array of strings",
                                       "an object of strings"};
    bool ok = (d->type == ORC_CFG_BOOL && json_is_boolean(j)) ||
              (d->type == ORC_CFG_INT && json_is_integer(j)) ||
              (d->type == ORC_CFG_STR && json_is_string(j)) ||
              (d->type == ORC_CFG_LIST && json_is_array(j)) ||
              (d->type == ORC_CFG_MAP && json_is_object(j));

    memset(v, 0, sizeof(*v));
    if (!ok) {
        orc_errf(err, len, "expected %s, got %s", want[d->type], json_kind(j));
        return ORC_ECONFIG;
    }
    switch (d->type) {
        case ORC_CFG_BOOL:
            v->b = json_is_true(j);
            return 0;
        case ORC_CFG_INT:
            v->i = (int64_t)json_integer_value(j);
            return 0;
        case ORC_CFG_STR:
            return str_from_json(j, subst, &v->s, err, len);
        case ORC_CFG_LIST:
            return list_from_json(j, subst, &v->l, err, len);
        case ORC_CFG_MAP:
            return map_from_json(j, subst, &v->m, err, len);
    }
    return ORC_EINVAL;
}

/* ---- parsing from text (environment, flags, defaults) ---- */

/* Copies s without leading and trailing blanks into buf. */
static const char *trim(const char *s, char *buf, size_t len)
{
    size_t n;

    while (isspace((unsigned char)*s))
        s++;
    n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    if (n >= len)
        n = len - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return buf;
}

static int bool_from_text(const char *s, bool *out)
{
    if (strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0)
        *out = true;
    else if (strcasecmp(s, "false") == 0 || strcmp(s, "0") == 0)
        *out = false;
    else
        return ORC_EINVAL;
    return 0;
}

/* A JSON array or object given as text; parsed without "${NAME}" lookups. */
static int json_text_to_val(const struct orc_config_def *d,
                            const char *s,
                            union cfg_val *v,
                            char *err,
                            size_t len)
{
    json_error_t jerr;
    json_t *j = json_loads(s, 0, &jerr);
    int rc;

    if (j == NULL) {
        orc_errf(err, len, "invalid JSON at column %d: %s", jerr.column, jerr.text);
        return ORC_ECONFIG;
    }
    rc = val_from_json(d, j, false, v, err, len);
    json_decref(j);
    return rc;
}

/* "a, b,c" -> ["a", "b", "c"]; blank items are dropped. */
static int list_from_csv(const char *s, struct orc_strlist *l)
{
    while (*s != '\0') {
        const char *end = strchr(s, ',');
        size_t n = end ? (size_t)(end - s) : strlen(s);
        const char *p = s;

        while (n > 0 && isspace((unsigned char)*p)) {
            p++;
            n--;
        }
        while (n > 0 && isspace((unsigned char)p[n - 1]))
            n--;
        if (n > 0 && list_push(l, p, n) != 0)
            return ORC_ENOMEM;
        if (end == NULL)
            break;
        s = end + 1;
    }
    return 0;
}

static int val_from_text(const struct orc_config_def *d,
                         const char *text,
                         union cfg_val *v,
                         char *err,
                         size_t len)
{
    char buf[64];
    const char *t = trim(text, buf, sizeof(buf));

    memset(v, 0, sizeof(*v));
    switch (d->type) {
        case ORC_CFG_BOOL:
            if (bool_from_text(t, &v->b) != 0) {
                orc_errf(err, len, "expected true, false, 1 or 0, got '%s'", shown(d, text));
                return ORC_ECONFIG;
            }
            return 0;
        case ORC_CFG_INT:
            if (strlen(text) >= sizeof(buf) ||
                orc_parse_int64(t, INT64_MIN, INT64_MAX, &v->i) != 0) {
                orc_errf(err, len, "expected an integer, got '%s'", shown(d, text));
                return ORC_ECONFIG;
            }
            return 0;
        case ORC_CFG_STR:
            v->s = strdup(text);
            return v->s ? 0 : ORC_ENOMEM;
        case ORC_CFG_LIST:
            while (isspace((unsigned char)*text))
                text++;
            if (*text == '[')
                return json_text_to_val(d, text, v, err, len);
            return list_from_csv(text, &v->l);
        case ORC_CFG_MAP:
            while (isspace((unsigned char)*text))
                text++;
            if (*text == '\0')
                return 0;
            return json_text_to_val(d, text, v, err, len);
    }
    return ORC_EINVAL;
}

/* ---- checks against the table row ---- */

/* Finds s among the '|'-separated choices (case-insensitively); returns the
 * canonical spelling as an owned string, or NULL when it is not allowed.
 * A choice written "!x" is a value orchestrator knows that this service does
 * not implement: *refused is set and NULL returned. */
static char *choice_match(const char *choices, const char *s, bool *nomem, bool *refused)
{
    const char *p = choices;
    size_t n = strlen(s);

    *nomem = false;
    *refused = false;
    for (;;) {
        const char *bar = strchr(p, '|');
        size_t cn = bar ? (size_t)(bar - p) : strlen(p);
        bool bang = cn > 0 && p[0] == '!';

        if (cn - bang == n && strncasecmp(p + bang, s, n) == 0) {
            char *r = bang ? NULL : strndup(p, cn);
            *refused = bang;
            *nomem = !bang && r == NULL;
            return r;
        }
        if (bar == NULL)
            return NULL;
        p = bar + 1;
    }
}

/* The choices without the refused ones, for messages: "''|basic|multi". */
static void choices_allowed(const char *choices, char *out, size_t len)
{
    struct orc_buf b = ORC_BUF_INIT;
    const char *p = choices;

    for (;;) {
        size_t cn = strcspn(p, "|");

        if (!(cn > 0 && p[0] == '!'))
            orc_buf_printf(&b, "%s'%.*s'", b.len ? ", " : "", (int)cn, p);
        if (p[cn] == '\0')
            break;
        p += cn + 1;
    }
    orc_strlcpy(out, b.len ? orc_buf_str(&b) : "", len);
    orc_buf_release(&b);
}

/* Whether v equals d's default (or a value the policy accepts as the same). */
static bool val_is_default(const struct orc_config_def *d, const union cfg_val *v)
{
    char err[ORC_ERRMSG_SIZE];
    union cfg_val dv;
    bool same = false;

    if (d->type == ORC_CFG_STR && orc_config_unsupported_accepts(d->name, v->s))
        return true;
    if (val_from_text(d, d->def, &dv, err, sizeof(err)) != 0)
        return false;
    switch (d->type) {
        case ORC_CFG_BOOL:
            same = dv.b == v->b;
            break;
        case ORC_CFG_INT:
            same = dv.i == v->i;
            break;
        case ORC_CFG_STR:
            same = strcasecmp(dv.s, v->s) == 0;
            break;
        case ORC_CFG_LIST:
            same = dv.l.n == v->l.n;
            for (size_t i = 0; same && i < v->l.n; i++)
                same = strcmp(dv.l.v[i], v->l.v[i]) == 0;
            break;
        case ORC_CFG_MAP:
            same = dv.m.n == 0 && v->m.n == 0;
            break;
    }
    val_free(d->type, &dv);
    return same;
}

static int val_check(const struct orc_config_def *d, union cfg_val *v, char *err, size_t len)
{
    if ((d->flags & ORC_CFG_UNSUPPORTED) && !val_is_default(d, v)) {
        orc_errf(err, len,
                 "not supported by this implementation (only its default \"%s\" is accepted; "
                 "remove the key or set it to its default)",
                 d->def);
        return ORC_ECONFIG;
    }
    if (d->type == ORC_CFG_INT && (v->i < d->min || v->i > d->max)) {
        orc_errf(err, len, "%lld is out of range [%lld, %lld]", (long long)v->i, (long long)d->min,
                 (long long)d->max);
        return ORC_ECONFIG;
    }
    if (d->type == ORC_CFG_STR && d->choices != NULL) {
        bool nomem, refused;
        char *canon = choice_match(d->choices, v->s, &nomem, &refused);
        char allowed[256];

        if (nomem)
            return ORC_ENOMEM;
        if (canon == NULL) {
            choices_allowed(d->choices, allowed, sizeof(allowed));
            orc_errf(err, len, "'%s' is %s (supported: %s)", shown(d, v->s),
                     refused ? "not supported by this orchestrator" : "not one of the choices",
                     allowed);
            return ORC_ECONFIG;
        }
        free(v->s);
        v->s = canon;
    }
    return 0;
}

/* Parses text for d, checks it and stores it in c with the given source.
 * On error the message is "key 'NAME': ...", NAME being the name used. */
static int set_text(struct orc_config *c,
                    const struct orc_config_def *d,
                    const char *name,
                    const char *text,
                    enum orc_config_source src,
                    char *err,
                    size_t len)
{
    union cfg_val v;
    int rc = val_from_text(d, text, &v, err, len);

    if (rc == 0)
        rc = val_check(d, &v, err, len);
    if (rc != 0) {
        val_free(d->type, &v);
        if (rc == ORC_ENOMEM)
            orc_errf(err, len, "out of memory");
        orc_errprefix(err, len, "key '%s'", name);
        return rc;
    }
    val_take(c, d, &v);
    c->sources[def_index(d)] = (unsigned char)src;
    return 0;
}

/* ---- lifecycle ---- */

void orc_config_init(struct orc_config *c)
{
    char err[ORC_ERRMSG_SIZE];

    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < ORC_CONFIG_NKEYS; i++) {
        const struct orc_config_def *d = &orc_config_defs[i];

        if (set_text(c, d, d->name, d->def, ORC_CFG_SRC_DEFAULT, err, sizeof(err)) != 0) {
            /* Only a bad table row or an empty heap gets here. */
            fprintf(stderr, "orc_config_init: default of %s\n", err);
            abort();
        }
    }
}

void orc_config_release(struct orc_config *c)
{
    for (size_t i = 0; i < ORC_CONFIG_NKEYS; i++) {
        const struct orc_config_def *d = &orc_config_defs[i];
        void *f = field_of(c, d);

        if (d->type == ORC_CFG_STR) {
            free(*(char **)f);
            *(char **)f = NULL;
        } else if (d->type == ORC_CFG_LIST) {
            list_free(f);
        } else if (d->type == ORC_CFG_MAP) {
            map_free(f);
        }
    }
}

int orc_config_copy(struct orc_config *dst, const struct orc_config *src)
{
    memset(dst, 0, sizeof(*dst));
    for (size_t i = 0; i < ORC_CONFIG_NKEYS; i++) {
        union cfg_val v;

        if (val_from_field(src, &orc_config_defs[i], &v) != 0) {
            orc_config_release(dst);
            return ORC_ENOMEM;
        }
        val_take(dst, &orc_config_defs[i], &v);
    }
    memcpy(dst->sources, src->sources, sizeof(dst->sources));
    return 0;
}

/* Replaces *c by *staged (which c now owns). */
static void config_swap_in(struct orc_config *c, struct orc_config *staged)
{
    orc_config_release(c);
    *c = *staged;
    memset(staged, 0, sizeof(*staged));
}

/* ---- flags and environment ---- */

int orc_config_set(struct orc_config *c,
                   const char *key,
                   const char *value,
                   char *errmsg,
                   size_t len)
{
    const struct orc_config_def *d = orc_config_find(key);

    if (d == NULL) {
        orc_errf(errmsg, len, "unknown key '%s'", key ? key : "");
        return ORC_ECONFIG;
    }
    return set_text(c, d, key, value ? value : "", ORC_CFG_SRC_FLAG, errmsg, len);
}

/* Variables in the style operators know from other services (etcd, Consul
 * images), each standing for one key. An ORC_<Key> variable of the same key
 * wins. */
static const struct {
    const char *var, *key;
} env_aliases[] = {
    {"ADVERTISE_ADDR", "AdvertiseAddr"},
};

static int apply_env_aliases(struct orc_config *staged, char *const *envp, char *errmsg, size_t len)
{
    for (size_t i = 0; envp[i] != NULL; i++) {
        const char *e = envp[i], *eq = strchr(e, '=');

        for (size_t a = 0; eq != NULL && a < ORC_ARRAY_LEN(env_aliases); a++) {
            size_t n = strlen(env_aliases[a].var);
            int rc;

            if ((size_t)(eq - e) != n || strncmp(e, env_aliases[a].var, n) != 0)
                continue;
            rc = set_text(staged, orc_config_find(env_aliases[a].key), env_aliases[a].key, eq + 1,
                          ORC_CFG_SRC_ENV, errmsg, len);
            if (rc != 0) {
                orc_errprefix(errmsg, len, "env %s", env_aliases[a].var);
                return rc;
            }
        }
    }
    return 0;
}

int orc_config_apply_env(struct orc_config *c, char *const *envp, char *errmsg, size_t len)
{
    struct orc_config staged;
    char key[MAX_KEY_LEN];
    int rc = 0;

    if (envp == NULL)
        return 0;
    if (orc_config_copy(&staged, c) != 0) {
        orc_errf(errmsg, len, "out of memory");
        return ORC_ENOMEM;
    }
    rc = apply_env_aliases(&staged, envp, errmsg, len);
    if (rc != 0) {
        orc_config_release(&staged);
        return rc;
    }
    for (size_t i = 0; envp[i] != NULL; i++) {
        const char *e = envp[i], *eq = strchr(e, '=');
        const struct orc_config_def *d;

        if (strncmp(e, "ORC_", 4) != 0 || eq == NULL)
            continue;
        if (eq - (e + 4) <= 0 || (size_t)(eq - (e + 4)) >= sizeof(key))
            continue;
        memcpy(key, e + 4, (size_t)(eq - (e + 4)));
        key[eq - (e + 4)] = '\0';
        d = orc_config_find(key);
        if (d == NULL) {
            ORC_LOG_D("+config-env-ignored", "variable=ORC_%s", key);
            continue;
        }
        rc = set_text(&staged, d, key, eq + 1, ORC_CFG_SRC_ENV, errmsg, len);
        if (rc != 0) {
            orc_errprefix(errmsg, len, "env ORC_%s", key);
            orc_config_release(&staged);
            return rc;
        }
    }
    config_swap_in(c, &staged);
    return 0;
}

/* ---- files ---- */

static int read_file(const char *path, char **out, size_t *outlen, char *errmsg, size_t len)
{
    FILE *f = fopen(path, "rb");
    struct orc_buf b = ORC_BUF_INIT;
    char chunk[8192];
    size_t n;
    int rc = 0;

    if (f == NULL) {
        orc_errf(errmsg, len, "%s: %s", path, strerror(errno));
        return ORC_EIO;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (b.len + n > MAX_FILE_BYTES) {
            orc_errf(errmsg, len, "%s: larger than %d bytes", path, MAX_FILE_BYTES);
            rc = ORC_ECONFIG;
            goto out;
        }
        if (orc_buf_append(&b, chunk, n) != 0) {
            orc_errf(errmsg, len, "%s: out of memory", path);
            rc = ORC_ENOMEM;
            goto out;
        }
    }
    if (ferror(f)) {
        orc_errf(errmsg, len, "%s: read error", path);
        rc = ORC_EIO;
        goto out;
    }
    *outlen = b.len;
    *out = orc_buf_detach(&b);
    if (*out == NULL)
        rc = ORC_ENOMEM;
out:
    orc_buf_release(&b);
    fclose(f);
    return rc;
}

/* Applies the members of one parsed file to c; errors carry file:line:col. */
static int apply_object(struct orc_config *c,
                        json_t *root,
                        const char *text,
                        size_t n,
                        const char *path,
                        char *errmsg,
                        size_t len)
{
    const char *key;
    json_t *val;
    char err[ORC_ERRMSG_SIZE];
    int line = 0, col = 0;

    json_object_foreach(root, key, val)
    {
        const struct orc_config_def *d;
        union cfg_val v;
        int rc;

        if (key[0] == '#')
            continue;
        line = col = 0; /* 0:0 only if the scanner disagreed with jansson */
        d = orc_config_find(key);
        if (d == NULL) {
            orc_config_key_pos(text, n, key, &line, &col);
            ORC_LOG_W("+config-unknown-key", "file=%s line=%d key=%s", path, line, key);
            continue;
        }
        if (json_is_null(val))
            continue;
        rc = val_from_json(d, val, true, &v, err, sizeof(err));
        if (rc == 0)
            rc = val_check(d, &v, err, sizeof(err));
        if (rc != 0) {
            val_free(d->type, &v);
            if (rc == ORC_ENOMEM)
                orc_errf(err, sizeof(err), "out of memory");
            orc_config_key_pos(text, n, key, &line, &col);
            orc_errf(errmsg, len, "%s:%d:%d: key '%s': %s", path, line, col, key, err);
            return rc == ORC_ENOMEM ? rc : ORC_ECONFIG;
        }
        val_take(c, d, &v);
        c->sources[def_index(d)] = ORC_CFG_SRC_FILE;
    }
    return 0;
}

int orc_config_load_file(struct orc_config *c, const char *path, char *errmsg, size_t len)
{
    struct orc_config staged;
    json_error_t jerr;
    json_t *root = NULL;
    char *text = NULL;
    size_t n = 0;
    int rc = read_file(path, &text, &n, errmsg, len);

    if (rc != 0)
        return rc;
    root = json_loadb(text, n, 0, &jerr);
    if (root == NULL) {
        orc_errf(errmsg, len, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
        rc = ORC_ECONFIG;
        goto out;
    }
    if (!json_is_object(root)) {
        orc_errf(errmsg, len, "%s:1:1: the configuration must be a JSON object", path);
        rc = ORC_ECONFIG;
        goto out;
    }
    rc = orc_config_copy(&staged, c);
    if (rc != 0) {
        orc_errf(errmsg, len, "%s: out of memory", path);
        goto out;
    }
    rc = apply_object(&staged, root, text, n, path, errmsg, len);
    if (rc != 0) {
        orc_config_release(&staged);
        goto out;
    }
    config_swap_in(c, &staged);
    ORC_LOG_I("+config-load", "file=%s", path);
out:
    json_decref(root);
    free(text);
    return rc;
}

int orc_config_load_paths(struct orc_config *c, const char *const *paths, char *errmsg, size_t len)
{
    for (size_t i = 0; paths != NULL && paths[i] != NULL; i++) {
        FILE *f = fopen(paths[i], "rb");

        if (f == NULL && errno == ENOENT)
            continue;
        if (f != NULL)
            fclose(f);
        int rc = orc_config_load_file(c, paths[i], errmsg, len);
        if (rc != 0)
            return rc;
    }
    return 0;
}
