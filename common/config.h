/*
 * config: orchestrator-compatible JSON configuration, driven by one table of
 * keys (common/config_keys.h). The table gives each key its JSON name (which
 * is also the field name in struct orc_config), type, default, bounds, help
 * text, secret flag and older synonym; parsing, validation, defaults,
 * environment variables, command-line flags, the dump and the documentation
 * all come from it.
 *
 * Precedence: defaults < files (in order) < ORC_<Key> environment < flags.
 * Call orc_config_finalize() once after all sources. The result is meant to
 * be read-only afterwards; a reload builds a new struct.
 *
 * Not thread-safe: one thread loads, then the struct is shared read-only.
 */
#ifndef ORC_COMMON_CONFIG_H
#define ORC_COMMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/orc.h"

/* A list of owned strings (never NULL entries); v is NULL when n is 0. */
struct orc_strlist {
    char **v;
    size_t n;
};

/* An object of strings: keys[i] -> vals[i], in file order; all owned. */
struct orc_strmap {
    char **keys;
    char **vals;
    size_t n;
};

enum orc_cfg_type {
    ORC_CFG_BOOL, /* bool */
    ORC_CFG_INT,  /* int64_t */
    ORC_CFG_STR,  /* char *, owned, never NULL ("" when unset) */
    ORC_CFG_LIST, /* struct orc_strlist */
    ORC_CFG_MAP,  /* struct orc_strmap */
};

#define ORC_CFG_SECRET 0x1u      /* masked in dumps, never echoed in messages */
#define ORC_CFG_UNSUPPORTED 0x2u /* accepted only at its default (config_keys.h) */
#define ORC_CFG_BIG INT32_MAX    /* "no real upper bound" for INT keys */

/* DiscoveryWorkerThreads = min(DiscoveryMaxConcurrency, this) when left at 0. */
#define ORC_CONFIG_MAX_DERIVED_WORKERS 64

#define ORC_CFG_CTYPE_BOOL bool
#define ORC_CFG_CTYPE_INT int64_t
#define ORC_CFG_CTYPE_STR char *
#define ORC_CFG_CTYPE_LIST struct orc_strlist
#define ORC_CFG_CTYPE_MAP struct orc_strmap

/* ORC_CFGK_<Key>: the index of each key in orc_config_defs[]. */
enum orc_config_key_index {
#define ORC_CFG_SECTION(title)
#define ORC_CFG_KEY(type, name, ...) ORC_CFGK_##name,
#include "common/config_keys.h"
#undef ORC_CFG_KEY
#undef ORC_CFG_SECTION
    ORC_CONFIG_NKEYS
};

/* Where a key's current value came from. */
enum orc_config_source {
    ORC_CFG_SRC_DEFAULT = 0,
    ORC_CFG_SRC_FILE,
    ORC_CFG_SRC_ENV,
    ORC_CFG_SRC_FLAG,
    ORC_CFG_SRC_DERIVED, /* computed or normalized by orc_config_finalize() */
};

/* The configuration: one field per key, named exactly as the JSON key
 * (cfg->InstancePollSeconds, cfg->MySQLTopologyUser, cfg->RaftNodes ...). */
struct orc_config {
#define ORC_CFG_SECTION(title)
#define ORC_CFG_KEY(type, name, ...) ORC_CFG_CTYPE_##type name;
#include "common/config_keys.h"
#undef ORC_CFG_KEY
#undef ORC_CFG_SECTION
    /* private to the loader: enum orc_config_source of each key */
    unsigned char sources[ORC_CONFIG_NKEYS];
};

/* One row of the table. */
struct orc_config_def {
    const char *name;
    enum orc_cfg_type type;
    size_t offset; /* of the field in struct orc_config */
    const char *def;
    int64_t min, max; /* INT only */
    unsigned flags;
    const char *synonym; /* older name, or NULL */
    const char *choices; /* "a|b|c" allowed values of a STR key, or NULL */
    const char *help;
};

/* The table, in declaration order (index = ORC_CFGK_<Key>). */
extern const struct orc_config_def orc_config_defs[ORC_CONFIG_NKEYS];

/* Finds a key by its name or synonym (case-sensitive); NULL when unknown. */
const struct orc_config_def *orc_config_find(const char *key);
bool orc_config_has_key(const char *key);

/* Sets every key to its default. Aborts only when memory runs out. */
void orc_config_init(struct orc_config *c);
/* Frees owned memory; c must be initialized again before reuse. */
void orc_config_release(struct orc_config *c);
/* Deep copy of src into dst (dst is overwritten, not released first). */
int orc_config_copy(struct orc_config *dst, const struct orc_config *src);

/* Loads one file on top of what c holds; all or nothing (c is unchanged on
 * error). Errors: "FILE:LINE:COL: key 'K': message", or "FILE:LINE:COL:
 * message" for JSON syntax; returns ORC_ECONFIG (ORC_EIO if unreadable).
 * Unknown keys are logged (+config-unknown-key) and skipped; "#..." keys are
 * comments. A string of exactly the form "${NAME}" takes the value of the
 * environment variable NAME (an error if it is unset). null leaves a key as is. */
