/*
 * common: the small base every module stands on: result codes and error
 * messages, a growing string buffer, instance keys, clocks and logging.
 * Nothing here knows about MySQL, HTTP or raft.
 */
#ifndef ORC_COMMON_H
#define ORC_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define ORC_VERSION "0.1.0"

/* ---- result codes: functions return 0 or one of these (negative) ---- */
enum {
    ORC_OK = 0,
    ORC_ENOMEM = -1,    /* allocation failed */
    ORC_EINVAL = -2,    /* bad argument or input */
    ORC_EIO = -3,       /* file or socket error */
    ORC_ENOTFOUND = -4, /* no such instance, cluster, row, key */
    ORC_ETIMEDOUT = -5, /* a network call or wait ran out of time */
    ORC_EDB = -6,       /* backend store error */
    ORC_EEXIST = -7,    /* already there */
    ORC_EPERM = -8,     /* not allowed (auth, read-only, not leader) */
    ORC_ESTATE = -9,    /* wrong state for this operation */
    ORC_EMYSQL = -10,   /* a topology server returned an error */
    ORC_ECONFIG = -11,  /* configuration error */
};

/* Size of the caller-supplied error message buffers passed down the layers. */
#define ORC_ERRMSG_SIZE 512

/* Returns a static description of a result code. */
const char *orc_strerror(int rc);

