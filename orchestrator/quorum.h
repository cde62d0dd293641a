/*
 * quorum: quorum-confirmed failure detection with raft. Followers tell the
 * leader which instances they see failed; before recovering a master the
 * leader requires a majority of the voters (itself included) to see it
 * failed, so a leader cut off from a healthy master never fails it over.
 * Internal to orchestrator/.
 */
#ifndef ORC_QUORUM_H
#define ORC_QUORUM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"

#define ORC_QUORUM_MAX_NODES 32
/* A config fingerprint (orc_config_fingerprint): 16 hex digits and a NUL. */
#define ORC_QUORUM_FP_MAX 17
/* A follower's report counts for this long (it reports every 2 s, and at
 * once on a change). */
#define ORC_QUORUM_FRESH_MS 5000

struct orc_quorum_report {
    char node[64];                  /* the follower's raft address */
    int64_t at_ms;                  /* monotonic time the leader received it */
    char *failed;                   /* ",h:p,h:p," (commas around every key) */
    char config[ORC_QUORUM_FP_MAX]; /* its config fingerprint, "" unknown */
};

struct orc_quorum {
    pthread_mutex_t lock;
    struct orc_quorum_report v[ORC_QUORUM_MAX_NODES];
    size_t n;
    int default_port; /* of keys given without one (immutable) */
};

/* Longest report accepted (the keys a follower sees failed). */
#define ORC_QUORUM_REPORT_MAX 16384
/* Reports older than this are dropped (their slot freed). */
#define ORC_QUORUM_KEEP_MS 60000

void orc_quorum_init(struct orc_quorum *q, int default_port);
void orc_quorum_release(struct orc_quorum *q);
/* Records node's latest report: failed is "h:p,h:p" ("" = none), keys are
 * normalized (orc_quorum_normalize); config is its config fingerprint (NULL
 * or "": unknown, else 1 to 16 lowercase hex digits, or ORC_EINVAL). prev
 * (may be NULL) receives the fingerprint it reported before ("" none). Old
 * reports are pruned first. */
int orc_quorum_put(struct orc_quorum *q,
                   const char *node,
                   const char *failed,
                   const char *config,
                   char prev[ORC_QUORUM_FP_MAX]);
/* The nodes among nodes[] whose report within fresh_ms carries a config
 * fingerprint other than mine (reports without one are not counted): their
 * names, comma-separated, are appended to out (may be NULL). Returns how
 * many. */
int orc_quorum_config_mismatch(struct orc_quorum *q,
                               const char *mine,
                               const char *const *nodes,
                               size_t nnodes,
                               int64_t fresh_ms,
                               struct orc_buf *out);
/* ---- pure helpers, unit-tested ---- */
/* Rewrites a list of instance keys "h:p, H:p ,h" into ",h:p,h:p,h:dp,"
 * (hosts lowercased, blanks trimmed, default_port where none is given,
 * empty items dropped). ORC_EINVAL for a malformed key. */
int orc_quorum_normalize(const char *list, int default_port, struct orc_buf *out);
/* One normalized key "h:p" (lowercased host) into out. */
int orc_quorum_key_norm(const char *key, int default_port, char *out, size_t len);
/* Checks who may report: from must be one of the members' raft addresses
 * (not self), and the request must come from that member's host: its IP
 * equals source_ip (IPv4 text; "::ffff:" prefixes ignored). */
int orc_quorum_check_reporter(const char *from,
                              const char *source_ip,
                              const char *self,
                              const char *const *members,
                              size_t nmembers,
                              char *errmsg,
                              size_t len);
/* How many of the given nodes reported key failed within fresh_ms. */
int orc_quorum_agreeing(struct orc_quorum *q,
                        const char *key,
                        const char *const *nodes,
                        size_t nnodes,
                        int64_t fresh_ms);
/* A follower sends its report (and its config fingerprint) to the leader at
 * uri (bounded by 1 s). */
int orc_quorum_send(const struct orc_config *cfg,
                    const char *uri,
                    const char *self,
                    const char *failed,
                    const char *config,
                    char *errmsg,
                    size_t len);

#endif
