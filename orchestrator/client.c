/*
 * client: `orchestrator -c COMMAND` speaks the HTTP API of a running node,
 * as orchestrator-client does: same command names, flags and output, and the
 * same way of finding the leader among several API addresses.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/orc.h"
#include "orchestrator/node.h"

/* How the answer is printed. */
enum out_kind {
    OUT_KEY,            /* raw Instance -> Key */
    OUT_MASTER_KEY,     /* raw Instance -> MasterKey */
    OUT_KEYS,           /* raw []Instance -> Key per line */
    OUT_CLUSTERS,       /* raw []ClusterInfo -> ClusterName per line */
    OUT_CLUSTERS_ALIAS, /* raw []ClusterInfo -> ClusterName,ClusterAlias */
    OUT_CLUSTER_NAME,   /* raw ClusterInfo -> ClusterName */
    OUT_CLUSTER_ALIAS,  /* raw ClusterInfo -> ClusterAlias */
    OUT_ENV_KEY,        /* envelope -> Details.Key (or Details when it is a key) */
    OUT_ENV_TEXT,       /* envelope -> Details as text */
    OUT_ENV_MESSAGE,    /* envelope -> Message */
    OUT_ENV_RELOCATE,   /* envelope -> Details Instance as "Key<MasterKey" */
    OUT_ENV_KEYS,       /* envelope -> Details []Instance keys */
    OUT_ENV_SUCCESSOR,  /* envelope -> Details.SuccessorKey */
    OUT_GTID_ERRANT,    /* raw Instance -> GtidErrant */
    OUT_IS_REPLICATING, /* raw Instance -> Key when both threads run */
    OUT_IS_STOPPED,     /* raw Instance -> Key when both threads stopped */
    OUT_BROKEN,         /* raw []Instance -> broken replicas' keys */
    OUT_ANALYSIS,       /* envelope -> analysis lines */
    OUT_RAW,            /* body as it is */
};

/* Route templates: {H} {P} from -i, {DH} {DP} from -d, {C} cluster hint
 * (alias, else -i raw), {owner} {reason} {duration} {rule} {tag} {pattern}. */
struct command {
    const char *name;
    const char *route;
    enum out_kind out;
    const char *help;
};

