/*
 * discovery: probing MySQL/MariaDB instances and modelling the topology.
 *
 * This is the module's one public header. It declares:
 *   - struct disc_instance: the in-memory record of one probed instance that
 *     every other module (topology, HTTP JSON, analysis, recovery, backend)
 *     reads. Flat and copyable: short text lives in fixed arrays, only
 *     unbounded things (GTID sets, error texts, the replica list) are on the
 *     heap, handled by disc_instance_init/_release/_copy.
 *   - the MySQL operations seam (struct disc_rs, struct disc_conn_ops) so the
 *     probe runs against a real server (libmariadb) or a recorded fake;
 *   - per-flavor statements (flavor.c), pure parsers (parse.c) and the probe
 *     itself (probe.c);
 *   - the live topology (topo.c, pool.c, snap.c, store.c): polling, crawl,
 *     persistence and snapshots with clusters computed.
 *
 * Threads: nothing here keeps global state. A struct disc_instance and a
 * struct disc_conn belong to one thread at a time; exchange copies.
 */
#ifndef ORC_DISC_H
#define ORC_DISC_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/orc.h"

/* ------------------------------------------------------------------------
 * Flavors and versions
 * ------------------------------------------------------------------------ */

enum disc_flavor {
    DISC_FLAVOR_UNKNOWN = 0,
    DISC_FLAVOR_MYSQL,
    DISC_FLAVOR_MARIADB,
    DISC_FLAVOR_PERCONA, /* behaves as MySQL of the same version */
};

#define DISC_UUID_MAX 64     /* "3e11fa47-71ca-11e1-9e33-c80aa9429562" */
#define DISC_VERSION_MAX 128 /* "10.11.6-MariaDB-0+deb12u1-log" */
#define DISC_TEXT_MAX 256    /* version_comment, aliases, cluster names */
#define DISC_FILE_MAX 256    /* binlog / relay log file names */
#define DISC_NAME_MAX 128    /* data center, region, environment */
#define DISC_SHORT_MAX 32    /* "ROW", "FULL", "ON_PERMISSIVE", "Connecting" */

/* Limits on what one server can make us hold or do (docs/security.md). */
#define DISC_MAX_REPLICAS 1000       /* replicas kept per instance; the rest are ignored */
#define DISC_RS_MAX_ROWS 100000      /* rows of one result set; more is an error */
#define DISC_PROBE_DEADLINE_MS 30000 /* all statements of one probe; then it fails */
#define DISC_MAX_DEPTH 128           /* replication depth walked when drawing a topology */
#define DISC_ANCESTRY_MAX 16         /* masters' server_ids kept for the MariaDB errant check */

/* A server version as the statements need it. */
struct disc_version {
    enum disc_flavor flavor;
    int major, minor, patch;
};

/* Parses a version string ("8.0.36", "5.7.44-log", "10.11.6-MariaDB-0+deb12u1",
 * "5.5.5-10.11.6-MariaDB") and an optional version_comment (may be NULL;
 * "Percona Server (GPL), ..." marks Percona) into *out. Returns 0 or
 * ORC_EINVAL when no major.minor could be read (then *out is UNKNOWN 0.0.0). */
int disc_version_parse(const char *version, const char *comment, struct disc_version *out);
/* "MySQL", "MariaDB", "Percona" or "unknown": orchestrator's FlavorName. Static. */
const char *disc_flavor_name(enum disc_flavor f);
/* True when v >= major.minor.patch (flavor not compared). */
bool disc_version_at_least(const struct disc_version *v, int major, int minor, int patch);
/* True for MySQL or Percona (Oracle GTID, super_read_only, server_uuid). */
bool disc_version_is_mysql(const struct disc_version *v);

/* ------------------------------------------------------------------------
 * The instance record
 * ------------------------------------------------------------------------ */

/* Replication thread state, as orchestrator's ReplicationThreadState. */
enum disc_thread_state {
    DISC_THREAD_NONE = -1,   /* no replica status row: not a replica */
    DISC_THREAD_STOPPED = 0, /* "No" */
    DISC_THREAD_RUNNING = 1, /* "Yes" */
    DISC_THREAD_OTHER = 2,   /* "Connecting", "Preparing" or anything else */
};

enum disc_coords_type { DISC_COORDS_BINLOG = 0, DISC_COORDS_RELAYLOG = 1 };

/* orchestrator's BinlogCoordinates {LogFile, LogPos, Type}. */
struct disc_coords {
    char file[DISC_FILE_MAX]; /* "" when unknown */
    int64_t pos;
    int type; /* enum disc_coords_type */
};

/* sql.NullInt64. */
struct disc_nullint {
    int64_t value;
    bool valid;
};

/* A growable array of keys. Owned by the struct that holds it. */
struct disc_keylist {
    struct orc_key *keys;
    size_t len;
    size_t cap;
};

/*
 * One instance as the probe saw it, plus the fields the topology model
 * fills. Heap pointers are NULL or NUL-terminated strings owned by the
 * record; readers treat NULL as "". Never memcpy one record into another
 * (the heap parts would be shared): use disc_instance_copy.
 */
struct disc_instance {
    /* ---- identity (probe) ---- */
    struct orc_key key;                 /* the key it was probed as */
    char hostname[ORC_HOST_MAX];        /* @@hostname */
    char report_host[ORC_HOST_MAX];     /* @@report_host, "" when unset */
    char instance_alias[DISC_TEXT_MAX]; /* DetectInstanceAliasQuery */
    int64_t uptime;                     /* seconds, status Uptime */
    int64_t server_id;
    char server_uuid[DISC_UUID_MAX]; /* MySQL only; "" on MariaDB */
    char version[DISC_VERSION_MAX];
    char version_comment[DISC_TEXT_MAX];
    struct disc_version ver; /* flavor and major/minor/patch from version */
    bool read_only;
    bool super_read_only; /* MySQL/Percona only */

