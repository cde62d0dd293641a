/*
 * client: `orchestrator -c COMMAND` speaks the HTTP API of a running node,
 * as orchestrator-client does: same command names, flags and output, and the
 * same way of finding the leader among several API addresses.
 *
 * One table maps each command to a route template and an output kind; the
 * template's placeholders say which flags the command needs (and drive the
 * help text), the output kind says how the JSON answer is printed.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/orc.h"
#include "orchestrator/client_int.h"
#include "orchestrator/node.h"
#include "web/web.h"

/* Route templates: {H} {P} from -i, {DH} {DP} from -d, {/DH/DP} optional -d,
 * {C} cluster hint (-a alias, else -i raw), {C?} optional hint, {CI} cluster
 * by -i first, {S} search text, {X} API path, {owner} {reason} {duration}
 * {rule} {tag} {alias} from their flags, {I} -i as typed (a list), {seconds}
 * {hostname} {binlog} {query} {pool} from theirs, {pool?} optional. */
struct command {
    const char *name;
    const char *route;
    enum out_kind out;
    const char *help;
};

/* Commands that orchestrator-client runs only after raft-state names a Leader. */
static bool raft_checked(const char *name)
{
    return strcmp(name, "raft-leader-hostname") == 0 || strcmp(name, "raft-elect-leader") == 0;
}

