/*
 * main: argv -> the service (`orchestrator http`) or a client command
 * (`orchestrator -c COMMAND ...`). Config sources are applied in order:
 * defaults < files < ORC_<Key> environment < --Key=value flags.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common/config.h"
#include "common/orc.h"
#include "orchestrator/node.h"

extern char **environ;

/* The commit the binary was built from (the Makefile passes it). */
#ifndef ORC_GIT_COMMIT
#define ORC_GIT_COMMIT "unknown"
#endif

static const char usage_text[] =
    "usage: orchestrator [global options] http\n"
    "       orchestrator [global options] -c COMMAND [command options]\n"
    "       orchestrator [global options] import-orchestrator-backend --from SOURCE [--dry-run]\n"
    "       orchestrator --version | --help | help COMMAND\n"
    "\n"
    "A MySQL/MariaDB replication topology manager and high-availability service.\n"
    "\n"
    "Modes:\n"
    "  http                 run the service: discovery, HTTP API and web UI, recovery\n"
    "  import-orchestrator-backend\n"
    "                       import a Go orchestrator's operator state (aliases, downtime,\n"
    "                       promotion rules, maintenance, acknowledged recoveries) from its\n"
    "                       SQLite file or MySQL DSN into the running service\n"
    "  -c COMMAND           run one command against a running service's HTTP API\n"
    "                       (see `orchestrator help commands`)\n"
    "\n"
    "Global options:\n"
    "  --config FILE        read this config file (default: /etc/orchestrator.conf.json,\n"
    "                       conf/orchestrator.conf.json, orchestrator.conf.json)\n"
    "  --dump-config        print the effective config (secrets masked) and exit\n"
    "  --debug              log at debug level (same as --LogLevel=debug)\n"
    "  --advertise-addr HOST[:PORT]\n"
    "                       this node's advertised address (same as --AdvertiseAddr, or\n"
    "                       the ADVERTISE_ADDR environment variable): RaftAdvertise and\n"
    "                       HTTPAdvertise follow from it unless they are set\n"
    "  --KEY=VALUE          set any config key, e.g. --InstancePollSeconds=2;\n"
    "                       flags win over ORC_KEY environment variables, which win\n"
    "                       over the config files\n"
    "  --version            print the version and the git commit, and exit\n"
    "  --help               print this help\n";

static const char http_help[] =
    "usage: orchestrator [global options] http\n"
    "\n"
    "Runs the service in the foreground: loads the config, opens and migrates the\n"
    "backend, discovers and polls the topologies, serves the HTTP API and web UI on\n"
    "ListenAddress, and (as leader) runs automated recoveries. SIGTERM or SIGINT stop\n"
    "it cleanly; SIGHUP re-reads the config and applies the keys that can change live\n"
    "(LogLevel, Debug, LogFile, EnableSyslog; any other change is refused until a\n"
    "restart); SIGUSR1 reopens LogFile (logrotate).\n";

struct args {
    const char *config_file;
    bool dump_config;
    bool help;
    bool version;
    const char *mode;    /* "http", or NULL */
    const char *command; /* -c COMMAND */
    /* Flags for the config, applied after the environment: pairs key, value. */
    const char **flag_keys;
    const char **flag_vals;
    size_t nflags;
    /* Everything else is handed to the client command parser. */
    char **rest;
    int nrest;
};

static bool is_flag(const char *a, const char *name)
{
    if (a[0] != '-')
        return false;
    a++;
    if (a[0] == '-')
        a++;
    return strcmp(a, name) == 0;
}

/* Splits "--Key=value" / "--Key value" for config keys; returns 1 if consumed
 * one arg, 2 if two, 0 if not a config flag. */
