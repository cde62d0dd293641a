/*
 * client_int: what the CLI's files share: the output kinds of the command
 * table (client.c) and the printer of answers (client_out.c).
 */
#ifndef ORC_CLIENT_INT_H
#define ORC_CLIENT_INT_H

#include <stdbool.h>

/* How the answer is printed. */
enum out_kind {
    OUT_KEY,            /* raw Instance -> Key */
    OUT_MASTER_KEY,     /* raw Instance -> MasterKey (nothing for a master) */
    OUT_KEYS,           /* raw []Instance -> Key per line */
    OUT_KEY_LIST,       /* raw []InstanceKey -> one per line */
    OUT_STRINGS,        /* raw []string -> one per line */
    OUT_CLUSTERS,       /* raw []ClusterInfo -> ClusterName per line */
    OUT_CLUSTERS_ALIAS, /* raw []ClusterInfo -> ClusterName,ClusterAlias */
    OUT_CLUSTER_NAME,   /* raw ClusterInfo -> ClusterName */
    OUT_CLUSTER_ALIAS,  /* raw ClusterInfo -> ClusterAlias */
    OUT_ENV_KEY,        /* envelope -> Details key(s) (Details.Key, a key, []key) */
    OUT_ENV_TEXT,       /* envelope -> Details as text */
    OUT_ENV_MESSAGE,    /* envelope -> Message */
    OUT_ENV_IF_TRUE,    /* envelope -> Details key when Message is "true" */
    OUT_ENV_RELOCATE,   /* envelope -> Details Instance as "Key<MasterKey" */
    OUT_ENV_SUCCESSOR,  /* envelope -> Details.SuccessorKey */
    OUT_GTID_ERRANT,    /* raw Instance -> GtidErrant */
    OUT_IS_REPLICATING, /* raw Instance -> Key when both threads run */
    OUT_IS_STOPPED,     /* raw Instance -> Key when both threads stopped */
    OUT_BROKEN,         /* raw []Instance -> broken replicas' keys */
    OUT_RUNNING,        /* raw []Instance -> keys of those replicating */
    OUT_DOMINANT_DC,    /* raw []Instance -> the most frequent DataCenter */
    OUT_ENV_ECHO,       /* envelope -> Details as `echo $api_details` prints it */
    OUT_ENV_STRINGS,    /* envelope -> Details []string, one per line */
    OUT_ENV_HOSTNAME,   /* envelope -> Details.Hostname */
    OUT_ANALYSIS,       /* envelope -> "key (cluster c): code" lines */
    OUT_ENV_KV,         /* envelope -> Details []KVPair as Key:Value lines */
    OUT_RAW,            /* raw value (or envelope Details) as text */
    OUT_BODY,           /* the body exactly as received */
    OUT_WHICH_API,      /* no request: the API address picked */
};

/* Prints an API answer the way orchestrator-client's jq filters print it
 * for a command of this output kind; returns the exit code. An envelope
 * with Code ERROR fails with its Message on stderr, whatever the HTTP
 * status. api: the API address, for messages. */
int orc_client_print(enum out_kind out, const char *api, const char *body, long status);

#endif