static const struct command commands[] = {
    {"discover", "discover/{H}/{P}", OUT_ENV_KEY, "discover an instance and its topology"},
    {"async-discover", "async-discover/{H}/{P}", OUT_ENV_MESSAGE,
     "queue an instance for discovery"},
    {"forget", "forget/{H}/{P}", OUT_ENV_KEY, "forget an instance"},
    {"forget-cluster", "forget-cluster/{C}", OUT_ENV_MESSAGE, "forget every instance of a cluster"},
    {"clusters", "clusters-info", OUT_CLUSTERS, "list the cluster names"},
    {"clusters-alias", "clusters-info", OUT_CLUSTERS_ALIAS, "list clusters as name,alias"},
    {"topology", "topology/{C}", OUT_ENV_TEXT, "show a cluster as an ASCII tree"},
    {"topology-tabulated", "topology-tabulated/{C}", OUT_ENV_TEXT, "the tree, tabulated"},
    {"search", "search?s={S}", OUT_KEYS, "instances whose name or port contain a text"},
    {"instance", "instance/{H}/{P}", OUT_KEY, "the instance's key, or an error if unknown"},
    {"which-instance", "instance/{H}/{P}", OUT_KEY, "the instance's key, or an error if unknown"},
    {"which-master", "instance/{H}/{P}", OUT_MASTER_KEY, "the instance's master"},
    {"which-gtid-errant", "instance/{H}/{P}", OUT_GTID_ERRANT, "the instance's errant GTID set"},
    {"is-replicating", "instance/{H}/{P}", OUT_IS_REPLICATING,
     "prints the key when both replication threads run"},
    {"is-replication-stopped", "instance/{H}/{P}", OUT_IS_STOPPED,
     "prints the key when both replication threads are stopped"},
    {"which-replicas", "instance-replicas/{H}/{P}", OUT_KEYS, "the instance's direct replicas"},
    {"which-broken-replicas", "instance-replicas/{H}/{P}", OUT_BROKEN,
     "direct replicas with a stopped thread and an error"},
    {"which-cluster", "cluster-info/{C}", OUT_CLUSTER_NAME, "the cluster's name"},
    {"which-cluster-alias", "cluster-info/{C}", OUT_CLUSTER_ALIAS, "the cluster's alias"},
    {"which-cluster-master", "master/{C}", OUT_KEY, "the cluster's writeable master"},
    {"which-cluster-instances", "cluster/{C}", OUT_KEYS, "every instance of the cluster"},
    {"all-clusters-masters", "masters", OUT_KEYS, "the writeable master of every cluster"},
    {"all-instances", "all-instances", OUT_KEYS, "every known instance"},
    {"which-downtimed-instances", "downtimed/{C?}", OUT_KEYS,
     "downtimed instances (of one cluster with -i or -a)"},
    {"downtimed", "downtimed/{C?}", OUT_KEYS, "same as which-downtimed-instances"},
    {"set-cluster-alias", "set-cluster-alias/{CI}?alias={alias}", OUT_ENV_MESSAGE,
     "name a cluster: -i member -a NEWALIAS, or --alias-name NEWALIAS"},
    {"begin-downtime", "begin-downtime/{H}/{P}/{owner}/{reason}/{duration}", OUT_ENV_KEY,
     "downtime an instance (default duration 10m)"},
    {"end-downtime", "end-downtime/{H}/{P}", OUT_ENV_KEY, "end an instance's downtime"},
    {"begin-maintenance", "begin-maintenance/{H}/{P}/{owner}/{reason}", OUT_ENV_KEY,
     "put an instance under maintenance"},
    {"end-maintenance", "end-maintenance/{H}/{P}", OUT_ENV_KEY, "end an instance's maintenance"},
    {"in-maintenance", "in-maintenance/{H}/{P}", OUT_ENV_IF_TRUE,
     "prints the key when the instance is under maintenance"},
    {"register-candidate", "register-candidate/{H}/{P}/{rule}", OUT_ENV_KEY,
     "set the instance's promotion rule (default prefer)"},
    {"tag", "tag/{H}/{P}?tag={tag}", OUT_ENV_KEY, "tag an instance (name or name=value)"},
    {"untag", "untag/{H}/{P}?tag={tag}", OUT_ENV_KEY, "remove a tag from an instance"},
    {"tags", "tags/{H}/{P}", OUT_STRINGS, "the instance's tags"},
    {"tag-value", "tag-value/{H}/{P}?tag={tag}", OUT_RAW, "the value of one tag"},
    {"tagged", "tagged?tag={tag}", OUT_KEY_LIST, "instances having tags (a,b=c: all of them)"},
    {"audit", "audit", OUT_RAW, "recent audit entries (JSON)"},
    {"replication-analysis", "replication-analysis", OUT_ANALYSIS,
     "detected problems, one line per instance"},
    {"recover", "recover/{H}/{P}{/DH/DP}", OUT_ENV_KEY,
     "recover a failed instance (-d: preferred candidate)"},
    {"recover-lite", "recover-lite/{H}/{P}{/DH/DP}", OUT_ENV_KEY, "recover without running hooks"},
    {"force-master-failover", "force-master-failover/{C}", OUT_ENV_SUCCESSOR,
     "fail over the cluster's master now"},
    {"graceful-master-takeover", "graceful-master-takeover/{C}{/DH/DP}", OUT_ENV_SUCCESSOR,
     "planned master change (-d: the new master)"},
    {"graceful-master-takeover-auto", "graceful-master-takeover-auto/{C}{/DH/DP}",
     OUT_ENV_SUCCESSOR, "planned master change, automatic candidate"},
    {"move-up", "move-up/{H}/{P}", OUT_ENV_RELOCATE,
     "make the instance replicate from its grandparent"},
    {"move-below", "move-below/{H}/{P}/{DH}/{DP}", OUT_ENV_RELOCATE,
     "make the instance replicate from its sibling -d"},
    {"move-gtid", "move-gtid/{H}/{P}/{DH}/{DP}", OUT_ENV_RELOCATE,
     "move the instance below -d using GTID"},
    {"repoint", "repoint/{H}/{P}{/DH/DP}", OUT_ENV_RELOCATE,
     "point the instance at -d (or at its master again)"},
    {"relocate", "relocate/{H}/{P}/{DH}/{DP}", OUT_ENV_RELOCATE,
     "move the instance below -d, any way possible"},
    {"take-master", "take-master/{H}/{P}", OUT_ENV_RELOCATE, "swap the instance with its master"},
    {"stop-replica", "stop-replica/{H}/{P}", OUT_ENV_KEY, "stop replication"},
    {"start-replica", "start-replica/{H}/{P}", OUT_ENV_KEY, "start replication"},
    {"set-read-only", "set-read-only/{H}/{P}", OUT_ENV_KEY, "set read_only=1"},
    {"set-writeable", "set-writeable/{H}/{P}", OUT_ENV_KEY, "set read_only=0"},
    {"ack-cluster-recoveries", "ack-recovery/cluster/{C}?comment={reason}", OUT_ENV_TEXT,
     "acknowledge a cluster's recoveries"},
    {"ack-instance-recoveries", "ack-recovery/instance/{H}/{P}?comment={reason}", OUT_ENV_TEXT,
     "acknowledge an instance's recoveries"},
    {"ack-all-recoveries", "ack-all-recoveries?comment={reason}", OUT_ENV_TEXT,
     "acknowledge every recovery"},
    {"disable-global-recoveries", "disable-global-recoveries", OUT_ENV_TEXT,
     "stop automated recoveries everywhere"},
    {"enable-global-recoveries", "enable-global-recoveries", OUT_ENV_TEXT,
     "allow automated recoveries"},
    {"check-global-recoveries", "check-global-recoveries", OUT_ENV_TEXT, "enabled or disabled"},
    {"submit-masters-to-kv-stores", "submit-masters-to-kv-stores/{C?}", OUT_ENV_KV,
     "publish the writable masters (of one cluster with -a or -i) to the KV stores now"},
    {"raft-leader", "raft-leader", OUT_RAW, "the raft leader's address"},
    {"raft-health", "raft-health", OUT_RAW, "this node's raft health"},
    {"raft-state", "raft-state", OUT_RAW, "this node's raft state"},
    {"raft-peers", "raft-peers", OUT_STRINGS, "the raft peers"},
    {"raft-add-peer", "raft-add-peer/{X}", OUT_RAW, "add a raft peer (-P ip:port)"},
    {"raft-remove-peer", "raft-remove-peer/{X}", OUT_RAW, "remove a raft peer (-P ip:port)"},
    {"leader-check", "leader-check", OUT_RAW, "\"OK\" when the node is the leader"},
    {"topology-tags", "topology-tags/{C}", OUT_ENV_TEXT, "the tree, with each instance's tags"},
    {"snapshot-topologies", "snapshot-topologies", OUT_ENV_TEXT,
     "record every instance's master (topology history)"},
    {"which-cluster-osc-replicas", "cluster-osc-replicas/{C}", OUT_KEYS,
     "replicas fit to control a pt-online-schema-change"},
    {"which-cluster-osc-running-replicas", "cluster-osc-replicas/{C}", OUT_RUNNING,
     "the same, only those replicating"},
    {"dominant-dc", "masters", OUT_DOMINANT_DC, "the data center where most masters are"},
    {"untag-all", "untag-all?tag={tag}", OUT_ENV_KEY, "remove a tag from every instance"},
    {"submit-pool-instances", "submit-pool-instances/{pool}?instances={I}", OUT_ENV_TEXT,
     "set a pool's instances (-i h1:p1,h2:p2 --pool name)"},
    {"which-heuristic-cluster-pool-instances", "heuristic-cluster-pool-instances/{C}/{pool?}",
     OUT_ENV_KEY, "a cluster's healthy instances in any pool, or in --pool"},
    {"register-hostname-unresolve", "register-hostname-unresolve/{H}/{P}/{hostname}", OUT_ENV_KEY,
     "give an instance a virtual (unresolved) name"},
    {"deregister-hostname-unresolve", "deregister-hostname-unresolve/{H}/{P}", OUT_ENV_KEY,
     "remove an instance's virtual name"},
    {"force-master-takeover", "force-master-takeover/{C}/{DH}/{DP}", OUT_ENV_SUCCESSOR,
     "discard the master and promote the given direct replica"},
    {"relocate-replicas", "relocate-replicas/{H}/{P}/{DH}/{DP}?pattern={pattern?}", OUT_ENV_KEY,
     "move the instance's replicas below another instance"},
    {"move-replicas-gtid", "move-replicas-gtid/{H}/{P}/{DH}/{DP}?pattern={pattern?}", OUT_ENV_KEY,
     "move the instance's replicas below another instance via GTID"},
    {"move-up-replicas", "move-up-replicas/{H}/{P}?pattern={pattern?}", OUT_ENV_KEY,
     "move the instance's replicas one level up"},
    {"repoint-replicas", "repoint-replicas/{H}/{P}{/DH/DP}?pattern={pattern?}", OUT_ENV_KEY,
     "repoint the instance's replicas back to it"},
    {"regroup-replicas", "regroup-replicas/{H}/{P}", OUT_ENV_KEY,
     "the instance's most advanced replica takes its siblings; prints it"},
    {"regroup-replicas-gtid", "regroup-replicas-gtid/{H}/{P}", OUT_ENV_KEY, "the same, GTID only"},
    {"take-siblings", "take-siblings/{H}/{P}", OUT_ENV_RELOCATE,
     "turn the instance's siblings into its replicas"},
    {"make-co-master", "make-co-master/{H}/{P}", OUT_ENV_RELOCATE,
     "make the instance and its master co-masters"},
    {"move-equivalent", "move-equivalent/{H}/{P}/{DH}/{DP}", OUT_ENV_RELOCATE,
     "move below another instance by equivalent coordinates"},
    {"match", "match/{H}/{P}/{DH}/{DP}", OUT_ENV_RELOCATE, "move below another (Pseudo-GTID)"},
    {"match-up", "match-up/{H}/{P}", OUT_ENV_RELOCATE, "move one level up (Pseudo-GTID)"},
    {"match-up-replicas", "match-up-replicas/{H}/{P}{/DH/DP}", OUT_ENV_KEY,
     "move the replicas one level up (Pseudo-GTID)"},
    {"last-pseudo-gtid", "last-pseudo-gtid/{H}/{P}", OUT_ENV_TEXT,
     "the last Pseudo-GTID entry of an instance"},
    {"stop-replica-nice", "stop-replica-nice/{H}/{P}", OUT_ENV_KEY,
     "stop replication with the SQL thread caught up"},
    {"restart-replica", "restart-replica/{H}/{P}", OUT_ENV_KEY, "stop and start replication"},
    {"reset-replica", "reset-replica/{H}/{P}", OUT_ENV_KEY, "RESET SLAVE (use with care)"},
    {"detach-replica", "detach-replica/{H}/{P}", OUT_ENV_KEY,
     "stop replication and make the master coordinates reversibly invalid"},
    {"reattach-replica", "reattach-replica/{H}/{P}", OUT_ENV_KEY, "undo detach-replica"},
    {"detach-replica-master-host", "detach-replica-master-host/{H}/{P}", OUT_ENV_KEY,
     "stop replication and make the master host reversibly invalid"},
    {"reattach-replica-master-host", "reattach-replica-master-host/{H}/{P}", OUT_ENV_KEY,
     "undo detach-replica-master-host"},
    {"skip-query", "skip-query/{H}/{P}", OUT_ENV_KEY, "skip one statement on a replica"},
    {"restart-replica-statements", "restart-replica-statements/{H}/{P}?q={query}", OUT_ENV_ECHO,
     "wrap a query (-q) with the statements restoring the replication state"},
    {"delay-replication", "delay-replication/{H}/{P}/{seconds}", OUT_ENV_ECHO,
     "set the replication delay (--seconds n)"},
    {"can-replicate-from", "can-replicate-from/{H}/{P}/{DH}/{DP}", OUT_ENV_IF_TRUE,
     "whether the instance could replicate from the destination"},
    {"can-replicate-from-gtid", "can-replicate-from-gtid/{H}/{P}/{DH}/{DP}", OUT_ENV_IF_TRUE,
     "the same, assuming GTID"},
    {"flush-binary-logs", "flush-binary-logs/{H}/{P}", OUT_ENV_KEY, "FLUSH BINARY LOGS"},
    {"purge-binary-logs", "purge-binary-logs/{H}/{P}/{binlog}", OUT_ENV_KEY,
     "purge binary logs up to --binlog"},
    {"locate-gtid-errant", "locate-gtid-errant/{H}/{P}", OUT_ENV_STRINGS,
     "binary logs holding the instance's errant GTID"},
    {"gtid-errant-reset-master", "gtid-errant-reset-master/{H}/{P}", OUT_ENV_KEY,
     "remove errant GTID by RESET MASTER"},
    {"gtid-errant-inject-empty", "gtid-errant-inject-empty/{H}/{P}", OUT_ENV_KEY,
     "apply errant GTID as empty transactions on the master"},
    {"enable-semi-sync-master", "enable-semi-sync-master/{H}/{P}", OUT_ENV_KEY,
     "enable semi-sync (master side)"},
    {"disable-semi-sync-master", "disable-semi-sync-master/{H}/{P}", OUT_ENV_KEY,
     "disable semi-sync (master side)"},
    {"enable-semi-sync-replica", "enable-semi-sync-replica/{H}/{P}", OUT_ENV_KEY,
     "enable semi-sync (replica side)"},
    {"disable-semi-sync-replica", "disable-semi-sync-replica/{H}/{P}", OUT_ENV_KEY,
     "disable semi-sync (replica side)"},
    {"raft-leader-hostname", "status", OUT_ENV_HOSTNAME, "the raft leader's host name"},
    {"raft-elect-leader", "raft-yield-hint/{hostname}", OUT_ENV_TEXT,
     "hand raft leadership to the node whose name contains --hostname"},
    {"which-api", "", OUT_WHICH_API, "the API address the client uses (the leader's)"},
    {"recovery-config", "recovery-config", OUT_BODY,
     "the recovery settings: effective value, source (file or replicated), who set it, when"},
    {"set-recovery-config", "recovery-config/set?key={key}&value={value}", OUT_ENV_MESSAGE,
     "hold a recovery setting in the replicated state: every node acts on it (value as "
     "--Key=value: lists comma-separated or a JSON array)"},
    {"reset-recovery-config", "recovery-config/reset?key={key}", OUT_ENV_MESSAGE,
     "drop a replicated recovery setting: each node acts on its file's value again"},
    {"api", "{X}", OUT_BODY, "GET any API path and print the body"},
};