    /* ---- binary logs (probe) ---- */
    bool log_bin;
    bool log_replica_updates;              /* log_slave_updates / log_replica_updates */
    char binlog_format[DISC_SHORT_MAX];    /* "ROW", "STATEMENT", "MIXED" */
    char binlog_row_image[DISC_SHORT_MAX]; /* "FULL", "MINIMAL", "NOBLOB" */
    struct disc_coords self_coords;        /* SHOW MASTER STATUS; "" when no binlog */

    /* ---- master (probe, from replica status) ---- */
    struct orc_key master_key; /* host "" / port 0 when not a replica */
    char master_uuid[DISC_UUID_MAX];
    int64_t master_server_id;
    bool is_detached_master; /* master host starts with "//" */
    bool is_detached;        /* exec coordinates file starts with "//" */

    /* ---- replication threads (probe) ---- */
    int io_state;                          /* enum disc_thread_state */
    int sql_state;                         /* enum disc_thread_state */
    char io_running_text[DISC_SHORT_MAX];  /* Slave_IO_Running: "Yes", "Connecting" */
    char sql_running_text[DISC_SHORT_MAX]; /* Slave_SQL_Running */
    struct disc_coords read_coords;        /* Master_Log_File / Read_Master_Log_Pos */
    struct disc_coords exec_coords;        /* Relay_Master_Log_File / Exec_Master_Log_Pos */
    struct disc_coords relay_coords;       /* Relay_Log_File / Relay_Log_Pos (type relay) */
    char *last_io_error;                   /* heap; NULL = "" */
    char *last_sql_error;                  /* heap; NULL = "" */
    int last_io_errno;
    int last_sql_errno;
    struct disc_nullint seconds_behind_master; /* NULL -> !valid, negative -> 0 */
    struct disc_nullint
        replication_lag_seconds; /* = seconds_behind_master, or ReplicationLagQuery */
    int64_t sql_delay;
    bool has_replication_filters;     /* any of the six Replicate_*_DB/_Table set */
    bool has_replication_credentials; /* Master_User != "" */
    bool allow_tls;                   /* Master_SSL_Allowed = Yes */

    /* ---- GTID (probe) ---- */
    bool supports_oracle_gtid;               /* MySQL with gtid_mode ON or ON_PERMISSIVE */
    bool using_oracle_gtid;                  /* Auto_Position = 1 */
    bool using_mariadb_gtid;                 /* Using_Gtid != No */
    char mariadb_using_gtid[DISC_SHORT_MAX]; /* "Slave_Pos", "Current_Pos", "No", "" */
    char gtid_mode[DISC_SHORT_MAX];          /* MySQL @@gtid_mode; "" on MariaDB */
    char *executed_gtid_set;                 /* heap: MySQL @@gtid_executed (newlines removed);
                                              * MariaDB @@gtid_binlog_state */
    char *gtid_purged;                       /* heap: MySQL @@gtid_purged */
    char *retrieved_gtid_set;                /* heap: Retrieved_Gtid_Set of the replica status */
    char *gtid_current_pos;                  /* heap: MariaDB @@gtid_current_pos */
    char *gtid_slave_pos;                    /* heap: MariaDB @@gtid_slave_pos */
    char *gtid_binlog_pos;                   /* heap: MariaDB @@gtid_binlog_pos */
    char *gtid_io_pos;                       /* heap: MariaDB Gtid_IO_Pos of the replica status */
    bool gtid_strict_mode;                   /* MariaDB */
    /* heap: computed by the topology after each probe against the master's
     * last reading (disc_gtid_errant), never by the probe: MySQL a GTID set,
     * MariaDB the errant binlog state entries "D-S-N,..." */
    char *gtid_errant;

    /* ---- semi-sync (probe) ---- */
    bool semi_sync_available; /* any rpl_semi_sync_* variable exists */
    bool semi_sync_master_enabled;
    bool semi_sync_replica_enabled;
    int64_t semi_sync_master_timeout; /* ms */
    int64_t semi_sync_master_wait_for_replica_count;
    bool semi_sync_master_status;
    int64_t semi_sync_master_clients;
    bool semi_sync_replica_status;
    int64_t semi_sync_priority; /* DetectSemiSyncEnforcedQuery; 0 when unset */

    /* ---- replicas (probe) ---- */
    struct disc_keylist replicas;

    /* ---- placement and names (probe: patterns and Detect* queries) ---- */
    char data_center[DISC_NAME_MAX];
    char region[DISC_NAME_MAX];
    char physical_environment[DISC_NAME_MAX];
    char suggested_cluster_alias[DISC_TEXT_MAX]; /* DetectClusterAliasQuery */
    char promotion_rule[DISC_SHORT_MAX];         /* DetectPromotionRuleQuery, "" when unset */

    /* ---- probe outcome ---- */
    int64_t last_discovery_latency_us; /* wall time of the last probe */
    /* The mandatory variables were read (true after a full success too, as
     * orchestrator writes it; on failure it tells "reachable but broken"). */
    bool last_check_partial_success;