static const struct command commands[] = {
    {"discover", "discover/{H}/{P}", OUT_ENV_KEY, "discover an instance and its topology (-i)"},
    {"async-discover", "async-discover/{H}/{P}", OUT_ENV_MESSAGE,
     "queue an instance for discovery (-i)"},
    {"forget", "forget/{H}/{P}", OUT_ENV_KEY, "forget an instance (-i)"},
    {"forget-cluster", "forget-cluster/{C}", OUT_ENV_MESSAGE,
     "forget every instance of a cluster (-i or -a)"},
    {"clusters", "clusters-info", OUT_CLUSTERS, "list the cluster names"},
    {"clusters-alias", "clusters-info", OUT_CLUSTERS_ALIAS, "list clusters as name,alias"},
    {"topology", "topology/{C}", OUT_ENV_TEXT, "show a cluster as an ASCII tree (-i or -a)"},
    {"topology-tabulated", "topology-tabulated/{C}", OUT_ENV_TEXT, "the tree, tabulated"},
    {"search", "search?s={S}", OUT_KEYS, "instances matching a string (-i)"},
    {"instance", "instance/{H}/{P}", OUT_KEY, "the instance's key, if known (-i)"},
    {"which-instance", "instance/{H}/{P}", OUT_KEY, "the instance's key, if known (-i)"},
    {"which-master", "instance/{H}/{P}", OUT_MASTER_KEY, "the instance's master (-i)"},
    {"which-gtid-errant", "instance/{H}/{P}", OUT_GTID_ERRANT,
     "the instance's errant GTID set (-i)"},
    {"is-replicating", "instance/{H}/{P}", OUT_IS_REPLICATING,
     "prints the key when both replication threads run (-i)"},
    {"is-replication-stopped", "instance/{H}/{P}", OUT_IS_STOPPED,
     "prints the key when both threads are stopped (-i)"},
    {"which-replicas", "instance-replicas/{H}/{P}", OUT_KEYS,
     "the instance's direct replicas (-i)"},
    {"which-broken-replicas", "instance-replicas/{H}/{P}", OUT_BROKEN,
     "replicas with a stopped thread and an error (-i)"},
    {"which-cluster", "cluster-info/{C}", OUT_CLUSTER_NAME,
     "the instance's cluster name (-i or -a)"},
    {"which-cluster-alias", "cluster-info/{C}", OUT_CLUSTER_ALIAS,
     "the cluster's alias (-i or -a)"},
    {"which-cluster-master", "master/{C}", OUT_KEY, "the cluster's master (-i or -a)"},
    {"which-cluster-instances", "cluster/{C}", OUT_KEYS,
     "every instance of the cluster (-i or -a)"},
    {"all-clusters-masters", "masters", OUT_KEYS, "the writeable master of every cluster"},
    {"all-instances", "all-instances", OUT_KEYS, "every known instance"},
    {"which-downtimed-instances", "downtimed/{C?}", OUT_KEYS,
     "downtimed instances (optionally of one cluster)"},
    {"set-cluster-alias", "set-cluster-alias/{C}?alias={alias}", OUT_ENV_MESSAGE,
     "set the cluster's alias (-i, --alias-name NAME)"},
    {"begin-downtime", "begin-downtime/{H}/{P}/{owner}/{reason}/{duration}", OUT_ENV_KEY,
     "downtime an instance (-i, --reason, --owner, --duration)"},
    {"end-downtime", "end-downtime/{H}/{P}", OUT_ENV_KEY, "end an instance's downtime (-i)"},
    {"begin-maintenance", "begin-maintenance/{H}/{P}/{owner}/{reason}", OUT_ENV_KEY,
     "mark an instance under maintenance (-i, --reason)"},
    {"end-maintenance", "end-maintenance/{H}/{P}", OUT_ENV_KEY, "end maintenance (-i)"},
    {"in-maintenance", "in-maintenance/{H}/{P}", OUT_ENV_MESSAGE,
     "true when under maintenance (-i)"},
    {"register-candidate", "register-candidate/{H}/{P}/{rule}", OUT_ENV_KEY,
     "set a promotion rule (-i, --promotion-rule)"},
    {"tag", "tag/{H}/{P}?tag={tag}", OUT_ENV_KEY, "tag an instance (-i, --tag name[=value])"},
    {"untag", "untag/{H}/{P}?tag={tag}", OUT_ENV_KEY, "remove a tag (-i, --tag)"},
    {"tags", "tags/{H}/{P}", OUT_RAW, "an instance's tags (-i)"},
    {"audit", "audit", OUT_RAW, "recent audit entries"},
    {"replication-analysis", "replication-analysis", OUT_ANALYSIS, "detected problems"},
    {"recover", "recover/{H}/{P}{/DH/DP}", OUT_ENV_KEY,
     "recover a failed instance (-i, optional -d candidate)"},
    {"recover-lite", "recover-lite/{H}/{P}{/DH/DP}", OUT_ENV_KEY, "recover without running hooks"},
    {"force-master-failover", "force-master-failover/{C}", OUT_ENV_SUCCESSOR,
     "fail over the cluster's master now"},
    {"graceful-master-takeover", "graceful-master-takeover/{C}{/DH/DP}", OUT_ENV_SUCCESSOR,
     "planned master change (-i/-a, optional -d)"},
    {"graceful-master-takeover-auto", "graceful-master-takeover-auto/{C}{/DH/DP}",
     OUT_ENV_SUCCESSOR, "planned master change, automatic candidate"},
    {"move-up", "move-up/{H}/{P}", OUT_ENV_RELOCATE,
     "make the instance replicate from its grandparent (-i)"},
    {"move-below", "move-below/{H}/{P}/{DH}/{DP}", OUT_ENV_RELOCATE,
     "make the instance replicate from its sibling (-i, -d)"},
    {"repoint", "repoint/{H}/{P}{/DH/DP}", OUT_ENV_RELOCATE,
     "point the instance at -d (or its master again)"},
    {"relocate", "relocate/{H}/{P}/{DH}/{DP}", OUT_ENV_RELOCATE,
     "move the instance below -d, any way possible"},
    {"take-master", "take-master/{H}/{P}", OUT_ENV_RELOCATE,
     "swap the instance with its master (-i)"},
    {"stop-replica", "stop-replica/{H}/{P}", OUT_ENV_KEY, "stop replication (-i)"},
    {"start-replica", "start-replica/{H}/{P}", OUT_ENV_KEY, "start replication (-i)"},
    {"set-read-only", "set-read-only/{H}/{P}", OUT_ENV_KEY, "set read_only=1 (-i)"},
    {"set-writeable", "set-writeable/{H}/{P}", OUT_ENV_KEY, "set read_only=0 (-i)"},
    {"ack-cluster-recoveries", "ack-recovery/cluster/{C}?comment={reason}", OUT_ENV_MESSAGE,
     "acknowledge a cluster's recoveries (-i/-a, --reason)"},
    {"ack-instance-recoveries", "ack-recovery/instance/{H}/{P}?comment={reason}", OUT_ENV_MESSAGE,
     "acknowledge an instance's recoveries (-i, --reason)"},
    {"ack-all-recoveries", "ack-all-recoveries?comment={reason}", OUT_ENV_MESSAGE,
     "acknowledge every recovery (--reason)"},
    {"disable-global-recoveries", "disable-global-recoveries", OUT_ENV_TEXT,
     "stop automated recoveries everywhere"},
    {"enable-global-recoveries", "enable-global-recoveries", OUT_ENV_TEXT,
     "allow automated recoveries"},
    {"check-global-recoveries", "check-global-recoveries", OUT_ENV_TEXT, "enabled or disabled"},
    {"raft-leader", "raft-leader", OUT_RAW, "the raft leader's address"},
    {"raft-health", "raft-health", OUT_RAW, "this node's raft health"},
    {"raft-state", "raft-state", OUT_RAW, "this node's raft state"},
    {"raft-peers", "raft-peers", OUT_RAW, "the raft peers"},
    {"raft-add-peer", "raft-add-peer/{X}", OUT_RAW, "add a raft peer (-i ip:port)"},
    {"raft-remove-peer", "raft-remove-peer/{X}", OUT_RAW, "remove a raft peer (-i ip:port)"},
    {"leader-check", "leader-check", OUT_RAW, "200 when the node is the leader"},
    {"api", "{X}", OUT_RAW, "GET any API path (-i path)"},
};