/* Placeholders: the flag a command needs for each (NULL: covered by its
 * pair) and how the route shows it in help. */
struct placeholder {
    const char *name;
    const char *flag;
    const char *shown;
};

static const struct placeholder placeholders[] = {
    {"H", "-i host:port", "HOST"},
    {"P", NULL, "PORT"},
    {"DH", "-d host:port", "DHOST"},
    {"DP", NULL, "DPORT"},
    {"/DH/DP", "[-d host:port]", "[/DHOST/DPORT]"},
    {"C", "-i host:port|-a alias", "CLUSTER"},
    {"C?", "[-i host:port|-a alias]", "[CLUSTER]"},
    {"CI", "-i host:port|-a alias", "CLUSTER"},
    {"S", "-i text|--pattern text", "TEXT"},
    {"X", "-P path", "PATH"},
    {"owner", "[--owner name]", "OWNER"},
    {"reason", "--reason text", "REASON"},
    {"duration", "[--duration 10m]", "DURATION"},
    {"rule", "[--promotion-rule prefer]", "RULE"},
    {"tag", "--tag name[=value]", "TAG"},
    {"alias", "-a|--alias-name alias", "ALIAS"},
    {"I", "-i host:port[,host:port...]", "INSTANCES"},
    {"seconds", "--seconds n", "SECONDS"},
    {"hostname", "--hostname name", "HOSTNAME"},
    {"binlog", "--binlog file", "BINLOG"},
    {"query", "-q query", "QUERY"},
    {"pool", "--pool name", "POOL"},
    {"pool?", "[--pool name]", "[POOL]"},
    {"pattern?", "[--pattern regex]", "[PATTERN]"},
    {"key", "--key ConfigKey", "KEY"},
    {"value", "--value value", "VALUE"},
};