    /* ---- filled by the topology model, never by the probe ---- */
    char cluster_name[ORC_KEY_STRLEN];
    /* DetectClusterDomainQuery: the probe runs it on an instance that
     * replicates from nobody; the topology gives every member its root's. */
    char cluster_domain[DISC_TEXT_MAX];
    int replication_depth;
    bool is_co_master;
    char *ancestry_uuid; /* heap: comma-separated server uuids, master first */
    /* MariaDB's ancestry: the server_ids of the masters above it, nearest
     * first (set with gtid_errant; at most DISC_ANCESTRY_MAX are kept). */
    int64_t ancestry_ids[DISC_ANCESTRY_MAX];
    int nancestry_ids;
    int64_t last_checked_ms;         /* wall clock, 0 = never */
    int64_t last_seen_ms;            /* wall clock of the last successful probe */
    int64_t last_attempted_check_ms; /* wall clock */
    bool is_candidate;
    bool is_downtimed;
};

/* Zeroes the record and sets the "unknown" values (thread states NONE,
 * relay coordinates typed RELAYLOG). */
void disc_instance_init(struct disc_instance *in);
/* Frees the heap parts and re-initialises the record. */
void disc_instance_release(struct disc_instance *in);
/* Deep copy: releases dst's previous contents, then copies src. dst must be
 * initialised. Returns 0 or ORC_ENOMEM (dst is then initialised and empty). */
int disc_instance_copy(struct disc_instance *dst, const struct disc_instance *src);
/* Replaces a heap string field (e.g. &in->last_io_error) with a copy of s
 * (NULL or "" leave it NULL). Returns 0 or ORC_ENOMEM. */
int disc_instance_set_str(char **field, const char *s);
/* The string or "" for NULL. */
const char *disc_str(const char *s);
/* True when both threads run (orchestrator's IsReplicating). */
bool disc_instance_replicating(const struct disc_instance *in);
/* True when the record describes a replica (a replica status row exists). */
bool disc_instance_is_replica(const struct disc_instance *in);

/* Appends a copy of k (duplicates are ignored). Returns 0 or ORC_ENOMEM. */
int disc_keylist_add(struct disc_keylist *l, const struct orc_key *k);
bool disc_keylist_contains(const struct disc_keylist *l, const struct orc_key *k);
void disc_keylist_release(struct disc_keylist *l);
int disc_keylist_copy(struct disc_keylist *dst, const struct disc_keylist *src);

/* ------------------------------------------------------------------------
 * Result sets and the MySQL operations seam
 * ------------------------------------------------------------------------ */

/* A whole result set: column names and rows of nullable text values. */
struct disc_rs_block;
struct disc_rs {
    size_t ncols;
    char **cols; /* ncols names */
    size_t nrows;
    char **cells; /* nrows * ncols values, row-major; NULL = SQL NULL */
    size_t cap_rows;
    struct disc_rs_block *blocks; /* where the names and values are stored (rs.c) */
};

/* A new empty result set with these columns. Caller frees with disc_rs_free. */
struct disc_rs *disc_rs_new(size_t ncols, const char *const *cols);
/* Appends a row of ncols values (copied; NULL entries stay NULL). */
int disc_rs_add_row(struct disc_rs *rs, const char *const *values);
void disc_rs_free(struct disc_rs *rs);
/* Column index by name (case-insensitive), or -1. */
int disc_rs_col(const struct disc_rs *rs, const char *name);
/* Value at row/col; NULL for SQL NULL or out of range. Borrowed. */
const char *disc_rs_get(const struct disc_rs *rs, size_t row, int col);
/* Value by column name; NULL when NULL or when the column is missing. */
const char *disc_rs_value(const struct disc_rs *rs, size_t row, const char *name);
/*
 * Parses the recorded text form used by tests (one file per statement):
 *   # comment lines
 *   *** (a line starting with "***" opens a row, as the client's \G output)
 *   Column_Name: value       (one per line; leading blanks ignored)
 * Values use \n \t \r \\ escapes and "\N" alone stands for SQL NULL; the text
 * after ": " runs to the end of the line ("Name:" alone is ""). A file with
 * no rows may list its columns as "columns: a,b,c". A file whose first
 * non-comment line is "!error <errno> <message>" stands for a failing
 * statement: returns ORC_EMYSQL with the message. Caller frees *out.
 */
int disc_rs_parse_text(const char *text, struct disc_rs **out, char *errmsg, size_t len);
/* Appends rs in that text form (what disc_rs_parse_text reads back). */
int disc_rs_format_text(const struct disc_rs *rs, struct orc_buf *out);

/*
 * How the probe talks to a server. conn is the implementation's handle.
 *  query:  runs one statement. On success *out is a result set the caller
 *          frees (0 columns and 0 rows for statements without one). Returns
 *          0, ORC_EMYSQL (the server rejected the statement; errmsg holds
 *          "error <errno>: <text>"), ORC_EIO (connection failed or dropped),
 *          ORC_ETIMEDOUT or ORC_EPERM (login refused).
 *  server_version: the version from the handshake, or NULL when unknown
 *          (then the probe asks the server). Optional (may be NULL).
 *  query_batch: runs n read statements in one round trip, in order, and
 *          stops at the first that fails. For each i, rcs[i] is 0 (outs[i]
 *          holds its result set, the caller's to free), the code of the
 *          failing statement (its message in errmsg), or ORC_ESTATE for the
 *          statements after it, which did not run (outs[i] NULL). Returns 0,
 *          or a connection error when the batch could not run at all.
 *          Optional (may be NULL): the probe then sends one at a time.
 */