/* Writes a formatted message into errmsg (which may be NULL). */
void orc_errf(char *errmsg, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prefixes errmsg with context: "ctx: <previous message>". errmsg may be NULL. */
void orc_errprefix(char *errmsg, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- growing string buffer (git's strbuf) ---- */
struct orc_buf {
    char *data; /* always NUL-terminated once anything was appended */
    size_t len;
    size_t cap;
};

#define ORC_BUF_INIT \
    {                \
        NULL, 0, 0   \
    }

void orc_buf_init(struct orc_buf *b);
int orc_buf_reserve(struct orc_buf *b, size_t extra);
int orc_buf_append(struct orc_buf *b, const void *data, size_t n);
int orc_buf_puts(struct orc_buf *b, const char *s);
int orc_buf_putc(struct orc_buf *b, char c);
int orc_buf_printf(struct orc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int orc_buf_vprintf(struct orc_buf *b, const char *fmt, va_list ap);
/* Returns the text ("" when empty); borrowed, valid until the next change. */
const char *orc_buf_str(const struct orc_buf *b);
void orc_buf_reset(struct orc_buf *b);   /* length 0, memory kept */
void orc_buf_release(struct orc_buf *b); /* frees the memory */
/* Hands the text over to the caller (to free) and empties the buffer. */
char *orc_buf_detach(struct orc_buf *b);

/* ---- strings ---- */
/* Copies src into dst of size n, always terminating; returns 0 or ORC_EINVAL if cut. */
int orc_strlcpy(char *dst, const char *src, size_t n);
/* strdup that returns NULL for NULL. Caller frees. */
char *orc_strdup(const char *s);
/* Parses a whole decimal integer in [min, max]; returns 0 or ORC_EINVAL. */
int orc_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);

/* ---- instance keys: host:port ---- */
#define ORC_HOST_MAX 256

struct orc_key {
    char host[ORC_HOST_MAX];
    int port;
};

/* Parses "host[:port]" or "[ipv6]:port"; a missing port becomes default_port. */
int orc_key_parse(const char *s, int default_port, struct orc_key *out);
/* Builds a key from a host and a port text. */
int orc_key_from(const char *host, const char *port, struct orc_key *out);
/* Writes "host:port" into buf; returns buf. */
char *orc_key_str(const struct orc_key *k, char *buf, size_t len);
int orc_key_cmp(const struct orc_key *a, const struct orc_key *b);
bool orc_key_eq(const struct orc_key *a, const struct orc_key *b);
/* As orchestrator: hostname set, not "_", not detached ("//"), port > 0. */
bool orc_key_valid(const struct orc_key *k);
/* True when host can only be a host name or an address: letters, digits and
 * ".-_:%" (IPv6, zone). Names that come from the databases (report_host) can
 * hold anything; the MySQL client reads "a;host=b" as a connection string,
 * so nothing else may ever be connected to. */
bool orc_host_safe(const char *host);
#define ORC_KEY_STRLEN (ORC_HOST_MAX + 8)

/* ---- clocks ---- */
int64_t orc_mono_ms(void); /* monotonic milliseconds */
int64_t orc_mono_us(void); /* monotonic microseconds */
int64_t orc_wall_ms(void); /* wall clock, ms since the epoch */
int64_t orc_wall_s(void);  /* wall clock, seconds since the epoch */
/* Formats wall-clock seconds as "YYYY-MM-DD HH:MM:SS" (UTC) into buf (>= 20 bytes). */
char *orc_time_str(int64_t wall_s, char *buf, size_t len);
/* RFC 3339 with offset, as Go's time.Time marshals: "2026-11-21T21:32:29Z". */
char *orc_time_rfc3339(int64_t wall_s, char *buf, size_t len);
void orc_sleep_ms(int64_t ms);
/* The CLOCK_MONOTONIC deadline ms from now, for pthread_cond_timedwait on a
 * condition variable made by orc_cond_init (a wall-clock step must neither
 * cut a wait short nor stretch it). */
void orc_deadline(struct timespec *ts, int64_t ms);
/* pthread_cond_init on CLOCK_MONOTONIC (cv is a pthread_cond_t *; void * so
 * that this header need not include pthread.h). Returns 0 or an errno. */
int orc_cond_init(void *cv);

/* ---- hashing: 64-bit FNV-1a (stable: raft ids are derived from it) ---- */
#define ORC_FNV1A_INIT 14695981039346656037ULL
/* Folds n bytes into h (start from ORC_FNV1A_INIT). */
uint64_t orc_fnv1a(uint64_t h, const void *data, size_t n);
/* Folds a NUL-terminated string (NULL as "") into h. */
uint64_t orc_fnv1a_str(uint64_t h, const char *s);

/* ---- logging ----
 * One line per event: "2026-11-21 21:32:29.123 NOTICE +event key=value ...".
 * The level, the file and the syslog switch are the only process-wide state
 * outside the service struct: set at start, changed by a config reload
 * (level: atomic; file and syslog: under the log's lock) and reopened on
 * SIGUSR1. Never pass a password to these functions. */
enum orc_log_level {
    ORC_LOG_DEBUG = 0,
    ORC_LOG_INFO,
    ORC_LOG_NOTICE,
    ORC_LOG_WARNING,
    ORC_LOG_ERROR,
    ORC_LOG_FATAL,
};

/* Read with orc_log_level(); written before threads start or with orc_log_set_level(). */
extern int orc_log_min_level;

/* Opens the optional log file (appending) besides stderr; path may be NULL. */
int orc_log_init(int min_level, const char *path, char *errmsg, size_t len);
void orc_log_close(void);
int orc_log_level_parse(const char *s);
void orc_log_write(int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Any thread: the minimum level, and a new one (reload). */
int orc_log_level(void);
void orc_log_set_level(int level);
/* Any thread: switches the log file to path (NULL or "": stderr only). The new
 * file is opened first: on error nothing changes. The old one is closed. */
int orc_log_set_file(const char *path, char *errmsg, size_t len);
/* Any thread: closes and reopens the current log file by its path (after
 * logrotate moved it: SIGUSR1). No-op without a log file. */
int orc_log_reopen(char *errmsg, size_t len);
/* Any thread: also send every line to syslog(3) (facility daemon, ident
 * "orchestrator"), or stop. */
void orc_log_set_syslog(bool on);

#define orc_log(level, event, ...)                        \
    do {                                                  \
        if ((level) >= orc_log_level())                   \
            orc_log_write((level), (event), __VA_ARGS__); \
    } while (0)

#define ORC_LOG_D(ev, ...) orc_log(ORC_LOG_DEBUG, ev, __VA_ARGS__)
#define ORC_LOG_I(ev, ...) orc_log(ORC_LOG_INFO, ev, __VA_ARGS__)
#define ORC_LOG_N(ev, ...) orc_log(ORC_LOG_NOTICE, ev, __VA_ARGS__)
#define ORC_LOG_W(ev, ...) orc_log(ORC_LOG_WARNING, ev, __VA_ARGS__)
#define ORC_LOG_E(ev, ...) orc_log(ORC_LOG_ERROR, ev, __VA_ARGS__)

#define ORC_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