struct opts {
    const char *instance, *dest, *alias, *alias_name, *owner, *reason, *duration, *rule, *tag,
        *path, *pattern, *api, *auth, *seconds, *hostname, *binlog, *query, *pool, *key, *value;
};

/* Flags as orchestrator-client and orchestrator take them: "-x v",
 * "--long v", "-long v" or "--long=v". */
static const struct option {
    const char *shortname, *longname;
    size_t field;
} options[] = {
    {"i", "instance", offsetof(struct opts, instance)},
    {"d", "destination", offsetof(struct opts, dest)},
    {"s", "sibling", offsetof(struct opts, dest)},
    {"a", "alias", offsetof(struct opts, alias)},
    {NULL, "alias-name", offsetof(struct opts, alias_name)},
    {"o", "owner", offsetof(struct opts, owner)},
    {"r", "reason", offsetof(struct opts, reason)},
    {"u", "duration", offsetof(struct opts, duration)},
    {"R", "promotion-rule", offsetof(struct opts, rule)},
    {"t", "tag", offsetof(struct opts, tag)},
    {"P", "path", offsetof(struct opts, path)},
    {NULL, "pattern", offsetof(struct opts, pattern)},
    {"U", "api", offsetof(struct opts, api)},
    {"b", "auth", offsetof(struct opts, auth)},
    {"S", "seconds", offsetof(struct opts, seconds)},
    {"H", "hostname", offsetof(struct opts, hostname)},
    {"n", "binlog", offsetof(struct opts, binlog)},
    {"q", "query", offsetof(struct opts, query)},
    {"l", "pool", offsetof(struct opts, pool)},
    {NULL, "key", offsetof(struct opts, key)},
    {NULL, "value", offsetof(struct opts, value)},
};