struct disc_conn_ops {
    int (*query)(void *conn, const char *sql, struct disc_rs **out, char *errmsg, size_t len);
    const char *(*server_version)(void *conn);
    int (*query_batch)(void *conn,
                       const char *const *sql,
                       size_t n,
                       struct disc_rs **outs,
                       int *rcs,
                       char *errmsg,
                       size_t len);
};

/* Connection settings. Strings are borrowed during disc_conn_open, which copies them. */
struct disc_conn_options {
    const char *user;
    const char *password;  /* never logged */
    int connect_timeout_s; /* MYSQL_OPT_CONNECT_TIMEOUT; <= 0 means 1 */
    int read_timeout_s;    /* MYSQL_OPT_READ_TIMEOUT; <= 0 means 1 */
    int write_timeout_s;   /* MYSQL_OPT_WRITE_TIMEOUT; <= 0 means 1 */
    /* TLS (MySQLTopology* keys; see disc_conn_options_tls). */
    bool tls_always;      /* every connection uses TLS; a server without it is refused */
    bool tls_fallback;    /* plain text first; TLS again when the server refuses plain text */
    const char *tls_ca;   /* CA bundle (PEM), NULL/"": the system's */
    const char *tls_cert; /* client certificate and key (PEM), NULL/"": none */
    const char *tls_key;
    bool tls_skip_verify; /* encrypt without verifying the server's certificate and name */
};

struct orc_config;
/* Fills the TLS fields of o from MySQLTopologyUseMutualTLS (always TLS),
 * MySQLTopologyUseMixedTLS (fallback), MySQLTopologySSLCAFile/CertFile/
 * PrivateKeyFile and MySQLTopologySSLSkipVerify; strings are borrowed from c. */
void disc_conn_options_tls(struct disc_conn_options *o, const struct orc_config *c);

/* A persistent libmariadb connection to one instance (opaque). It connects
 * lazily on the first query and reconnects when the connection dropped;
 * read statements (SELECT/SHOW) are retried once after a reconnect, others
 * never. One thread at a time. */
struct disc_conn;

/* The libmariadb implementation of the seam; pass a struct disc_conn * as conn. */
extern const struct disc_conn_ops disc_conn_mysql_ops;

/* Calls mysql_library_init; once, before any thread starts. */
int disc_library_init(char *errmsg, size_t len);
void disc_library_end(void);
/* Creates a connection handle for key (no network I/O yet). Caller closes. */
int disc_conn_open(struct disc_conn **out,
                   const struct orc_key *key,
                   const struct disc_conn_options *o,
                   char *errmsg,
                   size_t len);
/* Connects now if not connected (optional: queries connect on demand). */
int disc_conn_connect(struct disc_conn *c, char *errmsg, size_t len);
/* Closes the connection and frees the handle; NULL is fine. */
void disc_conn_close(struct disc_conn *c);
/* True when a server connection is currently established. */
bool disc_conn_connected(const struct disc_conn *c);
/* Between uses: gives the library's read-ahead buffer back (a kept
 * connection costs a few KB instead of ~20 KB while idle). */
void disc_conn_idle(struct disc_conn *c);
/* Closes the server connection, keeping c (the next query connects again). */
void disc_conn_disconnect(struct disc_conn *c);
/* From another thread: cuts the established connection short (its owner's
 * blocked read or write fails at once; the owner still closes it). For a
 * probe past its total deadline. */
void disc_conn_abort(struct disc_conn *c);
/* The socket of the established connection, or -1. For watching an idle
 * connection (the server closing it means it went away); never read it. */
int disc_conn_fd(const struct disc_conn *c);

/* ------------------------------------------------------------------------
 * Statements per flavor (flavor.c). Static strings are borrowed.
 * ------------------------------------------------------------------------ */

enum disc_sql {
    DISC_SQL_REPLICA_STATUS,       /* SHOW SLAVE STATUS / SHOW REPLICA STATUS */
    DISC_SQL_REPLICA_HOSTS,        /* SHOW SLAVE HOSTS / SHOW REPLICAS */
    DISC_SQL_MASTER_STATUS,        /* SHOW MASTER STATUS / SHOW BINARY LOG STATUS */
    DISC_SQL_PROCESSLIST_REPLICAS, /* hosts of binlog dump threads */
    DISC_SQL_SEMI_SYNC_VARIABLES,  /* SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync_%' */
    DISC_SQL_STATUS,               /* Uptime and semi-sync status variables */
    DISC_SQL_STOP_REPLICA,
    DISC_SQL_START_REPLICA,
    DISC_SQL_STOP_REPLICA_IO,
    DISC_SQL_START_REPLICA_IO,
    DISC_SQL_STOP_REPLICA_SQL,
    DISC_SQL_START_REPLICA_SQL,
    DISC_SQL_RESET_REPLICA_ALL,
    DISC_SQL_READ_ONLY_ON,
    DISC_SQL_READ_ONLY_OFF,
    DISC_SQL_SUPER_READ_ONLY_ON,  /* NULL on MariaDB */
    DISC_SQL_SUPER_READ_ONLY_OFF, /* NULL on MariaDB */
    DISC_SQL_COUNT_
};

/* The statement for v, or NULL when the flavor has none. Static. */
const char *disc_flavor_sql(const struct disc_version *v, enum disc_sql which);
/* Name of the log-replica-updates variable for v ("log_slave_updates" or
 * "log_replica_updates"). Static. */
const char *disc_flavor_log_replica_updates_var(const struct disc_version *v);
/* Appends to out the single SELECT that reads every variable the probe needs
 * for v, with stable column aliases (see parse.c). */
