/* Logging: one line per event, with a level and a short event code. */
#include "common/orc.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

int orc_log_min_level = ORC_LOG_INFO;

static FILE *log_file;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *level_names[] = {"DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "FATAL"};

int orc_log_level_parse(const char *s)
{
    for (size_t i = 0; i < ORC_ARRAY_LEN(level_names); i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return (int)i;
    if (strcasecmp(s, "warn") == 0)
        return ORC_LOG_WARNING;
    return -1;
}

int orc_log_init(int min_level, const char *path, char *errmsg, size_t len)
{
    orc_log_min_level = min_level;
    if (path != NULL && *path != '\0') {
        FILE *f = fopen(path, "a");
        if (f == NULL) {
            orc_errf(errmsg, len, "open log file '%s': %s", path, strerror(errno));
            return ORC_EIO;
        }
        setvbuf(f, NULL, _IOLBF, 0);
        log_file = f;
    }
    return 0;
}

void orc_log_close(void)
{
    pthread_mutex_lock(&log_lock);
    if (log_file != NULL)
        fclose(log_file);
    log_file = NULL;
    pthread_mutex_unlock(&log_lock);
}

void orc_log_write(int level, const char *event, const char *fmt, ...)
{
    char line[2048];
    struct timeval tv;
    struct tm tm;
    size_t n;
    va_list ap;

    if (level < 0 || level > ORC_LOG_FATAL)
        level = ORC_LOG_ERROR;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ld %s %s ", (long)(tv.tv_usec / 1000),
                          level_names[level], event);
    if (n < sizeof(line)) {
        va_start(ap, fmt);
        vsnprintf(line + n, sizeof(line) - n, fmt, ap);
        va_end(ap);
    }
    n = strlen(line);
    if (n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    /* One event, one line: fold any newline a message may carry. */
    for (size_t i = 0; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[n++] = '\n';
    line[n] = '\0';
    pthread_mutex_lock(&log_lock);
    fputs(line, stderr);
    if (log_file != NULL)
        fputs(line, log_file);
    pthread_mutex_unlock(&log_lock);
}
