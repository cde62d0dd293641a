/*
 * orc-fleet: plays a fleet of MySQL/MariaDB instances on loopback ports.
 *
 *   orc-fleet --spec FILE.json | --clusters N --replicas R [--layout L]
 *             [--flavor F] [--base-port P] [--user U --password P]
 *             [--control-port C] [--shards K] [--out FILE]
 *
 * --out FILE receives, once every instance listens, a JSON object:
 * {"control": [ports of the shards' control endpoints], "instances":
 * [{"port", "cluster", "master_port", "shard"}...]}. The fleet is split into
 * --shards processes by cluster (default: one per 6,000 instances), since
 * every instance needs a listening socket and a connection of its own.
 * SIGTERM stops it.
 */
#include "tests/fleet/fleet.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define PER_SHARD 6000

struct opts {
    const char *spec_file, *out, *layout, *flavor, *user, *password;
    int clusters, replicas, base_port, control_port, shards;
};

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = calloc(1, (size_t)n + 1)) != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (v == NULL)
            return -1;
        i++;
        if (strcmp(a, "--spec") == 0)
            o->spec_file = v;
        else if (strcmp(a, "--out") == 0)
            o->out = v;
        else if (strcmp(a, "--layout") == 0)
            o->layout = v;
        else if (strcmp(a, "--flavor") == 0)
            o->flavor = v;
        else if (strcmp(a, "--user") == 0)
            o->user = v;
        else if (strcmp(a, "--password") == 0)
            o->password = v;
        else if (strcmp(a, "--clusters") == 0)
            o->clusters = (int)strtol(v, NULL, 10);
        else if (strcmp(a, "--replicas") == 0)
            o->replicas = (int)strtol(v, NULL, 10);
        else if (strcmp(a, "--base-port") == 0)
            o->base_port = (int)strtol(v, NULL, 10);
        else if (strcmp(a, "--control-port") == 0)
            o->control_port = (int)strtol(v, NULL, 10);
        else if (strcmp(a, "--shards") == 0)
            o->shards = (int)strtol(v, NULL, 10);
        else
            return -1;
    }
    return o->spec_file != NULL || o->clusters > 0 ? 0 : -1;
}

static char *spec_from_args(const struct opts *o)
{
    char *s = malloc(1024);

    if (s != NULL)
        snprintf(s, 1024,
                 "{\"user\": \"%s\", \"password\": \"%s\", \"base_port\": %d, \"clusters\": "
                 "[{\"count\": %d, \"replicas\": %d, \"layout\": \"%s\", \"flavor\": \"%s\"}]}",
                 o->user, o->password, o->base_port, o->clusters, o->replicas, o->layout,
                 o->flavor);
    return s;
}

static void raise_nofile(void)
{
    struct rlimit r;

    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &r);
    }
}

static int write_out(const struct fleet_model *m, const struct opts *o)
{
    char tmp[4096];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", o->out);
    f = fopen(tmp, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "{\"control\": [");
    for (int s = 0; s < o->shards; s++)
        fprintf(f, "%s%d", s ? ", " : "", o->control_port + s);
    fprintf(f, "],\n\"instances\": [\n");
    for (int i = 0; i < m->n; i++) {
        const struct fleet_inst *in = &m->inst[i];

        fprintf(f, "%s{\"port\": %d, \"cluster\": %d, \"master_port\": %d, \"shard\": %d}\n",
                i ? "," : "", in->port, in->cluster, in->has_master_cfg ? in->master_port : 0,
                in->cluster % o->shards);
    }
    fprintf(f, "]}\n");
    if (fclose(f) != 0)
        return -1;
    return rename(tmp, o->out);
}

static pid_t children[64];
static int nchildren;

static void forward_signal(int sig)
{
    for (int i = 0; i < nchildren; i++)
        kill(children[i], sig);
}

/* Forks one process per shard; waits until every shard listens. */
static int start_shards(struct fleet_model *m, const struct opts *o)
{
    int pfd[2];
    char c;

    if (pipe(pfd) != 0)
        return -1;
    for (int s = 0; s < o->shards; s++) {
        pid_t pid = fork();

        if (pid < 0)
            return -1;
        if (pid == 0) {
            close(pfd[0]);
            signal(SIGTERM, SIG_DFL);
            (void)prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the parent */
            exit(fleet_loop_run(m, o->control_port + s, s, o->shards, pfd[1]) == 0 ? 0 : 1);
        }
        children[nchildren++] = pid;
    }
    close(pfd[1]);
    for (int s = 0; s < o->shards; s++)
        if (read(pfd[0], &c, 1) != 1)
            return -1;
    close(pfd[0]);
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o = {.layout = "star",
                     .flavor = "mariadb-10.11",
                     .user = "orc_topology",
                     .password = "orc_topology_pw",
                     .replicas = 3,
                     .base_port = 20000,
                     .control_port = 19999};
    char errmsg[FLEET_ERRMSG];
    struct fleet_model m;
    char *spec;
    int status = 0, rc = 0;

    if (parse_args(argc, argv, &o) != 0) {
        fprintf(stderr,
                "usage: orc-fleet --spec FILE | --clusters N [--replicas R] [--layout "
                "L] [--flavor F] [--base-port P] [--control-port C] [--shards K] "
                "[--user U] [--password P] [--out FILE]\n");
        return 2;
    }
    raise_nofile();
    spec = o.spec_file != NULL ? read_file(o.spec_file) : spec_from_args(&o);
    if (spec == NULL || fleet_model_load(&m, spec, errmsg, sizeof(errmsg)) != 0) {
        fprintf(stderr, "orc-fleet: %s\n", spec == NULL ? strerror(errno) : errmsg);
        return 1;
    }
    free(spec);
    if (o.shards <= 0)
        o.shards = (m.n + PER_SHARD - 1) / PER_SHARD;
    if (o.shards < 1)
        o.shards = 1;
    if (o.shards > 64)
        o.shards = 64;
    signal(SIGTERM, forward_signal);
    signal(SIGINT, forward_signal);
    if (start_shards(&m, &o) != 0 || (o.out != NULL && write_out(&m, &o) != 0)) {
        fprintf(stderr, "orc-fleet: a shard failed to start\n");
        forward_signal(SIGTERM);
        rc = 1;
    } else {
        fprintf(stderr, "orc-fleet: %d instances on %d shard(s), control port %d\n", m.n, o.shards,
                o.control_port);
    }
    for (int i = 0; i < nchildren; i++)
        while (waitpid(children[i], &status, 0) < 0 && errno == EINTR)
            ;
    fleet_model_release(&m);
    return rc;
}