int disc_flavor_variables_sql(const struct disc_version *v, struct orc_buf *out);

/* Appends s to out as a quoted SQL string literal ('...' with \\ \' \0 \n
 * \r \Z escaped). Valid when the session does not use NO_BACKSLASH_ESCAPES
 * (disc_conn clears it on connect). Returns 0 or ORC_ENOMEM. */
int disc_sql_quote(struct orc_buf *out, const char *s);

/* Parameters of a CHANGE MASTER / CHANGE REPLICATION SOURCE statement.
 * Borrowed strings; NULL user/password leave the current credentials. */
struct disc_change_master {
    const char *host;
    int port;
    const char *user;
    const char *password;
    bool use_gtid;        /* MASTER_AUTO_POSITION=1 / MASTER_USE_GTID=slave_pos */
    const char *log_file; /* without GTID: coordinates (optional) */
    int64_t log_pos;
};

/* "CHANGE MASTER TO" (prefix "MASTER") or, on MySQL 8.0.23+, "CHANGE
 * REPLICATION SOURCE TO" (prefix "SOURCE"), for statements that change one
 * option (MASTER_DELAY, ...). Static strings. */
const char *disc_flavor_change_master_words(const struct disc_version *v, const char **prefix);
/* Appends the statement to out. Returns 0, ORC_EINVAL (no host, bad port,
 * coordinates with use_gtid) or ORC_ENOMEM. The text contains the password:
 * never log it. */
int disc_flavor_change_master_sql(const struct disc_version *v,
                                  const struct disc_change_master *cm,
                                  struct orc_buf *out,
                                  char *errmsg,
                                  size_t len);

/* ------------------------------------------------------------------------
 * Pure parsers (parse.c): result set -> instance fields
 * ------------------------------------------------------------------------ */

/* Values read from a server are checked at the door: a host name (report
 * host, master host, replica host) is 1..255 bytes of [A-Za-z0-9._:%[]/-]
 * (no comma, space or quote: it cannot forge a list entry or a shell word);
 * a label (cluster or instance alias, data center, region, environment,
 * promotion rule, cluster domain) is 1..max-1 bytes of [A-Za-z0-9._:@+=/-].
 * Refused values are dropped (+probe-value-refused). */
bool disc_valid_host(const char *s);
bool disc_valid_label(const char *s, size_t max);
/* Logs +probe-value-refused (field, length and reason, never the value): at
 * most one line every 10 s per process, the others counted. Any thread. */
void disc_log_refused(const char *field, size_t len, const char *why);

/* "Yes" -> RUNNING, "No" -> STOPPED, anything else -> OTHER (NULL -> OTHER). */
int disc_parse_thread_state(const char *s);
/* Reads the variables SELECT (disc_flavor_variables_sql). Mandatory columns
 * missing or malformed -> ORC_EINVAL. Sets version, flavor, ids, flags, GTID. */
int disc_parse_variables(const struct disc_rs *rs,
                         struct disc_instance *in,
                         char *errmsg,
                         size_t len);
/* Reads SHOW SLAVE/REPLICA STATUS (either naming). No row -> states NONE and
 * the replica fields cleared. Returns 0, ORC_ENOMEM or ORC_EINVAL. */
int disc_parse_replica_status(const struct disc_rs *rs,
                              struct disc_instance *in,
                              char *errmsg,
                              size_t len);
/* Reads SHOW MASTER STATUS / SHOW BINARY LOG STATUS into self_coords. */
int disc_parse_master_status(const struct disc_rs *rs,
                             struct disc_instance *in,
                             char *errmsg,
                             size_t len);
/* Reads SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync_%' (master/source,
 * slave/replica names). */
int disc_parse_semi_sync_variables(const struct disc_rs *rs, struct disc_instance *in);
/* Reads the status rows (Variable_name, Value): Uptime and semi-sync status. */
int disc_parse_status(const struct disc_rs *rs, struct disc_instance *in);
/* Adds Host:Port of SHOW SLAVE HOSTS / SHOW REPLICAS rows (empty hosts skipped)
 * to the list. Returns 0, ORC_ENOMEM or ORC_EINVAL. */
int disc_parse_replica_hosts(const struct disc_rs *rs,
                             struct disc_keylist *out,
                             char *errmsg,
                             size_t len);
/* Adds the processlist hosts (first column), each with port. */
int disc_parse_processlist_hosts(const struct disc_rs *rs,
                                 int port,
                                 struct disc_keylist *out,
                                 char *errmsg,
                                 size_t len);
/* Applies a compiled one-group regex to host: copies the group into out
 * (size n). No match leaves out unchanged. Returns true on a match. */
bool disc_parse_pattern(const regex_t *re, const char *host, char *out, size_t n);

/* ------------------------------------------------------------------------
 * GTID sets and errant transactions (gtid.c): pure
 *
 * Parsers are strict (digits, hex uuids, tags, commas, spaces/newlines
 * around commas; anything else is ORC_EINVAL) and the text they give back is
 * printed from the parsed numbers: the only way a GTID string read from a
 * server may reach a statement.
 * ------------------------------------------------------------------------ */

/* A MariaDB GTID domain-server_id-seq_no. */
struct disc_mgtid {
    uint32_t domain;
    uint32_t server_id;
    uint64_t seq;
};
struct disc_mgtid_list {
    struct disc_mgtid *v;
    size_t n, cap;
};
/* Parses "D-S-N[,D-S-N...]" ("" and NULL give an empty list). Release
 * with disc_mgtid_list_release (also after an error: it is then empty). */
