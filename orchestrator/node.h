/*
 * orchestrator: the top layer. Wires config, backend, discovery, HTTP and
 * recovery together into the service (node.c), re-reads the config while it
 * runs (node_reload.c), and runs client commands against a service's HTTP
 * API (client.c).
 */
#ifndef ORC_NODE_H
#define ORC_NODE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "common/config.h"
#include "common/config_live.h"

/* Loads the config again from the sources used at start (files, environment,
 * flags) into *out (already initialized) and finalizes it. */
struct orc_node_loader {
    int (*load)(void *arg, struct orc_config *out, char *errmsg, size_t len);
    void *arg;
};

/* Runs the service in the foreground until SIGTERM/SIGINT; SIGHUP reloads the
 * config, SIGUSR1 reopens LogFile. Returns the process exit code (0 on a
 * clean stop). cfg and loader (may be NULL: no reload) are borrowed for the
 * whole run. */
int orc_node_run(const struct orc_config *cfg,
                 const char *config_file,
                 const struct orc_node_loader *loader);

/* Runs one CLI command against the API (ORCHESTRATOR_API, else the config's
 * ListenAddress). argv holds the command's own options (-i, -d, -a, ...).
 * Returns the process exit code. */
int orc_client_run(const struct orc_config *cfg, const char *command, int argc, char **argv);

/* POSTs json to route (below /api/) of the API found as for a command (the
 * leader among ORCHESTRATOR_API, else ListenAddress; basic auth from
 * ORCHESTRATOR_AUTH_USER/PASSWORD). answer gets the body, *status the HTTP
 * status. ORC_EIO (answer holds the reason) when no API answers. */
int orc_client_post(const struct orc_config *cfg,
                    const char *route,
                    const char *json,
                    struct orc_buf *answer,
                    long *status);

/* `orchestrator import-orchestrator-backend --from SOURCE [--dry-run]`
 * (import.c): reads a Go orchestrator's backend and sends its operator state
 * to the service. Returns the process exit code. */
int orc_import_run(const struct orc_config *cfg, int argc, char **argv);

/* Prints help for one command; returns 0, or 2 for an unknown command. */
int orc_client_help(const char *command, FILE *out);

/* ---- node_reload.c: live config reload ---- */

/* Thread-safe (one reload at a time, under lock). */
struct orc_reload {
    pthread_mutex_t lock;
    struct orc_config live; /* the config last applied; under lock */
    const struct orc_node_loader *loader;
    bool ready;
};

int orc_reload_init(struct orc_reload *r,
                    const struct orc_config *cfg,
                    const struct orc_node_loader *loader,
                    char *errmsg,
                    size_t len);
void orc_reload_release(struct orc_reload *r);
/* Re-reads the config and applies the changed reloadable keys, whose names
 * are appended to changed; or refuses (ORC_ECONFIG, errmsg names the keys)
 * and changes nothing. why ("SIGHUP", "api") goes to the log. Any thread. */
int orc_reload_run(struct orc_reload *r,
                   const char *why,
                   struct orc_buf *changed,
                   char *errmsg,
                   size_t len);

/* ---- node_rcfg.c: the recovery settings held in the replicated state ---- */

struct be;

/* The node's effective config: its file config with the replicated recovery
 * settings (set-recovery-config) laid over it. Thread-safe. */
struct orc_rcfg {
    const struct orc_config *file; /* borrowed: the config the node runs with */
    struct be *be;                 /* set before the FSM applies anything */
    struct orc_config_live live;   /* the effective config (recovery reads it pinned) */
    pthread_mutex_t lock;
    json_t *rows;         /* under lock: {"Key": {"Value","SetBy","SetAt"}} last read */
    json_t *skipped;      /* under lock: {"Key": true} rows this node could not apply */
    char fingerprint[17]; /* under lock: orc_config_fingerprint of the effective config */
    bool ready;
};

int orc_rcfg_init(struct orc_rcfg *r, const struct orc_config *file, char *errmsg, size_t len);
void orc_rcfg_release(struct orc_rcfg *r);
/* The FSM's on_rcfg callback (arg: the struct orc_rcfg), run by one thread
 * at a time (the applier; at start, before raft runs): reads the
 * replicated values, lays them over the file config and swaps the effective
 * config. A value this node cannot apply (a cross-key rule against its own
 * file) is left out and logged (+recovery-config-skipped). */
void orc_rcfg_refresh(void *arg);
/* The fingerprint of the effective config (len >= 17). */
void orc_rcfg_fingerprint(struct orc_rcfg *r, char *out, size_t len);
/* {"Fingerprint", "Settings": [{"Key", "Value", "Source": "file" |
 * "replicated", "FileValue", "ReplicatedValue", "SetBy", "SetAt"}]}; a new
 * reference, NULL when out of memory. */
json_t *orc_rcfg_status(struct orc_rcfg *r);
/* Checks key=text as set-recovery-config would store it and as this node's
 * effective config would take it; *value (new reference) is the value to
 * submit. ORC_ENOTFOUND: not a recovery key; ORC_EINVAL: a bad value. */
int orc_rcfg_check(struct orc_rcfg *r,
                   const char *key,
                   const char *text,
                   json_t **value,
                   char *errmsg,
                   size_t len);

#endif