static int take_config_flag(struct args *a, int argc, char **argv, int i)
{
    const char *s = argv[i];
    char key[128];
    const char *eq;
    size_t kl;

    if (s[0] != '-' || s[1] != '-')
        return 0;
    s += 2;
    eq = strchr(s, '=');
    kl = eq ? (size_t)(eq - s) : strlen(s);
    if (kl == 0 || kl >= sizeof(key))
        return 0;
    memcpy(key, s, kl);
    key[kl] = '\0';
    if (!orc_config_has_key(key))
        return 0;
    if (eq == NULL && i + 1 >= argc)
        return 0;
    a->flag_keys[a->nflags] = strndup(s, kl);
    a->flag_vals[a->nflags] = eq ? eq + 1 : argv[i + 1];
    a->nflags++;
    return eq ? 1 : 2;
}

static int parse_args(struct args *a, int argc, char **argv)
{
    a->flag_keys = calloc((size_t)argc, sizeof(char *));
    a->flag_vals = calloc((size_t)argc, sizeof(char *));
    a->rest = calloc((size_t)argc + 1, sizeof(char *));
    if (!a->flag_keys || !a->flag_vals || !a->rest)
        return ORC_ENOMEM;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        int used;

        if ((is_flag(s, "config")) && i + 1 < argc) {
            a->config_file = argv[++i];
        } else if (strncmp(s, "--config=", 9) == 0) {
            a->config_file = s + 9;
        } else if (is_flag(s, "dump-config")) {
            a->dump_config = true;
        } else if (is_flag(s, "help") || strcmp(s, "-h") == 0) {
            a->help = true;
        } else if (is_flag(s, "version")) {
            a->version = true;
        } else if (is_flag(s, "advertise-addr") && i + 1 < argc) {
            a->flag_keys[a->nflags] = strdup("AdvertiseAddr");
            a->flag_vals[a->nflags++] = argv[++i];
        } else if (strncmp(s, "--advertise-addr=", 17) == 0) {
            a->flag_keys[a->nflags] = strdup("AdvertiseAddr");
            a->flag_vals[a->nflags++] = s + 17;
        } else if (is_flag(s, "debug")) {
            a->flag_keys[a->nflags] = strdup("LogLevel");
            a->flag_vals[a->nflags++] = "debug";
        } else if (strcmp(s, "-c") == 0 && i + 1 < argc) {
            a->command = argv[++i];
        } else if (a->mode == NULL && a->command == NULL && strcmp(s, "http") == 0) {
            a->mode = "http";
        } else if (a->mode == NULL && a->command == NULL &&
                   strcmp(s, "import-orchestrator-backend") == 0) {
            a->mode = s;
        } else if ((used = take_config_flag(a, argc, argv, i)) > 0) {
            i += used - 1;
        } else {
            a->rest[a->nrest++] = argv[i];
        }
    }
    return 0;
}

static void free_args(struct args *a)
{
    for (size_t i = 0; i < a->nflags; i++)
        free((char *)a->flag_keys[i]);
    free(a->flag_keys);
    free(a->flag_vals);
    free(a->rest);
}

static int load_config(const struct args *a, struct orc_config *cfg, char *err, size_t len)
{
    int rc;

    if (a->config_file != NULL)
        rc = orc_config_load_file(cfg, a->config_file, err, len);
    else
        rc = orc_config_load_paths(cfg, orc_config_default_paths, err, len);
    if (rc != 0)
        return rc;
    rc = orc_config_apply_env(cfg, environ, err, len);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < a->nflags; i++) {
        rc = orc_config_set(cfg, a->flag_keys[i], a->flag_vals[i], err, len);
        if (rc != 0) {
            orc_errprefix(err, len, "flag --%s", a->flag_keys[i]);
            return rc;
        }
    }
    return orc_config_finalize(cfg, err, len);
}

/* The service's reload: the same sources, loaded again. */
static int reload_config(void *arg, struct orc_config *out, char *err, size_t len)
{
    return load_config(arg, out, err, len);
}

static bool has_flag(const struct args *a, const char *key)
{
    for (size_t i = 0; i < a->nflags; i++)
        if (strcmp(a->flag_keys[i], key) == 0)
            return true;
    return false;
}

