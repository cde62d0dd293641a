/*
 * model: the simulated instances and their replication state, built from a
 * JSON topology spec:
 *
 *   {"user": "u", "password": "p", "base_port": 20000,
 *    "clusters": [{"count": 500, "layout": "star", "replicas": 9,
 *                  "flavor": "mariadb-10.11", "latency_ms": 0, "lag": 0,
 *                  "lag_moves": false, "trickle_ms": 0, "fake_replicas": 0}]}
 *
 * layout: "star" (a master and `replicas` replicas), "chain" (each replica
 * replicates from the previous instance), "comasters" (two masters
 * replicating from each other, the replicas under the first), "loop" (a
 * ring: each replicates from the previous, the first from the last),
 * "single". flavor: "mariadb-10.11", "mysql-8.0", "mysql-8.4".
 * Ports are taken from base_port upwards, skipping ports in use.
 */
#include "tests/fleet/fleet.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

struct cluster_spec {
    int count, replicas, latency_ms, lag, trickle_ms, fake_replicas;
    bool lag_moves;
    const char *layout;
    enum fleet_flavor flavor;
};

const char *fleet_flavor_version(enum fleet_flavor f)
{
    switch (f) {
        case FLEET_MARIADB_1011:
            return "10.11.6-MariaDB-log";
        case FLEET_MYSQL_80:
            return "8.0.36";
        case FLEET_MYSQL_84:
            return "8.4.3";
    }
    return "";
}