int disc_mgtid_parse(const char *s, struct disc_mgtid_list *out);
void disc_mgtid_list_release(struct disc_mgtid_list *l);
/* Appends g to l (grown as needed). Returns 0 or ORC_ENOMEM. */
int disc_mgtid_add(struct disc_mgtid_list *l, const struct disc_mgtid *g);
/* Appends "D-S-N,..." (in list order) to out. */
int disc_mgtid_format(const struct disc_mgtid_list *l, struct orc_buf *out);
/* The highest seq_no of domain in l, 0 when none. */
uint64_t disc_mgtid_domain_max(const struct disc_mgtid_list *l, uint32_t domain);
/*
 * MariaDB errant transactions: the entries (domain, server_id, seq_no) of
 * the replica's gtid_binlog_state whose server_id is not excluded (the
 * master's and its ancestors': the replica may have been read after them)
 * and that the master does not hold: its gtid_binlog_state and
 * gtid_slave_pos have no entry for that (domain, server_id) with a seq_no
 * at least as high. A former master attached below the new one holds its
 * own server_id's transactions; they are not errant as long as the new
 * master holds them too. *out gets the errant entries (empty when none).
 */
int disc_mgtid_errant(const char *replica_state,
                      const char *master_state,
                      const char *master_slave_pos,
                      const int64_t *exclude_ids,
                      size_t nexclude,
                      struct disc_mgtid_list *out);

/* A MySQL GTID set: per "uuid" or "uuid:tag", sorted merged intervals. */
#define DISC_GTID_KEY_MAX 80
struct disc_ogtid_iv {
    int64_t lo, hi; /* inclusive, 1 <= lo <= hi */
};
struct disc_ogtid_uuid {
    char key[DISC_GTID_KEY_MAX]; /* lowercase "uuid" or "uuid:tag" */
    struct disc_ogtid_iv *iv;
    size_t n, cap;
};
struct disc_ogtid_set {
    struct disc_ogtid_uuid *u; /* sorted by key */
    size_t n, cap;
};
/* Parses "uuid:1-5:7,uuid2[:tag]:3" (MySQL's text, newlines allowed after
 * commas). "" and NULL give an empty set. Release with disc_ogtid_release. */
int disc_ogtid_parse(const char *s, struct disc_ogtid_set *out);
void disc_ogtid_release(struct disc_ogtid_set *s);
/* Appends the normalised text ("" for the empty set). */
int disc_ogtid_format(const struct disc_ogtid_set *s, struct orc_buf *out);
/* a -= b. */
int disc_ogtid_subtract(struct disc_ogtid_set *a, const struct disc_ogtid_set *b);
/* Drops every entry of uuid (with any tag). */
void disc_ogtid_remove_uuid(struct disc_ogtid_set *s, const char *uuid);
/* Number of transactions in s. */
int64_t disc_ogtid_count(const struct disc_ogtid_set *s);
/*
 * orchestrator's errant GTID for MySQL: (executed minus the ancestors'
 * uuids, its own kept unless co_master) minus (the master's executed minus
 * the master's uuid). ancestry is "uuid,uuid,..." (may be NULL). Appends
 * the normalised set to out ("" when none).
 */
int disc_ogtid_errant(const char *executed,
                      const char *own_uuid,
                      const char *ancestry,
                      bool co_master,
                      const char *master_executed,
                      const char *master_uuid,
                      struct orc_buf *out);

/* What the errant check needs of a master (copied from its last reading). */
struct disc_errant_master {
    struct disc_version ver;
    int64_t server_id;
    char server_uuid[DISC_UUID_MAX];
    const char *executed;  /* MySQL gtid_executed / MariaDB gtid_binlog_state */
    const char *slave_pos; /* MariaDB gtid_slave_pos */
    const char *ancestry_uuid;
    const int64_t *ancestry_ids;
    int nancestry_ids;
    bool master_is_self; /* co-masters: the master replicates from this instance */
};
/* Fills in->gtid_errant, in->ancestry_uuid and in->ancestry_ids from the
 * instance's own reading and its master's (NULL: no master known, which
 * clears them). Unparsable sets leave gtid_errant empty and return
 * ORC_EINVAL. Returns 0, ORC_EINVAL or ORC_ENOMEM. */
int disc_gtid_errant(struct disc_instance *in, const struct disc_errant_master *m);

/* ------------------------------------------------------------------------
 * The probe (probe.c)
 * ------------------------------------------------------------------------ */

/* Probe settings: orchestrator's config keys. Strings are borrowed and must
 * outlive the options. Prepare once with disc_probe_options_prepare. */
struct disc_probe_options {
    const char *data_center_pattern;               /* DataCenterPattern */
    const char *region_pattern;                    /* RegionPattern */
    const char *physical_environment_pattern;      /* PhysicalEnvironmentPattern */
    const char *detect_data_center_query;          /* DetectDataCenterQuery */
    const char *detect_region_query;               /* DetectRegionQuery */
    const char *detect_physical_environment_query; /* DetectPhysicalEnvironmentQuery */
    const char *detect_cluster_alias_query;        /* DetectClusterAliasQuery */
    const char *detect_cluster_domain_query;       /* DetectClusterDomainQuery (top masters) */
    const char *detect_instance_alias_query;       /* DetectInstanceAliasQuery */
    const char *detect_promotion_rule_query;       /* DetectPromotionRuleQuery */
    const char *detect_semi_sync_enforced_query;   /* DetectSemiSyncEnforcedQuery */
    const char *replication_lag_query;             /* ReplicationLagQuery */
    bool discover_by_show_slave_hosts;             /* DiscoverByShowSlaveHosts */

