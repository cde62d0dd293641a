/*
 * config_scan: finds where a top-level key sits in the raw JSON text, so a
 * bad value can be reported at FILE:LINE:COL (jansson keeps no positions of
 * values). A tiny cursor walks the top-level object, skipping strings and
 * nested values; it never reads past the end, even on malformed text.
 * Columns count characters (UTF-8 sequences count once), as jansson does.
 */
#include "common/config.h"

#include <stdint.h>
#include <string.h>

struct cursor {
    const char *p, *end;
    int line, col;
};

static int peek(const struct cursor *cur)
{
    return cur->p < cur->end ? (unsigned char)*cur->p : -1;
}

static void advance(struct cursor *cur)
{
    if (cur->p >= cur->end)
        return;
    if (*cur->p == '\n') {
        cur->line++;
        cur->col = 1;
    } else if (((unsigned char)*cur->p & 0xC0) != 0x80) {
        cur->col++;
    }
    cur->p++;
}

static void skip_ws(struct cursor *cur)
{
    int c;

    while ((c = peek(cur)) == ' ' || c == '\t' || c == '\n' || c == '\r')
        advance(cur);
}

static int hex4(const char *p, const char *end, uint32_t *out)
{
    uint32_t v = 0;

    if (end - p < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        char h = p[i];
        v <<= 4;
        if (h >= '0' && h <= '9')
            v |= (uint32_t)(h - '0');
        else if (h >= 'a' && h <= 'f')
            v |= (uint32_t)(h - 'a' + 10);
        else if (h >= 'A' && h <= 'F')
            v |= (uint32_t)(h - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static void put_utf8(struct orc_buf *b, uint32_t cp)
{
    char u[4];
    size_t n;

    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    orc_buf_append(b, u, n);
}

/* Decodes one \u escape (and its low surrogate) at cur->p (just past "\u"). */
static int unicode_escape(struct cursor *cur, struct orc_buf *out)
{
    uint32_t cp, lo;

    if (hex4(cur->p, cur->end, &cp) != 0)
        return -1;
    for (int i = 0; i < 4; i++)
        advance(cur);
    if (cp >= 0xD800 && cp < 0xDC00 && cur->end - cur->p >= 6 && cur->p[0] == '\\' &&
        cur->p[1] == 'u' && hex4(cur->p + 2, cur->end, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        for (int i = 0; i < 6; i++)
            advance(cur);
    }
    put_utf8(out, cp);
    return 0;
}

/* Reads the string at the cursor (on its opening quote); decodes it into out
 * when out is not NULL. */
static int read_string(struct cursor *cur, struct orc_buf *out)
{
    static const char esc_in[] = "\"\\/bfnrt", esc_out[] = "\"\\/\b\f\n\r\t";
    int c;

    advance(cur);
    while ((c = peek(cur)) != '"') {
        if (c < 0)
            return -1;
        advance(cur);
        if (c != '\\') {
            if (out != NULL)
                orc_buf_putc(out, (char)c);
            continue;
        }
        c = peek(cur);
        if (c < 0)
            return -1;
        advance(cur);
        if (c == 'u') {
            struct orc_buf ignored = ORC_BUF_INIT;
            int rc = unicode_escape(cur, out ? out : &ignored);
            orc_buf_release(&ignored);
            if (rc != 0)
                return -1;
        } else if (c != '\0' && strchr(esc_in, c) != NULL) {
            if (out != NULL)
                orc_buf_putc(out, esc_out[strchr(esc_in, c) - esc_in]);
        } else {
            return -1;
        }
    }
    advance(cur);
    return 0;
}

/* Skips one value: a string, a nested object or array, or a scalar. */
static int skip_value(struct cursor *cur)
{
    int depth = 0, c;

    for (;;) {
        c = peek(cur);
        if (c < 0)
            return depth == 0 ? 0 : -1;
        if (c == '"') {
            if (read_string(cur, NULL) != 0)
                return -1;
            if (depth == 0)
                return 0;
        } else if (c == '{' || c == '[') {
            depth++;
            advance(cur);
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return 0; /* the end of the enclosing object */
            depth--;
            advance(cur);
            if (depth == 0)
                return 0;
        } else if (depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
            return 0; /* the end of a scalar */
        } else {
            advance(cur);
        }
    }
}

int orc_config_key_pos(const char *text, size_t len, const char *key, int *line, int *col)
{
    struct cursor cur = {text, text + len, 1, 1};
    struct orc_buf name = ORC_BUF_INIT;
    int rc = ORC_ENOTFOUND;

    skip_ws(&cur);
    if (peek(&cur) != '{')
        return ORC_EINVAL;
    advance(&cur);
    for (;;) {
        int kline, kcol;

        skip_ws(&cur);
        if (peek(&cur) != '"')
            break; /* '}' or malformed: done */
        kline = cur.line;
        kcol = cur.col;
        orc_buf_reset(&name);
        if (read_string(&cur, &name) != 0)
            break;
        if (strcmp(orc_buf_str(&name), key) == 0 && name.len == strlen(key)) {
            *line = kline;
            *col = kcol;
            rc = 0; /* keep going: the last occurrence wins, as in jansson */
        }
        skip_ws(&cur);
        if (peek(&cur) != ':')
            break;
        advance(&cur);
        skip_ws(&cur);
        if (skip_value(&cur) != 0)
            break;
        skip_ws(&cur);
        if (peek(&cur) != ',')
            break;
        advance(&cur);
    }
    orc_buf_release(&name);
    return rc;
}
