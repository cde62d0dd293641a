/* Result codes and layered error messages. */
#include "common/orc.h"

#include <stdio.h>
#include <string.h>

const char *orc_strerror(int rc)
{
    switch (rc) {
        case ORC_OK:
            return "ok";
        case ORC_ENOMEM:
            return "out of memory";
        case ORC_EINVAL:
            return "invalid argument";
        case ORC_EIO:
            return "i/o error";
        case ORC_ENOTFOUND:
            return "not found";
        case ORC_ETIMEDOUT:
            return "timed out";
        case ORC_EDB:
            return "backend error";
        case ORC_EEXIST:
            return "already exists";
        case ORC_EPERM:
            return "not permitted";
        case ORC_ESTATE:
            return "wrong state";
        case ORC_EMYSQL:
            return "mysql error";
        case ORC_ECONFIG:
            return "configuration error";
        default:
            return "unknown error";
    }
}

void orc_errf(char *errmsg, size_t len, const char *fmt, ...)
{
    va_list ap;

    if (errmsg == NULL || len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(errmsg, len, fmt, ap);
    va_end(ap);
}

void orc_errprefix(char *errmsg, size_t len, const char *fmt, ...)
{
    char prefix[256];
    char old[ORC_ERRMSG_SIZE];
    va_list ap;

    if (errmsg == NULL || len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    orc_strlcpy(old, errmsg, sizeof(old));
    if (old[0] == '\0')
        snprintf(errmsg, len, "%s", prefix);
    else
        snprintf(errmsg, len, "%s: %s", prefix, old);
}