    /* compiled patterns, set by disc_probe_options_prepare */
    regex_t dc_re, region_re, env_re;
    bool dc_re_set, region_re_set, env_re_set;
};

/* Compiles the patterns (POSIX extended). Returns 0 or ORC_ECONFIG with the
 * bad pattern named in errmsg. Release with disc_probe_options_release. */
int disc_probe_options_prepare(struct disc_probe_options *o, char *errmsg, size_t len);
void disc_probe_options_release(struct disc_probe_options *o);

/*
 * Probes one instance over conn (every statement on that one connection)
 * and fills *out (initialised by the caller; previous contents released).
 * Returns 0 when the instance was read (optional steps may have failed and
 * are logged), or a negative code with errmsg set. Either way
 * out->last_check_partial_success says whether the mandatory variables
 * were read, and out->last_discovery_latency_us is set. Must not run on
 * the loop thread (blocking I/O).
 */
int disc_probe_run(const struct disc_conn_ops *ops,
                   void *conn,
                   const struct disc_probe_options *o,
                   const struct orc_key *key,
                   struct disc_instance *out,
                   char *errmsg,
                   size_t len);

/* ------------------------------------------------------------------------
 * The live topology (topo.c, pool.c, snap.c, store.c)
 *
 * topo: the live topology. Holds every known instance, polls each one every
 * InstancePollSeconds from a pool of worker threads, crawls new masters and
 * replicas, persists what it sees to the backend in batches, and hands
 * readers immutable snapshots with clusters computed (name, depth,
 * co-masters, alias) and operator annotations (downtime, maintenance,
 * promotion rules) applied.
 *
 * Threads: the scheduler, the workers, the watcher and the writer are
 * internal. Every public function is thread-safe. A snapshot is immutable and
 * reference counted: readers hold it as long as they like.
 * ------------------------------------------------------------------------ */

struct be;
struct disc_topo;

struct disc_topo_options {
    struct be *be;                          /* persistence; may be NULL (tests) */
    const struct disc_probe_options *probe; /* prepared; borrowed */
    struct disc_conn_options conn;          /* topology credentials and timeouts */
    int64_t poll_ms;                        /* InstancePollSeconds * 1000 */
    int64_t reasonable_check_ms;            /* ReasonableInstanceCheckSeconds * 1000 */
    int workers;                            /* max worker threads */
    int64_t forget_unseen_s;                /* UnseenInstanceForgetHours * 3600; 0 = never */
    int64_t reasonable_lag_s;               /* ReasonableReplicationLagSeconds */
    int64_t flush_ms;                       /* batch window of backend writes */
    int default_port;                       /* DefaultInstancePort */
    /* DiscoveryIgnore*HostnameFilters: regexes on "host:port" (borrowed). */
    const char *const *ignore;
    size_t nignore;
    const char *const *ignore_replica;
    size_t nignore_replica;
    const char *const *ignore_master;
    size_t nignore_master;
    /* ClusterNameToAlias: regex -> alias (borrowed). */
    const char *const *alias_re;
    const char *const *alias_val;
    size_t nalias;
    /* Called (from a worker thread) after each probe whose outcome changed
     * the topology in a way analysis cares about; may be NULL. */
    void (*on_change)(void *arg, const struct orc_key *key, bool probe_ok);
    void *on_change_arg;
};

int disc_topo_new(const struct disc_topo_options *o,
                  struct disc_topo **out,
                  char *errmsg,
                  size_t len);
/* Loads the instances the backend knows and starts the threads. */
int disc_topo_start(struct disc_topo *t, char *errmsg, size_t len);
/* Stops the threads (bounded by the probe timeouts), flushes pending writes. */
void disc_topo_stop(struct disc_topo *t);
void disc_topo_free(struct disc_topo *t);

/* Adds key (if new) and probes it now on the calling thread when wait is
 * true (then *out, if not NULL, receives a copy of the result); otherwise
 * queues it. The crawl continues from it in the background. */
int disc_topo_discover(struct disc_topo *t,
                       const struct orc_key *key,
                       bool wait,
                       struct disc_instance *out,
                       char *errmsg,
                       size_t len);
/* Queues a probe of key at the front of the queue (known instances only). */
void disc_topo_probe_soon(struct disc_topo *t, const struct orc_key *key);
/* Forgets an instance (memory and backend); it returns only if discovered
 * again (a replica's master link or a seed). ORC_ENOTFOUND if unknown. */
int disc_topo_forget(struct disc_topo *t, const struct orc_key *key);
/* snapshot-topologies: records in the backend's topology history every
 * stored instance's master, cluster and version now, and drops snapshots
 * older than purge_before (wall seconds). *count: instances recorded. Any
 * thread (a backend write). */
int disc_topo_snapshot_topologies(struct disc_topo *t,
                                  int64_t purge_before,
                                  int64_t *count,
                                  char *errmsg,
                                  size_t len);
/* Forgets every instance of a cluster; returns how many, or ORC_ENOTFOUND. */
int disc_topo_forget_cluster(struct disc_topo *t, const char *cluster);

/* ---- operator annotations (applied by the command layer) ---- */
int disc_topo_set_downtime(struct disc_topo *t,
                           const struct orc_key *key,
                           int64_t until_s,
                           const char *owner,
                           const char *reason);