/* One client run: options, the curl handle and the API address picked. */
struct client {
    const struct orc_config *cfg;
    const struct command *cmd;
    struct opts o;
    struct orc_key ik, dk;
    CURL *curl;
    char userpwd[512];
    char api[2056];
};

#define API_TIMEOUT_S 600L /* a takeover may take minutes */
#define CHECK_TIMEOUT_S 2L /* per leader-check, as orchestrator-client's 1 s */
#define CONNECT_TIMEOUT_S 3L

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

static const struct placeholder *find_placeholder(const char *name, size_t len)
{
    for (size_t i = 0; i < ORC_ARRAY_LEN(placeholders); i++)
        if (strlen(placeholders[i].name) == len && memcmp(placeholders[i].name, name, len) == 0)
            return &placeholders[i];
    return NULL;
}

/* ---- help ---- */

static void print_command_list(FILE *out)
{
    fputs("usage: orchestrator [--config FILE] -c COMMAND [flags]\n\ncommands:\n", out);
    for (size_t i = 0; i < ORC_ARRAY_LEN(commands); i++)
        fprintf(out, "  %-30s %s\n", commands[i].name, commands[i].help);
    fputs(
        "\nflags: -i host:port, -d host:port, -a alias, --alias-name name, --owner name,\n"
        "  --reason text, --duration 10m, --promotion-rule rule, --tag name[=value],\n"
        "  --pattern text, --key ConfigKey, --value value, -P path, -U api-url,\n"
        "  -b user:password (also --flag=value)\n"
        "\nThe API is -U, else ORCHESTRATOR_API (one or more URLs: the leader is picked),\n"
        "else the config's ListenAddress. Basic auth: -b, else ORCHESTRATOR_AUTH_USER and\n"
        "ORCHESTRATOR_AUTH_PASSWORD. HTTPS: the CA is ORCHESTRATOR_CA_FILE, else SSLCAFile;\n"
        "a client certificate (mutual TLS) is ORCHESTRATOR_CERT_FILE and ORCHESTRATOR_KEY_FILE,\n"
        "else SSLCertFile and SSLPrivateKeyFile when UseMutualTLS.\n"
        "Legacy names work: \"slave\" reads as \"replica\".\n"
        "See 'orchestrator help COMMAND' for one command.\n",
        out);
}

/* Writes the flags (or, with route_form, the route) a template implies. */
static void describe_route(const char *route, bool route_form, struct orc_buf *out)
{
    for (const char *p = route; *p;) {
        const char *close = *p == '{' ? strchr(p, '}') : NULL;
        const struct placeholder *ph;

        if (close == NULL) {
            if (route_form)
                orc_buf_putc(out, *p);
            p++;
            continue;
        }
        ph = find_placeholder(p + 1, (size_t)(close - p - 1));
        p = close + 1;
        if (ph == NULL)
            continue;
        if (route_form)
            orc_buf_puts(out, ph->shown);
        else if (ph->flag != NULL && strstr(orc_buf_str(out), ph->flag) == NULL)
            orc_buf_printf(out, " %s", ph->flag);
    }
}

int orc_client_help(const char *command, FILE *out)
{
    const struct command *c;
    struct orc_buf flags = ORC_BUF_INIT, route = ORC_BUF_INIT;

    if (strcmp(command, "commands") == 0 || strcmp(command, "help") == 0) {
        print_command_list(out);
        return 0;
    }
    c = find_command(command);
    if (c == NULL) {
        fprintf(stderr, "orchestrator: unknown command '%s' (see 'orchestrator help commands')\n",
                command);
        return 2;
    }
    describe_route(c->route, false, &flags);
    describe_route(c->route, true, &route);
    fprintf(out, "usage: orchestrator -c %s%s\n\n%s\n", c->name, orc_buf_str(&flags), c->help);
    if (c->route[0] != '\0')
        fprintf(out, "API route: GET /api/%s\n", orc_buf_str(&route));
    orc_buf_release(&flags);
    orc_buf_release(&route);
    return 0;
}

/* ---- flags ---- */

static const struct option *find_option(const char *a, size_t len)
{
    bool dashes = a[0] == '-' && a[1] == '-';

    a += dashes ? 2 : 1;
    len -= dashes ? 2 : 1;
    for (size_t i = 0; i < ORC_ARRAY_LEN(options); i++) {
        const char *s = options[i].shortname, *l = options[i].longname;
        if ((s != NULL && !dashes && strlen(s) == len && memcmp(s, a, len) == 0) ||
            (strlen(l) == len && memcmp(l, a, len) == 0))
            return &options[i];
    }
    return NULL;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *eq = strchr(a, '=');
        const struct option *opt = NULL;
        const char *v;

        if (a[0] == '-' && a[1] != '\0')
            opt = find_option(a, eq && a[1] == '-' ? (size_t)(eq - a) : strlen(a));
        if (opt == NULL) {
            fprintf(stderr, "orchestrator: unknown option '%s'\n", a);
            return ORC_EINVAL;
        }
        v = eq && a[1] == '-' ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (v == NULL) {
            fprintf(stderr, "orchestrator: option '%s' needs a value\n", a);
            return ORC_EINVAL;
        }
        *(const char **)((char *)o + opt->field) = v;
    }
    return 0;
}

