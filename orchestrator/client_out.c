/*
 * client_out: prints the API's answers as orchestrator-client prints them
 * (its jq filters): keys as host:port lines, details as text, and so on.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orchestrator/client_int.h"

static const char *str(const json_t *o, const char *f)
{
    const char *s = json_string_value(json_object_get(o, f));
    return s ? s : "";
}

/* "host:port", or nothing for an empty key (a master's MasterKey). */
static void print_key(const json_t *k)
{
    if (*str(k, "Hostname") == '\0')
        return;
    printf("%s:%lld\n", str(k, "Hostname"),
           (long long)json_integer_value(json_object_get(k, "Port")));
}

static int state(const json_t *o, const char *f)
{
    return (int)json_integer_value(json_object_get(o, f));
}

static void print_text(const json_t *v)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t l = strlen(s);
        fputs(s, stdout);
        if (l == 0 || s[l - 1] != '\n')
            putchar('\n');
    } else if (!json_is_null(v) && v != NULL) {
        char *s = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);
        if (s)
            puts(s);
        free(s);
    }
}

/* Details as orchestrator's handlers give them: an Instance, a key or keys. */
static void print_env_key(const json_t *d)
{
    size_t i;
    json_t *e;

    if (json_is_array(d)) {
        json_array_foreach(d, i, e) print_env_key(e);
    } else if (json_object_get(d, "Key") != NULL) {
        print_key(json_object_get(d, "Key"));
    } else if (json_object_get(d, "Hostname") != NULL) {
        print_key(d);
    } else {
        print_text(d);
    }
}

static void print_analysis(const json_t *d)
{
    size_t i;
    json_t *a;

    json_array_foreach(d, i, a)
    {
        const json_t *k = json_object_get(a, "AnalyzedInstanceKey");
        const char *code = str(a, "Analysis");

        if (strcmp(code, "NoProblem") == 0)
            code = json_string_value(json_array_get(json_object_get(a, "StructureAnalysis"), 0));
        if (code == NULL)
            continue;
        printf("%s:%lld (cluster %s): %s\n", str(k, "Hostname"),
               (long long)json_integer_value(json_object_get(k, "Port")),
               str(json_object_get(a, "ClusterDetails"), "ClusterName"), code);
    }
}

static void print_relocated(const json_t *d)
{
    const json_t *k = json_object_get(d, "Key"), *m = json_object_get(d, "MasterKey");

    printf("%s:%lld<%s:%lld\n", str(k, "Hostname"),
           (long long)json_integer_value(json_object_get(k, "Port")), str(m, "Hostname"),
           (long long)json_integer_value(json_object_get(m, "Port")));
}

static void print_broken(const json_t *list)
{
    size_t i;
    json_t *e;

    json_array_foreach(list, i, e)
    {
        bool stopped = !json_is_true(json_object_get(e, "ReplicationSQLThreadRuning")) ||
                       !json_is_true(json_object_get(e, "ReplicationIOThreadRuning"));
        if (stopped && (*str(e, "LastSQLError") != '\0' || *str(e, "LastIOError") != '\0'))
            print_key(json_object_get(e, "Key"));
    }
}

static void print_running(const json_t *list)
{
    size_t i;
    json_t *e;

    json_array_foreach(list, i, e)
    {
        if (json_is_true(json_object_get(e, "ReplicationSQLThreadRuning")) &&
            json_is_true(json_object_get(e, "ReplicationIOThreadRuning")))
            print_key(json_object_get(e, "Key"));
    }
}

/* `jq -r '.[].DataCenter' | sort | uniq -c | sort -nr | head -n 1`: the
 * most frequent; among equal counts the greatest name (sort -r's tie). */
static void print_dominant_dc(const json_t *list)
{
    const char *best = NULL;
    size_t i, best_n = 0;
    json_t *e;

    json_array_foreach(list, i, e)
    {
        const char *dc = str(e, "DataCenter");
        size_t n = 0, j;
        json_t *f;
        json_array_foreach(list, j, f) n += strcmp(str(f, "DataCenter"), dc) == 0;
        if (best == NULL || n > best_n || (n == best_n && strcmp(dc, best) > 0))
            best = dc, best_n = n;
    }
    if (best != NULL)
        puts(best);
}

/* `echo $api_details`: jq's indented JSON with every run of white space
 * made one space by the shell. */
