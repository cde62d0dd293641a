/*
 * fuzz_http: the HTTP request path up to the handlers: the URL is split and
 * matched against every route table (web/http.c's routing, included here
 * for its static functions), and each captured parameter goes through the
 * argument parsers the handlers use (instance keys, durations, matching
 * against the configured cluster filters). The input is "path[?query]"; the query's values are
 * parsed too.
 */
#include "web/http.c"

#include "tests/fuzz/fuzz.h"

static struct web_server srv;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    orc_log_set_level(ORC_LOG_ERROR + 1);
    if (collect_routes(&srv) != 0)
        abort();
    return 0;
}

/* Filters come from the config (the operator); names and aliases from
 * requests and databases: only the latter are fuzzed. */
static char f_alias[] = "alias=main", f_alias_re[] = "alias~=^prod-[0-9]+$",
            f_name_re[] = "^db[0-9]+:3306$";
static char *const filters[] = {f_alias, f_alias_re, f_name_re};

static void parse_arg(const char *s)
{
    struct orc_key k;
    int64_t secs;

    orc_key_parse(s, 3306, &k);
    web_parse_duration(s, &secs);
    web_cluster_filter_match(filters, ORC_ARRAY_LEN(filters), s, s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct web_req r;
    const struct web_route *rt;
    char *path = malloc(size + 1), *q;

    if (path == NULL)
        return 0;
    memcpy(path, data, size);
    path[size] = '\0';
    memset(&r, 0, sizeof(r));
    q = strchr(path, '?');
    if (q != NULL) {
        *q++ = '\0';
        for (char *a = q; a != NULL;) {
            char *amp = strchr(a, '&'), *eq;
            if (amp != NULL)
                *amp = '\0';
            eq = strchr(a, '=');
            parse_arg(eq != NULL ? eq + 1 : a);
            a = amp != NULL ? amp + 1 : NULL;
        }
    }
    rt = find_route(&srv, strncmp(path, "/api/", 5) == 0 ? path + 4 : path, &r);
    for (int i = 0; rt != NULL && i < r.nparams; i++)
        parse_arg(r.params[i]);
    free(path);
    return 0;
}