struct opts {
    const char *instance, *dest, *alias, *alias_name, *owner, *reason, *duration, *rule, *tag;
};

static const struct command *find_command(const char *name)
{
    char fixed[128];
    const char *s = strstr(name, "slave");

    /* orchestrator-client rewrites the first "slave" into "replica". */
    if (s != NULL && strlen(name) + 3 < sizeof(fixed)) {
        snprintf(fixed, sizeof(fixed), "%.*sreplica%s", (int)(s - name), name, s + 5);
        name = fixed;
    }
    for (size_t i = 0; i < ORC_ARRAY_LEN(commands); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int orc_client_help(const char *command, FILE *out)
{
    const struct command *c = find_command(command);

    if (strcmp(command, "commands") == 0) {
        for (size_t i = 0; i < ORC_ARRAY_LEN(commands); i++)
            fprintf(out, "  %-30s %s\n", commands[i].name, commands[i].help);
        return 0;
    }
    if (c == NULL) {
        fprintf(stderr, "orchestrator: unknown command '%s' (see `orchestrator help commands`)\n",
                command);
        return 2;
    }
    fprintf(out,
            "usage: orchestrator -c %s [-i host:port] [-d host:port] [-a alias] ...\n\n%s\n"
            "API route: /api/%s\n",
            c->name, c->help, c->route);
    return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **dst = NULL;

        if (a[0] == '-' && a[1] == '-')
            a++;
        if (!strcmp(a, "-i") || !strcmp(a, "-instance"))
            dst = &o->instance;
        else if (!strcmp(a, "-d") || !strcmp(a, "-s") || !strcmp(a, "-destination"))
            dst = &o->dest;
        else if (!strcmp(a, "-a") || !strcmp(a, "-alias"))
            dst = &o->alias;
        else if (!strcmp(a, "-alias-name"))
            dst = &o->alias_name;
        else if (!strcmp(a, "-o") || !strcmp(a, "-owner"))
            dst = &o->owner;
        else if (!strcmp(a, "-r") || !strcmp(a, "-reason"))
            dst = &o->reason;
        else if (!strcmp(a, "-u") || !strcmp(a, "-duration"))
            dst = &o->duration;
        else if (!strcmp(a, "-R") || !strcmp(a, "-promotion-rule"))
            dst = &o->rule;
        else if (!strcmp(a, "-t") || !strcmp(a, "-tag"))
            dst = &o->tag;
        if (dst == NULL || v == NULL) {
            fprintf(stderr, "orchestrator: unknown or incomplete option '%s'\n", argv[i]);
            return ORC_EINVAL;
        }
        *dst = v;
        i++;
    }
    return 0;
}

static void put_escaped(struct orc_buf *b, CURL *curl, const char *v)
{
    char *e = curl_easy_escape(curl, v, 0);

    orc_buf_puts(b, e ? e : "");
    curl_free(e);
}

static int need(const char *v, const char *what, const char *cmd)
{
    if (v == NULL || *v == '\0') {
        fprintf(stderr, "orchestrator: %s requires %s\n", cmd, what);
        return ORC_EINVAL;
    }
    return 0;
}

/* Expands one {placeholder}; returns 0 or ORC_EINVAL with a message printed. */
static int expand_one(struct orc_buf *b,
                      CURL *curl,
                      const char *ph,
                      const struct opts *o,
                      const struct orc_key *ik,
                      const struct orc_key *dk,
                      const char *cmd)
{
    char port[16];

    if (!strcmp(ph, "H") || !strcmp(ph, "P")) {
        if (need(o->instance, "-i host:port", cmd))
            return ORC_EINVAL;
        snprintf(port, sizeof(port), "%d", ik->port);
        put_escaped(b, curl, ph[0] == 'H' ? ik->host : port);
    } else if (!strcmp(ph, "DH") || !strcmp(ph, "DP")) {
        if (need(o->dest, "-d host:port", cmd))
            return ORC_EINVAL;
        snprintf(port, sizeof(port), "%d", dk->port);
        put_escaped(b, curl, ph[1] == 'H' ? dk->host : port);
    } else if (!strcmp(ph, "/DH/DP")) {
        if (o->dest != NULL)
            orc_buf_printf(b, "/%s/%d", dk->host, dk->port);
    } else if (!strcmp(ph, "C") || !strcmp(ph, "C?")) {
        const char *c = o->alias ? o->alias : o->instance;
        if (ph[1] != '?' && need(c, "-i host:port or -a alias", cmd))
            return ORC_EINVAL;
        if (c)
            put_escaped(b, curl, c);
    } else if (!strcmp(ph, "S") || !strcmp(ph, "X")) {
        if (need(o->instance, "-i", cmd))
            return ORC_EINVAL;
        if (ph[0] == 'S')
            put_escaped(b, curl, o->instance);
        else
            orc_buf_puts(b, o->instance[0] == '/' ? o->instance + 1 : o->instance);
    } else if (!strcmp(ph, "reason")) {
        if (need(o->reason, "--reason", cmd))
            return ORC_EINVAL;
        put_escaped(b, curl, o->reason);
    } else if (!strcmp(ph, "owner")) {
        const struct passwd *pw = getpwuid(getuid());
        put_escaped(b, curl, o->owner ? o->owner : pw ? pw->pw_name : "orchestrator");
    } else if (!strcmp(ph, "duration")) {
        put_escaped(b, curl, o->duration ? o->duration : "10m");
    } else if (!strcmp(ph, "rule")) {
        put_escaped(b, curl, o->rule ? o->rule : "prefer");
    } else if (!strcmp(ph, "tag")) {
        if (need(o->tag, "--tag", cmd))
            return ORC_EINVAL;
        put_escaped(b, curl, o->tag);
    } else if (!strcmp(ph, "alias")) {
        if (need(o->alias_name, "--alias-name", cmd))
            return ORC_EINVAL;
        put_escaped(b, curl, o->alias_name);
    } else {
        return ORC_EINVAL;
    }
    return 0;
}

static int build_route(const struct command *c,
                       const struct opts *o,
                       CURL *curl,
                       struct orc_buf *out)
{
    struct orc_key ik, dk;
    const char *p = c->route;

    if (o->instance && strstr(c->route, "{H}") && orc_key_parse(o->instance, 3306, &ik) != 0) {
        fprintf(stderr, "orchestrator: invalid instance '%s'\n", o->instance);
        return ORC_EINVAL;
    }
    if (o->dest && orc_key_parse(o->dest, 3306, &dk) != 0) {
        fprintf(stderr, "orchestrator: invalid destination '%s'\n", o->dest);
        return ORC_EINVAL;
    }
    while (*p) {
        const char *close;
        char ph[32];

        if (*p != '{') {
            orc_buf_putc(out, *p++);
            continue;
        }
        close = strchr(p, '}');
        if (close == NULL || (size_t)(close - p) >= sizeof(ph))
            return ORC_EINVAL;
        memcpy(ph, p + 1, (size_t)(close - p - 1));
        ph[close - p - 1] = '\0';
        if (expand_one(out, curl, ph, o, &ik, &dk, c->name) != 0)
            return ORC_EINVAL;
        p = close + 1;
    }
    return 0;
}

/* ---- HTTP ---- */

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    orc_buf_append(arg, data, size * n);
    return size * n;
}