/* ---- route ---- */

static void put_escaped(struct orc_buf *b, CURL *curl, const char *v)
{
    char *e = curl_easy_escape(curl, v, 0);

    orc_buf_puts(b, e ? e : "");
    curl_free(e);
}

static int need(const char *v, const char *ph, const char *cmd)
{
    const struct placeholder *p;

    if (v != NULL && *v != '\0')
        return 0;
    p = find_placeholder(ph, strlen(ph));
    fprintf(stderr, "orchestrator: command '%s' needs %s\n", cmd,
            p && p->flag ? p->flag : "-i host:port");
    return ORC_EINVAL;
}

static void put_port(struct orc_buf *b, int port)
{
    orc_buf_printf(b, "%d", port);
}

/* {H} {P} {DH} {DP} {/DH/DP}; returns 1 if ph is not one of them. */
static int expand_key(struct client *cl, const char *ph, struct orc_buf *b)
{
    const char *cmd = cl->cmd->name;

    if (!strcmp(ph, "H") || !strcmp(ph, "P")) {
        if (need(cl->o.instance, "H", cmd))
            return ORC_EINVAL;
        if (ph[0] == 'H')
            put_escaped(b, cl->curl, cl->ik.host);
        else
            put_port(b, cl->ik.port);
    } else if (!strcmp(ph, "DH") || !strcmp(ph, "DP")) {
        if (need(cl->o.dest, "DH", cmd))
            return ORC_EINVAL;
        if (ph[1] == 'H')
            put_escaped(b, cl->curl, cl->dk.host);
        else
            put_port(b, cl->dk.port);
    } else if (!strcmp(ph, "/DH/DP")) {
        if (cl->o.dest != NULL) {
            orc_buf_putc(b, '/');
            put_escaped(b, cl->curl, cl->dk.host);
            orc_buf_putc(b, '/');
            put_port(b, cl->dk.port);
        }
    } else {
        return 1;
    }
    return 0;
}

/* The value of a text placeholder, defaults applied (NULL if missing). */
static const char *text_value(const struct client *cl, const char *ph)
{
    const struct opts *o = &cl->o;

    if (!strcmp(ph, "C") || !strcmp(ph, "C?"))
        return o->alias ? o->alias : o->instance;
    if (!strcmp(ph, "CI"))
        return o->instance ? o->instance : o->alias;
    if (!strcmp(ph, "alias"))
        return o->alias_name ? o->alias_name : (o->instance ? o->alias : NULL);
    if (!strcmp(ph, "S"))
        return o->instance ? o->instance : o->pattern;
    if (!strcmp(ph, "X"))
        return o->path ? o->path : o->instance;
    if (!strcmp(ph, "reason"))
        return o->reason;
    if (!strcmp(ph, "I"))
        return o->instance;
    if (!strcmp(ph, "seconds"))
        return o->seconds;
    if (!strcmp(ph, "hostname"))
        return o->hostname;
    if (!strcmp(ph, "binlog"))
        return o->binlog;
    if (!strcmp(ph, "query"))
        return o->query;
    if (!strcmp(ph, "pool") || !strcmp(ph, "pool?"))
        return o->pool;
    if (!strcmp(ph, "pattern?"))
        return o->pattern;
    if (!strcmp(ph, "key"))
        return o->key;
    if (!strcmp(ph, "value"))
        return o->value;
    if (!strcmp(ph, "tag"))
        return o->tag;
    if (!strcmp(ph, "duration"))
        return o->duration ? o->duration : "10m";
    if (!strcmp(ph, "rule"))
        return o->rule ? o->rule : "prefer";
    if (!strcmp(ph, "owner")) {
        const struct passwd *pw = getpwuid(getuid());
        return o->owner ? o->owner : pw ? pw->pw_name : "orchestrator";
    }
    return NULL;
}

static int expand_one(struct client *cl, const char *ph, struct orc_buf *b)
{
    const char *v;
    int rc = expand_key(cl, ph, b);

    if (rc <= 0)
        return rc;
    if (find_placeholder(ph, strlen(ph)) == NULL)
        return ORC_EINVAL; /* a bad template: a programmer error */
    v = text_value(cl, ph);
    /* an empty --value is a value: an empty list */
    if (strcmp(ph, "C?") != 0 && strcmp(ph, "pool?") != 0 && strcmp(ph, "pattern?") != 0 &&
        !(strcmp(ph, "value") == 0 && v != NULL) && need(v, ph, cl->cmd->name))
        return ORC_EINVAL;
    if (v == NULL)
        return 0;
    if (!strcmp(ph, "X"))
        orc_buf_puts(b, v[0] == '/' ? v + 1 : v); /* a path: kept as typed */
    else
        put_escaped(b, cl->curl, v);
    return 0;
}

