/*
 * errant: the pure parts of locating errant transactions in binary logs.
 * Internal to the recovery module (errant.c) and its unit tests.
 */
#ifndef ORC_REC_ERRANT_H
#define ORC_REC_ERRANT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/orc.h"

/* One binary log and the GTID state at its start: MariaDB's Gtid_list
 * event ("[0-1-5,0-2-3]", brackets optional) or MySQL's Previous_gtids
 * event (a GTID set). Borrowed strings. */
struct rec_binlog_gtids {
    const char *file;
    const char *start_state;
};

/*
 * The binary logs that hold errant transactions (orchestrator's
 * LocateErrantGTID), in order, appended to `files` (a JSON array of
 * strings).
 *
 * MariaDB: errant is the instance's errant entries "D-S-N,..." and held is
 * what the master holds (its gtid_binlog_state and gtid_slave_pos, joined
 * with a comma); a file holds errant transactions of (D, S) when the state
 * of that pair at its end (the next file's start, `end_state` for the last
 * one) is beyond both its start and what the master holds.
 *
 * MySQL: errant is a GTID set; a file holds errant transactions when the
 * next file's Previous_gtids takes some of what is still searched for; what
 * remains at the end is in the last file. held and end_state are unused.
 *
 * Returns 0; ORC_ESTATE when some errant transaction is before the first
 * file (purged); ORC_EINVAL when a state does not parse. errmsg says which.
 */
int rec_errant_locate_files(bool mariadb,
                            const char *errant,
                            const char *held,
                            const struct rec_binlog_gtids *logs,
                            size_t n,
                            const char *end_state,
                            json_t *files,
                            char *errmsg,
                            size_t len);

/* MariaDB's counterpart of the gtid_purged orchestrator sets after RESET
 * MASTER: the gtid_binlog_state to restore, which is `state` without the
 * errant entries, an errant (domain, server_id) keeping what the master
 * holds of it (`held`: its binlog state and gtid_slave_pos), if anything.
 * Appends "D-S-N,..." to out. ORC_EINVAL when a list does not parse. */
int rec_errant_kept_state(const char *state,
                          const char *errant,
                          const char *held,
                          struct orc_buf *out);

/* A binary log file name as SHOW BINARY LOGS gives it: 1..255 bytes of
 * [A-Za-z0-9._-], not starting with a dot. */
bool rec_valid_binlog_name(const char *s);

#endif