static bool port_free(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    bool ok;

    if (fd < 0)
        return false;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

static int add_replica(struct fleet_inst *m, int r)
{
    if (m->nreplicas == m->capreplicas) {
        int cap = m->capreplicas ? m->capreplicas * 2 : 4;
        int *p = realloc(m->replicas, (size_t)cap * sizeof(*p));

        if (p == NULL)
            return -1;
        m->replicas = p;
        m->capreplicas = cap;
    }
    m->replicas[m->nreplicas++] = r;
    return 0;
}

static void drop_replica(struct fleet_inst *m, int r)
{
    for (int i = 0; i < m->nreplicas; i++) {
        if (m->replicas[i] == r) {
            m->replicas[i] = m->replicas[--m->nreplicas];
            return;
        }
    }
}

static bool host_is_us(const struct fleet_model *m, const char *host)
{
    return strcmp(host, "127.0.0.1") == 0 || strcasecmp(host, "localhost") == 0 ||
           strcasecmp(host, m->hostname) == 0;
}

void fleet_model_set_master(struct fleet_model *m, int i, const char *host, int port)
{
    struct fleet_inst *in = &m->inst[i];

    if (in->master >= 0)
        drop_replica(&m->inst[in->master], i);
    in->master = -1;
    in->has_master_cfg = port > 0;
    in->master_port = port;
    snprintf(in->master_host, sizeof(in->master_host), "%s", port > 0 ? host : "");
    if (port <= 0 || port > 65535 || !host_is_us(m, host))
        return;
    if (m->by_port[port] >= 0 && m->by_port[port] != i) {
        in->master = m->by_port[port];
        (void)add_replica(&m->inst[in->master], i);
    }
}

const char *fleet_model_io_state(const struct fleet_model *m, const struct fleet_inst *in)
{
    const struct fleet_inst *ms;

    if (!in->io_on)
        return "No";
    if (in->master < 0)
        return "Connecting";
    ms = &m->inst[in->master];
    if (ms->state == FLEET_KILLED)
        return "Connecting";
    if (ms->state == FLEET_HUNG && in->io_started_ms >= ms->hung_at_ms)
        return "Connecting";
    return "Yes";
}

long fleet_model_lag(const struct fleet_model *m, const struct fleet_inst *in)
{
    long lag = in->lag_s;

    if (!in->sql_on || strcmp(fleet_model_io_state(m, in), "Yes") != 0)
        return -1;
    if (in->lag_moves && lag > 0)
        lag = lag / 2 + (long)((fleet_now_ms() / 1000) % (lag + 1));
    return lag;
}

void fleet_model_catch_up(struct fleet_model *m, struct fleet_inst *in)
{
    const struct fleet_inst *ms;

    if (in->master < 0 || !in->sql_on || strcmp(fleet_model_io_state(m, in), "Yes") != 0)
        return;
    ms = &m->inst[in->master];
    in->gtid_sid = ms->gtid_sid;
    memcpy(in->gtid_uuid, ms->gtid_uuid, sizeof(in->gtid_uuid));
    in->seq = ms->seq;
}

static int parse_flavor(const char *s, enum fleet_flavor *out)
{
    if (s == NULL || strcmp(s, "mariadb-10.11") == 0)
        *out = FLEET_MARIADB_1011;
    else if (strcmp(s, "mysql-8.0") == 0)
        *out = FLEET_MYSQL_80;
    else if (strcmp(s, "mysql-8.4") == 0)
        *out = FLEET_MYSQL_84;
    else
        return -1;
    return 0;
}

static int int_of(json_t *o, const char *k, int dflt)
{
    json_t *v = json_object_get(o, k);

    return json_is_integer(v) ? (int)json_integer_value(v) : dflt;
}

static const char *str_of(json_t *o, const char *k, const char *dflt)
{
    const char *v = json_string_value(json_object_get(o, k));

    return v != NULL ? v : dflt;
}

static int read_cluster(json_t *c, struct cluster_spec *cs, char *errmsg, size_t len)
{
    cs->count = int_of(c, "count", 1);
    cs->replicas = int_of(c, "replicas", 3);
    cs->latency_ms = int_of(c, "latency_ms", 0);
    cs->lag = int_of(c, "lag", 0);
    cs->trickle_ms = int_of(c, "trickle_ms", 0);
    cs->fake_replicas = int_of(c, "fake_replicas", 0);
    cs->lag_moves = json_is_true(json_object_get(c, "lag_moves"));
    cs->layout = json_string_value(json_object_get(c, "layout"));
    if (cs->layout == NULL)
        cs->layout = "star";
    if (parse_flavor(json_string_value(json_object_get(c, "flavor")), &cs->flavor) != 0) {
        snprintf(errmsg, len, "unknown flavor '%s'",
                 json_string_value(json_object_get(c, "flavor")));
        return -1;
    }
    if (strcmp(cs->layout, "single") == 0)
        cs->replicas = 0;
    if (cs->count < 0 || cs->replicas < 0 || cs->count > 1000000 || cs->replicas > 1000000) {
        snprintf(errmsg, len, "bad count or replicas");
        return -1;
    }
    return 0;
}

/* Fills one instance's identity and knobs. */
static void init_inst(struct fleet_inst *in, int idx, int port, const struct cluster_spec *cs)
{
    memset(in, 0, sizeof(*in));
    in->idx = idx;
    in->port = port;
    in->lfd = -1;
    in->flavor = cs->flavor;
    in->server_id = idx + 1;
    snprintf(in->uuid, sizeof(in->uuid), "3e11fa47-71ca-11e1-9e33-%012x", (unsigned)(idx + 1));
    in->master = -1;
    in->latency_ms = cs->latency_ms;
    in->trickle_ms = cs->trickle_ms;
    in->started_ms = fleet_now_ms();
}

/* Wires cluster members first..first+size-1 by layout. */
static void wire_cluster(struct fleet_model *m,
                         int first,
                         int size,
                         const struct cluster_spec *cs,
                         int cluster)
{
    struct fleet_inst *top = &m->inst[first];

    for (int k = 0; k < size; k++) {
        struct fleet_inst *in = &m->inst[first + k];
        int from = -1;

        in->cluster = cluster;
        in->gtid_sid = top->server_id;
        memcpy(in->gtid_uuid, top->uuid, sizeof(in->gtid_uuid));
        in->seq = 100 + first;
        if (k > 0 && (strcmp(cs->layout, "chain") == 0 || strcmp(cs->layout, "loop") == 0))
            from = first + k - 1;
        else if (k > 0)
            from = first;
        if (k == 0 && size > 1 &&
            (strcmp(cs->layout, "loop") == 0 || strcmp(cs->layout, "comasters") == 0))
            from = strcmp(cs->layout, "loop") == 0 ? first + size - 1 : first + 1;
        in->read_only = in->super_read_only = k > 0;
        if (strcmp(cs->layout, "comasters") == 0 && k == 1)
            in->read_only = in->super_read_only = true;
        if (from < 0)
            continue;
        in->io_on = in->sql_on = in->use_gtid = true;
        in->lag_s = cs->lag;
        in->lag_moves = cs->lag_moves;
        fleet_model_set_master(m, first + k, "127.0.0.1", m->inst[from].port);
    }
    top->fake_replicas = cs->fake_replicas;
}

static int alloc_model(struct fleet_model *m, int total, char *errmsg, size_t len)
{
    m->inst = calloc(total > 0 ? (size_t)total : 1, sizeof(*m->inst));
    m->by_port = malloc(65536 * sizeof(*m->by_port));
    if (m->inst == NULL || m->by_port == NULL) {
        snprintf(errmsg, len, "out of memory");
        return -1;
    }
    for (int p = 0; p < 65536; p++)
        m->by_port[p] = -1;
    return 0;
}

static int build(struct fleet_model *m, json_t *clusters, int base_port, char *errmsg, size_t len)
{
    struct cluster_spec cs;
    int total = 0, port = base_port, idx = 0, ncluster = 0;
    size_t i;
    json_t *c;

    json_array_foreach(clusters, i, c)
    {
        if (read_cluster(c, &cs, errmsg, len) != 0)
            return -1;
        total += cs.count * (cs.replicas + 1);
    }
    if (alloc_model(m, total, errmsg, len) != 0)
        return -1;
    json_array_foreach(clusters, i, c)
    {
        (void)read_cluster(c, &cs, errmsg, len);
        for (int k = 0; k < cs.count; k++) {
            int first = idx;

            for (int r = 0; r <= cs.replicas; r++, idx++) {
                while (port < 65536 && !port_free(port))
                    port++;
                if (port >= 65536) {
                    snprintf(errmsg, len, "out of ports at instance %d", idx);
                    return -1;
                }
                init_inst(&m->inst[idx], idx, port, &cs);
                m->by_port[port++] = idx;
            }
            m->n = idx;
            wire_cluster(m, first, cs.replicas + 1, &cs, ncluster++);
        }
    }
    m->n = total;
    return 0;
}

int fleet_model_load(struct fleet_model *m, const char *spec_json, char *errmsg, size_t len)
{
    json_error_t jerr;
    json_t *root = json_loads(spec_json, 0, &jerr);
    json_t *clusters;
    int rc;

    memset(m, 0, sizeof(*m));
    if (root == NULL) {
        snprintf(errmsg, len, "spec: line %d: %s", jerr.line, jerr.text);
        return -1;
    }
    snprintf(m->user, sizeof(m->user), "%s", str_of(root, "user", "orc_topology"));
    snprintf(m->password, sizeof(m->password), "%s", str_of(root, "password", "orc_topology_pw"));
    if (gethostname(m->hostname, sizeof(m->hostname)) != 0)
        snprintf(m->hostname, sizeof(m->hostname), "localhost");
    clusters = json_object_get(root, "clusters");
    if (!json_is_array(clusters)) {
        snprintf(errmsg, len, "spec: no clusters array");
        json_decref(root);
        return -1;
    }
    rc = build(m, clusters, int_of(root, "base_port", 20000), errmsg, len);
    json_decref(root);
    return rc;
}

void fleet_model_release(struct fleet_model *m)
{
    for (int i = 0; i < m->n; i++)
        free(m->inst[i].replicas);
    free(m->inst);
    free(m->by_port);
    memset(m, 0, sizeof(*m));
}