int disc_topo_end_downtime(struct disc_topo *t, const struct orc_key *key);
/* Maintenance lasts DISC_MAINTENANCE_S unless ended earlier. */
#define DISC_MAINTENANCE_S 600
int disc_topo_set_maintenance(struct disc_topo *t,
                              const struct orc_key *key,
                              bool on,
                              const char *owner,
                              const char *reason);
int disc_topo_set_promotion_rule(struct disc_topo *t,
                                 const struct orc_key *key,
                                 const char *rule,
                                 int64_t until_s);
int disc_topo_set_cluster_alias(struct disc_topo *t, const char *cluster, const char *alias);

/* ---- snapshots ---- */

/* Operator state of one instance, as of the snapshot. */
struct disc_annot {
    bool downtimed;
    int64_t downtime_end_s;
    int64_t downtime_begin_s;
    char downtime_owner[64];
    char downtime_reason[256];
    bool in_maintenance;
    int64_t maintenance_end_s; /* maintenance expires then (10 minutes, as orchestrator) */
    char promotion_rule[16];   /* "" = neutral by default */
};

struct disc_cluster {
    char name[ORC_KEY_STRLEN];
    char alias[DISC_TEXT_MAX];
    char domain[DISC_TEXT_MAX];
    size_t first, count; /* instances[first .. first+count) belong to it */
    int master;          /* index of the master in instances, or -1 */
};

struct disc_snapshot {
    uint64_t version;
    uint64_t health_version; /* changes only when analysis inputs changed */
    int64_t taken_ms;        /* wall clock */
    int64_t poll_ms;
    int64_t reasonable_check_ms;
    int64_t reasonable_lag_s;
    size_t n;
    /* Grouped by cluster, then depth, then key. The records are shared with
     * the live topology and with other snapshots (reference counted, never
     * changed once shared): a snapshot costs a pointer per instance, not a
     * copy of every record. */
    const struct disc_instance *const *instances;
    struct disc_annot *annots; /* parallel to instances */
    size_t nclusters;
    struct disc_cluster *clusters; /* sorted by name */
    /* internal */
    int refs;
    void *index;
};

/* The current snapshot (built if the topology changed). Never NULL once the
 * topology exists. Release with disc_snapshot_put. */
struct disc_snapshot *disc_topo_snapshot(struct disc_topo *t);
/* A snapshot at most max_age_ms old in which nothing analysis reads has
 * changed since (same health_version): the cached one when it qualifies,
 * else a new one. For readers that can live with clocks, positions and lag
 * that old (API reads, metrics, the writer, the recovery loop's idle
 * passes): with thousands of instances every probe changes the topology,
 * and a snapshot per read copies all of them under the topology lock. */
#define DISC_SNAPSHOT_RECENT_MS 2000
struct disc_snapshot *disc_topo_snapshot_recent(struct disc_topo *t, int64_t max_age_ms);
void disc_snapshot_put(struct disc_snapshot *s);
/* Index of key in the snapshot, or -1. */
int disc_snapshot_find(const struct disc_snapshot *s, const struct orc_key *key);
/* Index of the cluster whose name or alias is hint, or -1. */
int disc_snapshot_cluster(const struct disc_snapshot *s, const char *hint);
/* Index of the cluster an instance belongs to, or -1. */
int disc_snapshot_cluster_of(const struct disc_snapshot *s, int instance);

/* IsLastCheckValid, IsUpToDate, IsRecentlyChecked as the reference defines. */
bool disc_snapshot_check_valid(const struct disc_snapshot *s, int i);
bool disc_snapshot_up_to_date(const struct disc_snapshot *s, int i);
bool disc_snapshot_recently_checked(const struct disc_snapshot *s, int i);

/* Counters for /metrics. */
struct disc_topo_stats {
    uint64_t probes, probe_failures, probe_latency_us_sum;
    uint64_t queue_len, workers, instances;
    uint64_t backend_writes, backend_write_errors; /* batches */
    uint64_t backend_rows;                         /* instance rows written */
};
void disc_topo_stats(struct disc_topo *t, struct disc_topo_stats *out);

/* Recent samples (the last DISC_METRICS_RETENTION_S seconds at most, and
 * at most a ring's worth) for orchestrator's *-metrics routes. Every sample
 * starts with its wall-clock ms. */
#define DISC_METRICS_RETENTION_S 120 /* orchestrator's DiscoveryCollectionRetentionSeconds */
struct disc_probe_metric {
    int64_t ts_ms; /* probe start */
    struct orc_key key;
    int64_t instance_us; /* talking to the instance */
    int64_t total_us;    /* the whole probe, applying the result included */
    char err[128];       /* "" on success */
};
struct disc_queue_metric {
    int64_t ts_ms;
    int active; /* workers probing */
    int queued; /* entries waiting in the queue */
};
/* One batched write of probe results to the backend. */
struct disc_write_metric {
    int64_t ts_ms;    /* flush start */
    int64_t wait_us;  /* from the flush start to the write (gathering the rows) */
    int64_t write_us; /* the backend write */
    size_t instances;
    bool ok;
};
/* Copies of the samples of the last `seconds` (oldest first) into *out
 * (caller frees; NULL when none). 0 or ORC_ENOMEM. Thread-safe. */
int disc_topo_probe_metrics(struct disc_topo *t,
                            int64_t seconds,
                            struct disc_probe_metric **out,
                            size_t *n);
int disc_topo_queue_metrics(struct disc_topo *t,
                            int64_t seconds,
                            struct disc_queue_metric **out,
                            size_t *n);
int disc_topo_write_metrics(struct disc_topo *t,
                            int64_t seconds,
                            struct disc_write_metric **out,
                            size_t *n);

#endif
