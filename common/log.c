/*
 * Logging: one line per event, with a level and a short event code, on
 * stderr, optionally appended to LogFile and sent to syslog (EnableSyslog).
 * The file can be switched (config reload) and reopened (SIGUSR1, after
 * logrotate moved it) while other threads log: every write and every change
 * holds log_lock; the level is an atomic int.
 */
#include "common/orc.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>

int orc_log_min_level = ORC_LOG_INFO;

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *log_file;  /* under log_lock */
static char *log_path;  /* under log_lock: the path log_file was opened by */
static bool log_syslog; /* under log_lock */

static const char *level_names[] = {"DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "FATAL"};
static const int syslog_prio[] = {LOG_DEBUG, LOG_INFO, LOG_NOTICE, LOG_WARNING, LOG_ERR, LOG_CRIT};

int orc_log_level_parse(const char *s)
{
    for (size_t i = 0; i < ORC_ARRAY_LEN(level_names); i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return (int)i;
    if (strcasecmp(s, "warn") == 0)
        return ORC_LOG_WARNING;
    return -1;
}

int orc_log_level(void)
{
    return __atomic_load_n(&orc_log_min_level, __ATOMIC_RELAXED);
}

void orc_log_set_level(int level)
{
    __atomic_store_n(&orc_log_min_level, level, __ATOMIC_RELAXED);
}

static int open_log(const char *path, FILE **out, char *errmsg, size_t len)
{
    FILE *f = fopen(path, "a");

    if (f == NULL) {
        orc_errf(errmsg, len, "open log file '%s': %s", path, strerror(errno));
        return ORC_EIO;
    }
    setvbuf(f, NULL, _IOLBF, 0);
    *out = f;
    return 0;
}

int orc_log_init(int min_level, const char *path, char *errmsg, size_t len)
{
    orc_log_set_level(min_level);
    return orc_log_set_file(path, errmsg, len);
}

int orc_log_set_file(const char *path, char *errmsg, size_t len)
{
    FILE *f = NULL, *old;
    char *copy = NULL, *old_path;

    if (path != NULL && *path != '\0') {
        copy = strdup(path);
        if (copy == NULL) {
            orc_errf(errmsg, len, "open log file: out of memory");
            return ORC_ENOMEM;
        }
        if (open_log(path, &f, errmsg, len) != 0) {
            free(copy);
            return ORC_EIO;
        }
    }
    pthread_mutex_lock(&log_lock);
    old = log_file;
    old_path = log_path;
    log_file = f;
    log_path = copy;
    pthread_mutex_unlock(&log_lock);
    if (old != NULL)
        fclose(old);
    free(old_path);
    return 0;
}

int orc_log_reopen(char *errmsg, size_t len)
{
    FILE *f = NULL;
    int rc = 0;

    pthread_mutex_lock(&log_lock);
    if (log_path != NULL) {
        rc = open_log(log_path, &f, errmsg, len);
        if (rc == 0) {
            fclose(log_file);
            log_file = f;
        }
    }
    pthread_mutex_unlock(&log_lock);
    return rc;
}

void orc_log_set_syslog(bool on)
{
    pthread_mutex_lock(&log_lock);
    if (on && !log_syslog)
        openlog("orchestrator", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    else if (!on && log_syslog)
        closelog();
    log_syslog = on;
    pthread_mutex_unlock(&log_lock);
}

void orc_log_close(void)
{
    orc_log_set_file(NULL, NULL, 0);
    orc_log_set_syslog(false);
}

/* The line: "<date> <time>.<ms> LEVEL event message\n"; returns the offset
 * of LEVEL (syslog adds its own time stamp). */
static size_t format_line(char *line,
                          size_t size,
                          int level,
                          const char *event,
                          const char *fmt,
                          va_list ap)
{
    struct timeval tv;
    struct tm tm;
    size_t n, start;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = strftime(line, size, "%Y-%m-%d %H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, size - n, ".%03ld ", (long)(tv.tv_usec / 1000));
    start = n;
    n += (size_t)snprintf(line + n, size - n, "%s %s ", level_names[level], event);
    if (n < size)
        vsnprintf(line + n, size - n, fmt, ap);
    n = strlen(line);
    if (n > size - 2)
        n = size - 2;
    /* One event, one line: fold any newline a message may carry. */
    for (size_t i = 0; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[n++] = '\n';
    line[n] = '\0';
    return start < n ? start : 0;
}

void orc_log_write(int level, const char *event, const char *fmt, ...)
{
    char line[2048];
    size_t start;
    va_list ap;

    if (level < 0 || level > ORC_LOG_FATAL)
        level = ORC_LOG_ERROR;
    va_start(ap, fmt);
    start = format_line(line, sizeof(line), level, event, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&log_lock);
    fputs(line, stderr);
    if (log_file != NULL)
        fputs(line, log_file);
    if (log_syslog)
        syslog(syslog_prio[level], "%s", line + start);
    pthread_mutex_unlock(&log_lock);
}