static int http_get(CURL *curl, const char *url, long timeout_s, struct orc_buf *body, long *status)
{
    const char *user = getenv("ORCHESTRATOR_AUTH_USER");
    const char *pass = getenv("ORCHESTRATOR_AUTH_PASSWORD");
    CURLcode rc;

    orc_buf_reset(body);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    if (user != NULL) {
        curl_easy_setopt(curl, CURLOPT_USERNAME, user);
        curl_easy_setopt(curl, CURLOPT_PASSWORD, pass ? pass : "");
    }
    rc = curl_easy_perform(curl);
    if (rc != CURLE_OK) {
        orc_buf_printf(body, "%s", curl_easy_strerror(rc));
        return ORC_EIO;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    return 0;
}

/* Splits ORCHESTRATOR_API (or the config's ListenAddress) into base URLs
 * ending in "/api" and picks the leader as orchestrator-client does. */
static int find_api(const struct orc_config *cfg, CURL *curl, char *api, size_t len)
{
    const char *env = getenv("ORCHESTRATOR_API");
    char list[2048];
    char urls[8][2056];
    int n = 0;
    struct orc_buf body = ORC_BUF_INIT;
    long status = 0;

    if (env != NULL && *env != '\0') {
        orc_strlcpy(list, env, sizeof(list));
    } else {
        const char *la = cfg->ListenAddress;
        snprintf(list, sizeof(list), "http://%s%s%s/api", la[0] == ':' ? "127.0.0.1" : "", la,
                 cfg->URLPrefix);
    }
    for (char *p = list; *p && n < 8;) {
        size_t l = strcspn(p, " ,\t\n");
        char *tok = p;

        p += l;
        if (*p)
            *p++ = '\0';
        while (l > 0 && tok[l - 1] == '/')
            tok[--l] = '\0';
        if (l == 0)
            continue;
        snprintf(urls[n++], sizeof(urls[0]), "%s%s", tok,
                 (l >= 4 && strcmp(tok + l - 4, "/api") == 0) ? "" : "/api");
    }
    if (n == 0)
        return ORC_EINVAL;
    orc_strlcpy(api, urls[0], len);
    for (int pass = 0; n > 1 && pass < 2; pass++) {
        for (int i = 0; i < n; i++) {
            struct orc_buf u = ORC_BUF_INIT;
            int hrc;

            orc_buf_printf(&u, "%s/%s", urls[i], pass ? "routed-leader-check" : "leader-check");
            hrc = http_get(curl, orc_buf_str(&u), 5, &body, &status);
            orc_buf_release(&u);
            if (hrc == 0 && status == 200) {
                orc_strlcpy(api, urls[i], len);
                orc_buf_release(&body);
                return 0;
            }
        }
    }
    orc_buf_release(&body);
    return 0;
}

/* ---- output ---- */

static void print_key(const json_t *k)
{
    const char *h = json_string_value(json_object_get(k, "Hostname"));

    printf("%s:%lld\n", h ? h : "", (long long)json_integer_value(json_object_get(k, "Port")));
}

static bool is_true(const json_t *o, const char *f)
{
    return json_is_true(json_object_get(o, f));
}

static int state(const json_t *o, const char *f)
{
    return (int)json_integer_value(json_object_get(o, f));
}

static bool has_text(const json_t *o, const char *f)
{
    const char *s = json_string_value(json_object_get(o, f));
    return s != NULL && *s != '\0';
}

static void print_text(const json_t *v)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t l = strlen(s);
        fputs(s, stdout);
        if (l == 0 || s[l - 1] != '\n')
            putchar('\n');
    } else if (!json_is_null(v)) {
        char *s = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);
        if (s)
            puts(s);
        free(s);
    }
}