int orc_config_load_file(struct orc_config *c, const char *path, char *errmsg, size_t len);

/* Reads each existing file of paths[] (NULL-terminated) in order, later
 * overriding earlier; missing files are skipped. Stops at the first error. */
extern const char *const orc_config_default_paths[];
int orc_config_load_paths(struct orc_config *c, const char *const *paths, char *errmsg, size_t len);

/* Applies ORC_<Key>=value variables from envp (NULL-terminated, like environ);
 * ORC_ variables that name no key are ignored. Lists are comma-separated or a
 * JSON array, maps a JSON object, bools true/false/1/0. All or nothing; the
 * error text names the variable: "env ORC_K: key 'K': message".
 * ADVERTISE_ADDR stands for ORC_AdvertiseAddr, which wins when both are set. */
int orc_config_apply_env(struct orc_config *c, char *const *envp, char *errmsg, size_t len);

/* Sets one key (name or synonym) from text, as a command-line flag --Key=value;
 * same parsing as env. Errors: "key 'K': message", "unknown key 'K'". */
int orc_config_set(struct orc_config *c,
                   const char *key,
                   const char *value,
                   char *errmsg,
                   size_t len);

/* Cross-key validation and derived values; call once after all sources.
 * Normalizes BackendDB to "sqlite" or "mysql", URLPrefix to "/x" or "",
 * KVClusterMasterPrefix to end in "/", RaftBind/RaftAdvertise/RaftNodes to
 * host:port; fills RaftAdvertise (and HTTPAdvertise) from AdvertiseAddr or
 * RaftBind, RecoveryPeriodBlockSeconds,
 * ReasonableLockedSemiSyncMasterSeconds, DiscoveryWorkerThreads; reads the
 * *CredentialsConfigFile files. Errors: "key 'K': message". */
int orc_config_finalize(struct orc_config *c, char *errmsg, size_t len);

/* What AdvertiseAddr (host[:port]) gives, whether or not the keys are set:
 * RaftAdvertise as host:port (RaftBind's port unless AdvertiseAddr has one)
 * and HTTPAdvertise as http[s]://host:<ListenAddress port> (https under
 * UseSSL). orc_config_finalize fills the keys that are empty with these.
 * Returns 0; ORC_ENOTFOUND when AdvertiseAddr is empty (or, for HTTP, when
 * the service listens on a unix socket or ListenAddress has no port);
 * ORC_EINVAL when AdvertiseAddr is malformed or out is too small. */
int orc_config_advertise_raft(const struct orc_config *c, char *out, size_t len);
int orc_config_advertise_http(const struct orc_config *c, char *out, size_t len);

/* ---- reload (config_reload.c) ---- */

/* The keys a running service applies live (SIGHUP, /api/reload-configuration),
 * NULL-terminated. Every other key needs a restart. */
extern const char *const orc_config_reloadable_keys[];
bool orc_config_reloadable(const char *key);

/* Compares the running config cur with a newly loaded, finalized next.
 * Appends the names of the changed reloadable keys to changed (", "
 * separated). When any other key changed, returns ORC_ECONFIG with errmsg
 * "reload refused: ... restart to apply them): K1, K2" (names only, never
 * values); the caller then keeps cur as it is. */
int orc_config_reload_check(const struct orc_config *cur,
                            const struct orc_config *next,
                            struct orc_buf *changed,
                            char *errmsg,
                            size_t len);

/* The effective config as pretty JSON (all keys, table order), secrets shown
 * as "********" when set. Appends to out. */
int orc_config_dump(const struct orc_config *c, struct orc_buf *out);

/* A fingerprint of the keys that decide recoveries (recovery filters, block
 * periods, promotion rules, hooks ...): 16 hex digits into out (len >= 17),
 * equal on two nodes exactly when those keys hold equal values. Raft members
 * compare it (docs/operations.md). */
int orc_config_fingerprint(const struct orc_config *c, char *out, size_t len);
/* The name of the i-th key of the fingerprint; NULL past the last one. */
const char *orc_config_fingerprint_key(size_t i);

/* "default", "file", "env", "flag" or "derived"; NULL for an unknown key. */
const char *orc_config_source(const struct orc_config *c, const char *key);

/* The reference of every key (Markdown, as docs/config.md). Appends to out. */
int orc_config_doc(struct orc_buf *out);

/* Finds the last top-level member named key in the JSON object text and gives
 * the 1-based line and column (in characters) of its opening quote.
 * Returns 0, ORC_ENOTFOUND, or ORC_EINVAL when the text is not an object. */
int orc_config_key_pos(const char *text, size_t len, const char *key, int *line, int *col);

/* ---- policy (config_policy.c) ---- */

/* Whether value of the unsupported STR key is one that means what this
 * implementation does anyway (so it is accepted like the default). */
bool orc_config_unsupported_accepts(const char *key, const char *value);
/* Reads RaftSecretFile into RaftSecret (the file must not be accessible to
 * others) and checks the secret's length. Called by orc_config_finalize. */
int orc_config_finalize_raft_secret(struct orc_config *c, char *errmsg, size_t len);

#endif