static int parse_keys(struct client *cl, int default_port)
{
    const char *r = cl->cmd->route;

    if (cl->o.instance && strstr(r, "{H}") &&
        orc_key_parse(cl->o.instance, default_port, &cl->ik)) {
        fprintf(stderr, "orchestrator: invalid instance '%s'\n", cl->o.instance);
        return ORC_EINVAL;
    }
    if (cl->o.dest && orc_key_parse(cl->o.dest, default_port, &cl->dk) != 0) {
        fprintf(stderr, "orchestrator: invalid destination '%s'\n", cl->o.dest);
        return ORC_EINVAL;
    }
    return 0;
}

static int build_route(struct client *cl, struct orc_buf *out)
{
    const char *p = cl->cmd->route;

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
        if (expand_one(cl, ph, out) != 0)
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

/* GET url; on a transport error the body holds curl's message. */
static int http_get(struct client *cl,
                    const char *url,
                    long timeout_s,
                    struct orc_buf *body,
                    long *status)
{
    CURLcode rc;

    orc_buf_reset(body);
    *status = 0;
    curl_easy_setopt(cl->curl, CURLOPT_URL, url);
    curl_easy_setopt(cl->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(cl->curl, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(cl->curl, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
    curl_easy_setopt(cl->curl, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(cl->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(cl->curl, CURLOPT_ACCEPT_ENCODING, "");
    web_curl_tls(cl->curl, cl->cfg, getenv("ORCHESTRATOR_CA_FILE"),
                 getenv("ORCHESTRATOR_CERT_FILE"), getenv("ORCHESTRATOR_KEY_FILE"));
    if (cl->userpwd[0] != '\0') {
        curl_easy_setopt(cl->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(cl->curl, CURLOPT_USERPWD, cl->userpwd);
    }
    rc = curl_easy_perform(cl->curl);
    if (rc != CURLE_OK) {
        orc_buf_printf(body, "%s", curl_easy_strerror(rc));
        return ORC_EIO;
    }
    curl_easy_getinfo(cl->curl, CURLINFO_RESPONSE_CODE, status);
    return 0;
}

/* Basic auth as orchestrator-client: -b user:password, else the
 * ORCHESTRATOR_AUTH_USER / ORCHESTRATOR_AUTH_PASSWORD pair. */
static void set_auth(struct client *cl)
{
    const char *user = getenv("ORCHESTRATOR_AUTH_USER");
    const char *pass = getenv("ORCHESTRATOR_AUTH_PASSWORD");

    if (cl->o.auth != NULL && strcmp(cl->o.auth, ":") != 0)
        orc_strlcpy(cl->userpwd, cl->o.auth, sizeof(cl->userpwd));
    else if ((user && *user) || (pass && *pass))
        snprintf(cl->userpwd, sizeof(cl->userpwd), "%s:%s", user ? user : "", pass ? pass : "");
}

/* The API list: -U, else ORCHESTRATOR_API, else the config's address. */
static void api_list(const struct orc_config *cfg, struct client *cl, char *list, size_t len)
{
    const char *env = getenv("ORCHESTRATOR_API");
    const char *la = cfg->ListenAddress;
    const char *scheme = cfg->UseSSL ? "https" : "http";

    if (cl->o.api != NULL && *cl->o.api != '\0') {
        orc_strlcpy(list, cl->o.api, len);
    } else if (env != NULL && *env != '\0') {
        orc_strlcpy(list, env, len);
    } else {
        /* ":3000", "0.0.0.0:3000" and "[::]:3000" listen on loopback too */
        if (strncmp(la, "0.0.0.0:", 8) == 0)
            la += 7;
        else if (strncmp(la, "[::]:", 5) == 0)
            la += 4;
        snprintf(list, len, "%s://%s%s%s", scheme, la[0] == ':' ? "127.0.0.1" : "", la,
                 cfg->URLPrefix);
    }
}

/* Splits the list into base URLs ending in "/api"; returns how many. */
static int split_urls(char *list, char urls[][2056], int max)
{
    int n = 0;

    for (char *p = list; *p && n < max;) {
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
    return n;
}

/* Index of the first URL whose check answers 200, or -1; *auth_failed is set
 * when one answered 401. */
static int probe_leader(struct client *cl,
                        char urls[][2056],
                        int n,
                        const char *check,
                        bool *auth_failed)
{
    struct orc_buf u = ORC_BUF_INIT, body = ORC_BUF_INIT;
    long status = 0;
    int found = -1;

    for (int i = 0; i < n && found < 0; i++) {
        orc_buf_reset(&u);
        orc_buf_printf(&u, "%s/%s", urls[i], check);
        if (http_get(cl, orc_buf_str(&u), CHECK_TIMEOUT_S, &body, &status) != 0)
            continue;
        if (status == 200)
            found = i;
        else if (status == 401)
            *auth_failed = true;
    }
    orc_buf_release(&u);
    orc_buf_release(&body);
    return found;
}

/* Picks the API as orchestrator-client does: a single URL is used as is;
 * among several, the first whose leader-check answers 200, else the first
 * whose routed-leader-check does. Prints a message and fails otherwise. */
static int find_api(const struct orc_config *cfg, struct client *cl)
{
    char urls[8][2056];
    char list[2048];
    bool auth_failed = false;
    int n, i;

    api_list(cfg, cl, list, sizeof(list));
    n = split_urls(list, urls, (int)ORC_ARRAY_LEN(urls));
    if (n == 0) {
        fprintf(stderr, "orchestrator: no API address (set ORCHESTRATOR_API)\n");
        return ORC_EINVAL;
    }
    i = n == 1 ? 0 : probe_leader(cl, urls, n, "leader-check", &auth_failed);
    if (i < 0)
        i = probe_leader(cl, urls, n, "routed-leader-check", &auth_failed);
    if (i < 0) {
        api_list(cfg, cl, list, sizeof(list));
        fprintf(stderr, "orchestrator: cannot determine the leader among '%s'%s\n", list,
                auth_failed ? " (401 Unauthorized: set ORCHESTRATOR_AUTH_USER and "
                              "ORCHESTRATOR_AUTH_PASSWORD)"
                            : "");
        return ORC_EIO;
    }
    orc_strlcpy(cl->api, urls[i], sizeof(cl->api));
    return 0;
}

/* GETs the route from the API picked and prints the answer. */
static int call(struct client *cl, const char *route)
{
    struct orc_buf url = ORC_BUF_INIT, body = ORC_BUF_INIT;
    long status = 0;
    int rc = 1;

    orc_buf_printf(&url, "%s/%s", cl->api, route);
    if (http_get(cl, orc_buf_str(&url), API_TIMEOUT_S, &body, &status) != 0)
        fprintf(stderr, "orchestrator: cannot access orchestrator at '%s': %s\n", cl->api,
                orc_buf_str(&body));
    else if (status == 401)
        fprintf(stderr,
                "orchestrator: 401 Unauthorized at '%s' (set ORCHESTRATOR_AUTH_USER and "
                "ORCHESTRATOR_AUTH_PASSWORD)\n",
                cl->api);
    else
        rc = orc_client_print(cl->cmd->out, cl->api, orc_buf_str(&body), status);
    orc_buf_release(&url);
    orc_buf_release(&body);
    return rc;
}

/* orchestrator-client's check before a raft command: raft-state answers
 * and names a Leader. */
static bool raft_running(struct client *cl)
{
    struct orc_buf url = ORC_BUF_INIT, body = ORC_BUF_INIT;
    long status = 0;
    bool ok;

    orc_buf_printf(&url, "%s/raft-state", cl->api);
    ok = http_get(cl, orc_buf_str(&url), CHECK_TIMEOUT_S * 5, &body, &status) == 0 &&
         status == 200 && strstr(orc_buf_str(&body), "Leader") != NULL;
    orc_buf_release(&url);
    orc_buf_release(&body);
    if (!ok)
        fprintf(stderr, "Cannot determine raft state\n");
    return ok;
}

int orc_client_post(const struct orc_config *cfg,
                    const char *route,
                    const char *json,
                    struct orc_buf *answer,
                    long *status)
{
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    struct orc_buf url = ORC_BUF_INIT;
    struct client cl;
    int rc = ORC_ENOMEM;

    memset(&cl, 0, sizeof(cl));
    cl.cfg = cfg;
    *status = 0;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    cl.curl = curl_easy_init();
    if (cl.curl != NULL && hdr != NULL) {
        set_auth(&cl);
        rc = find_api(cfg, &cl);
    }
    if (rc == 0) {
        orc_buf_printf(&url, "%s/%s", cl.api, route);
        curl_easy_setopt(cl.curl, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(cl.curl, CURLOPT_POSTFIELDS, json);
        rc = http_get(&cl, orc_buf_str(&url), API_TIMEOUT_S, answer, status);
    }
    orc_buf_release(&url);
    curl_slist_free_all(hdr);
    if (cl.curl)
        curl_easy_cleanup(cl.curl);
    curl_global_cleanup();
    return rc;
}

/* `-c help [COMMAND]` */
static int help_command(int argc, char **argv)
{
    if (argc > 0 && argv[0][0] != '-')
        return orc_client_help(argv[0], stdout);
    print_command_list(stdout);
    return 0;
}

int orc_client_run(const struct orc_config *cfg, const char *command, int argc, char **argv)
{
    struct orc_buf route = ORC_BUF_INIT;
    struct client cl;
    int rc = 2;

    if (strcmp(command, "help") == 0)
        return help_command(argc, argv);
    memset(&cl, 0, sizeof(cl));
    cl.cfg = cfg;
    cl.cmd = find_command(command);
    if (cl.cmd == NULL)
        return orc_client_help(command, stderr);
    if (parse_opts(argc, argv, &cl.o) != 0 || parse_keys(&cl, (int)cfg->DefaultInstancePort) != 0)
        return 2;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    cl.curl = curl_easy_init();
    if (cl.curl == NULL || build_route(&cl, &route) != 0)
        goto out;
    set_auth(&cl);
    rc = 1;
    if (find_api(cfg, &cl) != 0)
        goto out;
    if (cl.cmd->out == OUT_WHICH_API) {
        puts(cl.api);
        rc = 0;
    } else if (raft_checked(cl.cmd->name) && !raft_running(&cl)) {
        rc = 1;
    } else {
        rc = call(&cl, orc_buf_str(&route));
    }
out:
    orc_buf_release(&route);
    if (cl.curl)
        curl_easy_cleanup(cl.curl);
    curl_global_cleanup();
    return rc;
}