static void print_env_key(const json_t *d)
{
    if (json_object_get(d, "Key"))
        print_key(json_object_get(d, "Key"));
    else if (json_object_get(d, "Hostname"))
        print_key(d);
    else
        print_text(d);
}

static void print_analysis(const json_t *d)
{
    size_t i;
    json_t *a;

    json_array_foreach(d, i, a)
    {
        const json_t *k = json_object_get(a, "AnalyzedInstanceKey");
        const char *code = json_string_value(json_object_get(a, "Analysis"));
        const char *cl =
            json_string_value(json_object_get(json_object_get(a, "ClusterDetails"), "ClusterName"));
        if (code && !strcmp(code, "NoProblem")) {
            const json_t *sa = json_object_get(a, "StructureAnalysis");
            code = json_string_value(json_array_get(sa, 0));
            if (code == NULL)
                continue;
        }
        printf("%s:%lld (cluster %s): %s\n", json_string_value(json_object_get(k, "Hostname")),
               (long long)json_integer_value(json_object_get(k, "Port")), cl ? cl : "",
               code ? code : "");
    }
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
        case OUT_CLUSTERS:
            json_array_foreach(j, i, e) puts(json_string_value(json_object_get(e, "ClusterName")));
            break;
        case OUT_CLUSTERS_ALIAS:
            json_array_foreach(j, i, e)
                printf("%s,%s\n", json_string_value(json_object_get(e, "ClusterName")),
                       json_string_value(json_object_get(e, "ClusterAlias")));
            break;
        case OUT_CLUSTER_NAME:
            puts(json_string_value(json_object_get(j, "ClusterName")));
            break;
        case OUT_CLUSTER_ALIAS:
            puts(json_string_value(json_object_get(j, "ClusterAlias")));
            break;
        case OUT_GTID_ERRANT:
            print_text(json_object_get(j, "GtidErrant"));
            break;
        case OUT_IS_REPLICATING:
            if (state(j, "ReplicationSQLThreadState") == 1 &&
                state(j, "ReplicationIOThreadState") == 1)
                print_key(json_object_get(j, "Key"));
            break;
        case OUT_IS_STOPPED:
            if (state(j, "ReplicationSQLThreadState") == 0 &&
                state(j, "ReplicationIOThreadState") == 0)
                print_key(json_object_get(j, "Key"));
            break;
        case OUT_BROKEN:
            json_array_foreach(j, i, e)
            {
                bool stopped = !is_true(e, "ReplicationSQLThreadRuning") ||
                               !is_true(e, "ReplicationIOThreadRuning");
                if (stopped && (has_text(e, "LastSQLError") || has_text(e, "LastIOError")))
                    print_key(json_object_get(e, "Key"));
            }
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
        case OUT_ENV_RELOCATE: {
            char mk[ORC_KEY_STRLEN];
            const json_t *m = json_object_get(d, "MasterKey");
            snprintf(mk, sizeof(mk), "%s:%lld", json_string_value(json_object_get(m, "Hostname")),
                     (long long)json_integer_value(json_object_get(m, "Port")));
            printf(
                "%s:%lld<%s\n",
                json_string_value(json_object_get(json_object_get(d, "Key"), "Hostname")),
                (long long)json_integer_value(json_object_get(json_object_get(d, "Key"), "Port")),
                mk);
            break;
        }
        case OUT_ENV_KEYS:
            json_array_foreach(d, i, e) print_key(json_object_get(e, "Key"));
            break;
        case OUT_ENV_SUCCESSOR:
            print_key(json_object_get(d, "SuccessorKey"));
            break;
        case OUT_ANALYSIS:
            print_analysis(d);
            break;
        default:
            print_text(d);
            break;
    }
}

