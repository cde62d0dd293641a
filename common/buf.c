/* Growing string buffer and small string helpers. */
#include "common/orc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char empty_str[1];

void orc_buf_init(struct orc_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

int orc_buf_reserve(struct orc_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    size_t cap;
    char *p;

    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    p = realloc(b->data, cap);
    if (p == NULL)
        return ORC_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int orc_buf_append(struct orc_buf *b, const void *data, size_t n)
{
    if (orc_buf_reserve(b, n) != 0)
        return ORC_ENOMEM;
    if (n > 0)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int orc_buf_puts(struct orc_buf *b, const char *s)
{
    return orc_buf_append(b, s, strlen(s));
}

int orc_buf_putc(struct orc_buf *b, char c)
{
    return orc_buf_append(b, &c, 1);
}

int orc_buf_vprintf(struct orc_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    int n;

    if (orc_buf_reserve(b, 64) != 0)
        return ORC_ENOMEM;
    va_copy(cp, ap);
    n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, cp);
    va_end(cp);
    if (n < 0)
        return ORC_EINVAL;
    if ((size_t)n >= b->cap - b->len) {
        if (orc_buf_reserve(b, (size_t)n) != 0)
            return ORC_ENOMEM;
        vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    }
    b->len += (size_t)n;
    return 0;
}

int orc_buf_printf(struct orc_buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = orc_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

const char *orc_buf_str(const struct orc_buf *b)
{
    return b->data ? b->data : empty_str;
}

void orc_buf_reset(struct orc_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void orc_buf_release(struct orc_buf *b)
{
    free(b->data);
    orc_buf_init(b);
}

char *orc_buf_detach(struct orc_buf *b)
{
    char *s = b->data ? b->data : strdup("");

    orc_buf_init(b);
    return s;
}

int orc_strlcpy(char *dst, const char *src, size_t n)
{
    size_t l;

    if (n == 0)
        return ORC_EINVAL;
    if (src == NULL)
        src = "";
    l = strlen(src);
    if (l >= n) {
        memcpy(dst, src, n - 1);
        dst[n - 1] = '\0';
        return ORC_EINVAL;
    }
    memcpy(dst, src, l + 1);
    return 0;
}

char *orc_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

int orc_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    long long v;

    if (s == NULL || *s == '\0')
        return ORC_EINVAL;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return ORC_EINVAL;
    *out = v;
    return 0;
}