static int run(struct args *a)
{
    struct orc_config cfg;
    char err[ORC_ERRMSG_SIZE] = "";
    int rc;

    if (a->version) { /* as orchestrator: the version, then the commit */
        printf("%s\n%s\n", ORC_VERSION, ORC_GIT_COMMIT);
        return 0;
    }
    if (a->nrest > 0 && strcmp(a->rest[0], "help") == 0 && a->command == NULL) {
        /* "help http": parse_args took the topic for the mode */
        const char *topic = a->nrest > 1 ? a->rest[1] : a->mode;
        if (topic != NULL && strcmp(topic, "http") == 0) {
            fputs(http_help, stdout);
            return 0;
        }
        if (topic != NULL && strcmp(topic, "import-orchestrator-backend") == 0) {
            char *h[] = {(char *)"--help"};
            return orc_import_run(NULL, 1, h);
        }
        if (a->nrest > 1)
            return orc_client_help(a->rest[1], stdout);
        fputs(usage_text, stdout);
        return 0;
    }
    if (a->help && a->mode != NULL && strcmp(a->mode, "http") != 0) {
        char *h[] = {(char *)"--help"};
        return orc_import_run(NULL, 1, h); /* prints its usage only */
    }
    if (a->help && a->mode != NULL) {
        fputs(http_help, stdout);
        return 0;
    }
    if (a->help && a->command != NULL)
        return orc_client_help(a->command, stdout);
    if (a->help || (a->mode == NULL && a->command == NULL && !a->dump_config)) {
        fputs(usage_text, a->help ? stdout : stderr);
        return a->help ? 0 : 2;
    }
    /* A CLI command prints its answer; its log says only what went wrong,
     * unless the operator asked for more (--debug, --LogLevel). */
    if ((a->command != NULL || (a->mode && strcmp(a->mode, "http") != 0)) &&
        !has_flag(a, "LogLevel"))
        orc_log_min_level = ORC_LOG_WARNING;
    orc_config_init(&cfg);
    rc = load_config(a, &cfg, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "orchestrator: %s\n", err);
        orc_config_release(&cfg);
        return 1;
    }
    if (a->dump_config) {
        struct orc_buf out = ORC_BUF_INIT;
        orc_config_dump(&cfg, &out);
        fputs(orc_buf_str(&out), stdout);
        orc_buf_release(&out);
        rc = 0;
    } else if (a->mode != NULL && strcmp(a->mode, "http") != 0) {
        rc = orc_import_run(&cfg, a->nrest, a->rest);
    } else if (a->mode != NULL) {
        struct orc_node_loader loader = {reload_config, a};
        rc = orc_node_run(&cfg, a->config_file, &loader);
    } else {
        rc = orc_client_run(&cfg, a->command, a->nrest, a->rest);
    }
    orc_config_release(&cfg);
    return rc;
}

/* The service keeps a connection per instance: take every descriptor the
 * hard limit allows (systemd and shells often start at a soft 1,024). */
static void raise_nofile(void)
{
    struct rlimit r;

    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &r);
    }
}

int main(int argc, char **argv)
{
    struct args a;
    int rc;

    /* A few long-lived threads: two malloc arenas keep the resident set small
     * without contention worth measuring. */
    mallopt(M_ARENA_MAX, 2);
    /* Topology snapshots are arrays of megabytes (4.6 KB per instance) made
     * and dropped many times a second by several threads. A fixed threshold
     * keeps them in their own mappings, returned at free; glibc's sliding
     * one moves up to 32 MB and leaves them as fragments in the arenas
     * (measured at 5,000 instances: RSS 369 MB -> 236 MB). */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    raise_nofile();
    memset(&a, 0, sizeof(a));
    if (parse_args(&a, argc, argv) != 0) {
        fputs("orchestrator: out of memory\n", stderr);
        return 1;
    }
    rc = run(&a);
    free_args(&a);
    return rc;
}
