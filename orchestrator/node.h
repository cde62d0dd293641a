/*
 * orchestrator: the top layer. Wires config, backend, discovery, HTTP and
 * recovery together into the service (node.c), and runs client commands
 * against a service's HTTP API (client.c).
 */
#ifndef ORC_NODE_H
#define ORC_NODE_H

#include <stdio.h>

#include "common/config.h"

/* Runs the service in the foreground until SIGTERM/SIGINT. Returns the
 * process exit code (0 on a clean stop). cfg is borrowed for the whole run. */
int orc_node_run(const struct orc_config *cfg, const char *config_file);

/* Runs one CLI command against the API (ORCHESTRATOR_API, else the config's
 * ListenAddress). argv holds the command's own options (-i, -d, -a, ...).
 * Returns the process exit code. */
int orc_client_run(const struct orc_config *cfg, const char *command, int argc, char **argv);

/* Prints help for one command; returns 0, or 2 for an unknown command. */
int orc_client_help(const char *command, FILE *out);

#endif
