/*
 * fsm_snapshot: the replicated state as one JSON document, for raft
 * snapshots. It holds the operator-state tables the FSM writes (downtime,
 * maintenance, candidates, aliases, tags, KV, the global recovery switch,
 * detections, recoveries, their steps and blocks, the audit), the keys of the
 * known instances, and an opaque object of the raft layer (its leader URIs).
 * History tables are kept bounded by the "housekeeping" command.
 *
 * Document: {"Version":1, "Tables":{"<table>":{"Columns":[...],
 * "Rows":[[text|null,...],...]}, ...}, "Instances":[{"Hostname","Port"}],
 * "Raft":{...}}. Values travel as text (the backend converts them back per
 * column), so the format is the same for SQLite and MySQL backends.
 *
 * Threads: called by the raft applier thread only (it serializes them with
 * the commands). Internal to orchestrator/.
 */
#ifndef ORC_FSM_SNAPSHOT_H
#define ORC_FSM_SNAPSHOT_H

#include <jansson.h>

#include "common/orc.h"

struct orc_fsm;

/* Writes the document into out (reset first). extra (may be NULL) is stored
 * as "Raft". Reads the tables in one backend transaction. */
int orc_fsm_snapshot_dump(struct orc_fsm *f,
                          const json_t *extra,
                          struct orc_buf *out,
                          char *errmsg,
                          size_t len);

/* Replaces the tables with the document's in one transaction, brings the
 * live topology's annotations in line (clearing those the document lacks,
 * then orc_fsm_restore), and queues discovery of instances the topology does
 * not know. *extra (may be NULL) receives "Raft" (caller decrefs). Trailing
 * padding after the JSON is allowed. */
int orc_fsm_snapshot_restore(struct orc_fsm *f,
                             const void *data,
                             size_t n,
                             json_t **extra,
                             char *errmsg,
                             size_t len);

#endif
