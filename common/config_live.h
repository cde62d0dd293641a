/*
 * config_live: the settings that decide recoveries (the keys of the config
 * fingerprint) held in the replicated state and applied while the service
 * runs.
 *
 * - A replicated value is one JSON value per key ({"Key": value}), checked
 *   exactly as the loader checks the key (type, bounds, choices, "not
 *   supported"), and laid over the file config: replicated > file.
 * - The result is an immutable, reference-counted config. The holder
 *   (struct orc_config_live) swaps it as a whole under a mutex; a reader
 *   takes a reference once (orc_config_live_acquire) and sees one consistent
 *   set until it puts it back, whatever changes meanwhile.
 *
 * Threads: the holder's functions are thread-safe; the others are pure.
 */
#ifndef ORC_COMMON_CONFIG_LIVE_H
#define ORC_COMMON_CONFIG_LIVE_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"

/* The definition of the recovery key named name (or its synonym), NULL when
 * name is not one of the keys of orc_config_fingerprint. */
const struct orc_config_def *orc_config_recovery_key(const char *name);

/* The value of key d in c as JSON (secrets masked); a new reference. */
json_t *orc_config_value_json(const struct orc_config *c, const struct orc_config_def *d);

/* Parses text as the flag --Key=text would be parsed and checked, and gives
 * the value as JSON in *out (new reference). Errors: "key 'K': ...". */
int orc_config_parse_value(const struct orc_config_def *d,
                           const char *text,
                           json_t **out,
                           char *errmsg,
                           size_t len);

/* Sets key d of c from a JSON value of its type (bool, integer, string,
 * array of strings), checked as the loader checks the key. c is unchanged
 * on error. */
int orc_config_set_json(struct orc_config *c,
                        const struct orc_config_def *d,
                        const json_t *value,
                        char *errmsg,
                        size_t len);

/* The cross-key rules and derived values of the recovery keys, as
 * orc_config_finalize applies them (config_finalize.c). */
int orc_config_finalize_recovery(struct orc_config *c, char *errmsg, size_t len);

/* Checks one whole config's recovery settings beyond single values; the
 * caller's hook (may be NULL) adds checks of other modules (hooks). */
typedef int (*orc_config_check_fn)(const struct orc_config *c, char *errmsg, size_t len);

/* out = base with each value of values ({"Key": value}) laid over it, in
 * key order, then orc_config_finalize_recovery and check (may be NULL). A
 * value that is refused on its own or by the checks is left out (base's
 * value holds) and its key appended to skipped (", " separated; may be
 * NULL). out must not be initialized; release it with orc_config_release. */
int orc_config_overlay(const struct orc_config *base,
                       const json_t *values,
                       orc_config_check_fn check,
                       struct orc_config *out,
                       struct orc_buf *skipped,
                       char *errmsg,
                       size_t len);

/* ---- the holder ---- */

struct orc_config_ref;

struct orc_config_live {
    pthread_mutex_t lock;
    struct orc_config_ref *cur; /* under lock */
    uint64_t generation;        /* under lock; +1 per swap */
    bool ready;
};

/* Starts with a copy of base. */
int orc_config_live_init(struct orc_config_live *l, const struct orc_config *base);
/* Drops the holder's reference; readers still holding one keep theirs. */
void orc_config_live_release(struct orc_config_live *l);
/* The current config with a reference taken (put it back with
 * orc_config_live_put); *generation (may be NULL) tells which swap it is. */
const struct orc_config *orc_config_live_acquire(struct orc_config_live *l, uint64_t *generation);
void orc_config_live_put(const struct orc_config *c);
/* Makes next (taken over, whatever the result) the current config. */
int orc_config_live_swap(struct orc_config_live *l, struct orc_config *next);
uint64_t orc_config_live_generation(struct orc_config_live *l);

#endif
