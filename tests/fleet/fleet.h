/*
 * orc-fleet: a MySQL-protocol simulator that plays many MySQL/MariaDB
 * instances on loopback ports, one listening socket each, in one process
 * (or a few forked shards when the fleet needs more file descriptors than
 * one process may have). A test tool, not part of the service.
 *
 * Modules (all single-threaded, run by the epoll loop of loop.c):
 *  - model.c: the instances and their replication state, built from a
 *    topology spec; changed by the statements a failover sends and by the
 *    control endpoint;
 *  - sql.c: answers one statement against the model, per flavor;
 *  - wire.c: MySQL packets (handshake v10, mysql_native_password, OK/ERR,
 *    text result sets);
 *  - loop.c: listeners, connections, delayed replies (latency, trickle);
 *  - control.c: a small HTTP endpoint to kill/hang/revive/lag instances.
 */
#ifndef ORC_FLEET_H
#define ORC_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FLEET_ERRMSG 256
#define FLEET_MAX_FIELDS 96

enum fleet_flavor { FLEET_MARIADB_1011, FLEET_MYSQL_80, FLEET_MYSQL_84 };

enum fleet_state { FLEET_UP, FLEET_KILLED, FLEET_HUNG };

/* One simulated server. Owned by the model; the loop reads port/lfd/state. */
struct fleet_inst {
    int idx;
    int cluster; /* number of its cluster in the spec order (shards split by cluster) */
    int port;
    int lfd; /* listening socket, -1 while killed */
    enum fleet_flavor flavor;
    enum fleet_state state;
    int64_t hung_at_ms;
    int64_t started_ms;
    long server_id;
    char uuid[40];
    /* replication: master index (-1: none, or not a fleet member) */
    bool has_master_cfg; /* CHANGE MASTER done and not RESET SLAVE ALL */
    char master_host[64];
    int master_port;
    int master;
    bool io_on, sql_on, use_gtid;
    int64_t io_started_ms;
    bool read_only, super_read_only;
    /* data: GTID origin server and sequence (MariaDB domain 0; MySQL uuid:1-seq) */
    long gtid_sid;
    char gtid_uuid[40];
    int64_t seq;
    /* knobs */
    int lag_s;
    bool lag_moves;
    int latency_ms;
    int trickle_ms;
    int fake_replicas; /* hostile: extra rows in SHOW SLAVE HOSTS */
    /* replicas whose master is this instance */
    int *replicas;
    int nreplicas, capreplicas;
};

struct fleet_model {
    struct fleet_inst *inst;
    int n;
    int *by_port; /* 65536 entries: port -> index or -1 */
    char user[64];
    char password[64];
    char hostname[128];
};

/* A growing byte buffer. */
struct fleet_buf {
    unsigned char *p;
    size_t len, cap, off; /* off: bytes already sent */
};

int fleet_buf_put(struct fleet_buf *b, const void *data, size_t n);
void fleet_buf_release(struct fleet_buf *b);

/* ---- time ---- */
int64_t fleet_now_ms(void);

/* ---- model.c ---- */

/* Builds the model from a JSON spec (see main.c for the format). */
int fleet_model_load(struct fleet_model *m, const char *spec_json, char *errmsg, size_t len);
void fleet_model_release(struct fleet_model *m);
/* Points i at host:port (CHANGE MASTER); port 0 detaches (RESET SLAVE ALL). */
void fleet_model_set_master(struct fleet_model *m, int i, const char *host, int port);
/* "Yes", "No" or "Connecting" for i's IO thread as SHOW SLAVE STATUS says it. */
const char *fleet_model_io_state(const struct fleet_model *m, const struct fleet_inst *in);
/* Seconds_Behind_Master (-1: NULL). */
long fleet_model_lag(const struct fleet_model *m, const struct fleet_inst *in);
/* Copies the master's data position into a running replica. */
void fleet_model_catch_up(struct fleet_model *m, struct fleet_inst *in);
const char *fleet_flavor_version(enum fleet_flavor f);

/* ---- sql.c ---- */

/* Answers one COM_QUERY payload (possibly several statements) into out,
 * packets numbered from seq 1. Returns false when the connection must close. */
bool fleet_sql_answer(struct fleet_model *m,
                      int idx,
                      const char *sql,
                      size_t n,
                      struct fleet_buf *out);

/* ---- wire.c ---- */

struct fleet_wire {
    struct fleet_buf *out;
    unsigned char seq;
};

void fleet_wire_packet(struct fleet_wire *w, const void *payload, size_t n);
void fleet_wire_ok(struct fleet_wire *w, uint64_t affected, bool more);
void fleet_wire_err(struct fleet_wire *w, int code, const char *state, const char *msg);
/* A text result set of ncols columns; rows: nrows * ncols values (NULL = SQL NULL). */
void fleet_wire_rs(struct fleet_wire *w,
                   const char *const *cols,
                   int ncols,
                   const char *const *vals,
                   int nrows,
                   bool more);
/* Handshake v10 with a 20-byte scramble the caller keeps. */
void fleet_wire_handshake(struct fleet_wire *w,
                          const char *version,
                          uint32_t conn_id,
                          const unsigned char scramble[20]);
/* Checks a HandshakeResponse41: 0 when user/password match; <0 otherwise. */
int fleet_wire_check_auth(const unsigned char *p,
                          size_t n,
                          const unsigned char scramble[20],
                          const char *user,
                          const char *password,
                          char *who,
                          size_t wholen);

/* ---- loop.c ---- */

struct fleet_loop;
/* Serves the instances of one shard (clusters with cluster % nshards ==
 * shard) and a control endpoint on control_port; writes one byte to
 * ready_fd once listening. Returns when SIGTERM/SIGINT arrives. */
int fleet_loop_run(struct fleet_model *m, int control_port, int shard, int nshards, int ready_fd);
/* Control actions (called by control.c). */
int fleet_loop_kill(struct fleet_loop *l, int idx);
int fleet_loop_hang(struct fleet_loop *l, int idx);
int fleet_loop_revive(struct fleet_loop *l, int idx);
struct fleet_model *fleet_loop_model(struct fleet_loop *l);

/* ---- control.c ---- */

/* Answers one HTTP request line ("GET /kill?port=N HTTP/1.1") into out. */
void fleet_control_answer(struct fleet_loop *l, const char *req, struct fleet_buf *out);

#endif