/* Prints the answer; returns the exit code. */
static int print_answer(const struct command *c, const char *body, long status)
{
    json_error_t jerr;
    json_t *j = json_loads(body, JSON_DECODE_ANY, &jerr);
    int rc = 0;

    if (j == NULL) {
        fprintf(stderr, "orchestrator: cannot access orchestrator (HTTP %ld, not JSON): %.200s\n",
                status, body);
        return 1;
    }
    if (json_is_object(j) && json_object_get(j, "Code")) {
        const char *code = json_string_value(json_object_get(j, "Code"));
        if (code && strstr(code, "ERROR")) {
            fprintf(stderr, "%s\n", json_string_value(json_object_get(j, "Message")));
            rc = 1;
        } else if (c->out == OUT_RAW) {
            print_text(json_object_get(j, "Details"));
        } else {
            print_env_kind(c->out, j);
        }
    } else if (status >= 400) {
        print_text(j);
        rc = 1;
    } else {
        print_raw_kind(c->out, j);
    }
    json_decref(j);
    return rc;
}

int orc_client_run(const struct orc_config *cfg, const char *command, int argc, char **argv)
{
    const struct command *c = find_command(command);
    struct opts o;
    struct orc_buf route = ORC_BUF_INIT, url = ORC_BUF_INIT, body = ORC_BUF_INIT;
    char api[2056];
    long status = 0;
    CURL *curl;
    int rc = 2;

    memset(&o, 0, sizeof(o));
    if (c == NULL)
        return orc_client_help(command, stderr);
    if (parse_opts(argc, argv, &o) != 0)
        return 2;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    curl = curl_easy_init();
    if (curl == NULL || build_route(c, &o, curl, &route) != 0)
        goto out;
    rc = 1;
    if (find_api(cfg, curl, api, sizeof(api)) != 0) {
        fprintf(stderr, "orchestrator: no API address (set ORCHESTRATOR_API)\n");
        goto out;
    }
    orc_buf_printf(&url, "%s/%s", api, orc_buf_str(&route));
    if (http_get(curl, orc_buf_str(&url), 600, &body, &status) != 0) {
        fprintf(stderr, "orchestrator: cannot access orchestrator at %s: %s\n", api,
                orc_buf_str(&body));
        goto out;
    }
    if (status == 401) {
        fprintf(stderr,
                "orchestrator: 401 Unauthorized (set ORCHESTRATOR_AUTH_USER and "
                "ORCHESTRATOR_AUTH_PASSWORD)\n");
        goto out;
    }
    rc = print_answer(c, orc_buf_str(&body), status);
out:
    orc_buf_release(&route);
    orc_buf_release(&url);
    orc_buf_release(&body);
    if (curl)
        curl_easy_cleanup(curl);
    curl_global_cleanup();
    return rc;
}