static void print_echoed(const json_t *d)
{
    char *s = json_dumps(d, JSON_INDENT(2) | JSON_ENCODE_ANY);
    bool space = false, started = false;

    for (const char *p = s; p && *p; p++) {
        if (*p == ' ' || *p == '\n' || *p == '\t') {
            space = started;
            continue;
        }
        if (space)
            putchar(' ');
        putchar(*p);
        space = false;
        started = true;
    }
    putchar('\n');
    free(s);
}

static void print_threads(const json_t *j, int want)
{
    if (state(j, "ReplicationSQLThreadState") == want &&
        state(j, "ReplicationIOThreadState") == want)
        print_key(json_object_get(j, "Key"));
}

static void print_raw_kind(enum out_kind out, const json_t *j)
{
    size_t i;
    json_t *e;

    switch (out) {
        case OUT_KEY:
            print_key(json_object_get(j, "Key"));
            break;
        case OUT_MASTER_KEY:
            print_key(json_object_get(j, "MasterKey"));
            break;
        case OUT_KEYS:
            json_array_foreach(j, i, e) print_key(json_object_get(e, "Key"));
            break;
        case OUT_KEY_LIST:
            json_array_foreach(j, i, e) print_key(e);
            break;
        case OUT_STRINGS:
            json_array_foreach(j, i, e) print_text(e);
            break;
        case OUT_CLUSTERS:
            json_array_foreach(j, i, e) puts(str(e, "ClusterName"));
            break;
        case OUT_CLUSTERS_ALIAS:
            json_array_foreach(j, i, e)
                printf("%s,%s\n", str(e, "ClusterName"), str(e, "ClusterAlias"));
            break;
        case OUT_CLUSTER_NAME:
            puts(str(j, "ClusterName"));
            break;
        case OUT_CLUSTER_ALIAS:
            puts(str(j, "ClusterAlias"));
            break;
        case OUT_GTID_ERRANT:
            puts(str(j, "GtidErrant"));
            break;
        case OUT_IS_REPLICATING:
            print_threads(j, 1);
            break;
        case OUT_IS_STOPPED:
            print_threads(j, 0);
            break;
        case OUT_BROKEN:
            print_broken(j);
            break;
        case OUT_RUNNING:
            print_running(j);
            break;
        case OUT_DOMINANT_DC:
            print_dominant_dc(j);
            break;
        default:
            print_text(j);
            break;
    }
}

static void print_env_kind(enum out_kind out, const json_t *env)
{
    const json_t *d = json_object_get(env, "Details");
    size_t i;
    json_t *e;

    switch (out) {
        case OUT_ENV_KEY:
            print_env_key(d);
            break;
        case OUT_ENV_MESSAGE:
            print_text(json_object_get(env, "Message"));
            break;
        case OUT_ENV_IF_TRUE:
            if (strstr(str(env, "Message"), "true") != NULL)
                print_env_key(d);
            break;
        case OUT_ENV_RELOCATE:
            print_relocated(d);
            break;
        case OUT_ENV_SUCCESSOR:
            print_key(json_object_get(d, "SuccessorKey"));
            break;
        case OUT_ANALYSIS:
            print_analysis(d);
            break;
        case OUT_ENV_ECHO:
            print_echoed(d);
            break;
        case OUT_ENV_STRINGS:
            json_array_foreach(d, i, e) print_text(e);
            break;
        case OUT_ENV_HOSTNAME:
            puts(str(d, "Hostname"));
            break;
        case OUT_ENV_KV:
            json_array_foreach(d, i, e) printf("%s:%s\n", str(e, "Key"), str(e, "Value"));
            break;
        default:
            print_text(d);
            break;
    }
}

int orc_client_print(enum out_kind out, const char *api, const char *body, long status)
{
    json_error_t jerr;
    json_t *j = json_loads(body, JSON_DECODE_ANY, &jerr);
    bool env = json_is_object(j) && json_object_get(j, "Code") != NULL;
    int rc = 0;

    if (j == NULL) {
        fprintf(stderr, "orchestrator: cannot access orchestrator at '%s': HTTP %ld, %s%.200s\n",
                api, status, *body ? "not JSON: " : "empty answer", body);
        return 1;
    }
    if (env && strstr(str(j, "Code"), "ERROR") != NULL) {
        fprintf(stderr, "%s\n", str(j, "Message"));
        rc = 1;
    } else if (out == OUT_BODY) {
        printf("%s\n", body);
        rc = status >= 400;
    } else if (status >= 400) {
        fprintf(stderr, "orchestrator: HTTP %ld: %s\n", status, body);
        rc = 1;
    } else if (env) {
        print_env_kind(out, j);
    } else {
        print_raw_kind(out, j);
    }
    json_decref(j);
    return rc;
}
