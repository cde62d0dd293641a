/*
 * Result sets: column names and rows of nullable text, as the MySQL seam
 * hands them over, plus the recorded text form tests answer from (see
 * disc_rs_parse_text in disc.h).
 */
#include "discovery/disc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The strings of a result set live in a few blocks freed together: a probe
 * reads hundreds of values a poll, and one malloc and free each was a tenth
 * of the probe threads' time at 20,000 instances. */
#define RS_BLOCK 4096

struct disc_rs_block {
    struct disc_rs_block *next;
    size_t used, cap;
    char data[];
};

static char *rs_strdup(struct disc_rs *rs, const char *s)
{
    size_t n = strlen(s) + 1;
    struct disc_rs_block *b = rs->blocks;
    char *p;

    if (b == NULL || b->cap - b->used < n) {
        size_t cap = n > RS_BLOCK ? n : RS_BLOCK;

        b = malloc(sizeof(*b) + cap);
        if (b == NULL)
            return NULL;
        b->used = 0;
        b->cap = cap;
        b->next = rs->blocks;
        rs->blocks = b;
    }
    p = b->data + b->used;
    memcpy(p, s, n);
    b->used += n;
    return p;
}

struct disc_rs *disc_rs_new(size_t ncols, const char *const *cols)
{
    struct disc_rs *rs = calloc(1, sizeof(*rs));

    if (rs == NULL)
        return NULL;
    if (ncols > 0) {
        rs->cols = calloc(ncols, sizeof(*rs->cols));
        if (rs->cols == NULL)
            goto nomem;
    }
    rs->ncols = ncols;
    for (size_t i = 0; i < ncols; i++) {
        rs->cols[i] = rs_strdup(rs, cols[i] != NULL ? cols[i] : "");
        if (rs->cols[i] == NULL)
            goto nomem;
    }
    return rs;
nomem:
    disc_rs_free(rs);
    return NULL;
}

int disc_rs_add_row(struct disc_rs *rs, const char *const *values)
{
    size_t base;

    if (rs->ncols == 0 || rs->nrows >= DISC_RS_MAX_ROWS)
        return ORC_EINVAL; /* more rows than any statement of ours can need */
    if (rs->nrows == rs->cap_rows) {
        size_t cap = rs->cap_rows ? rs->cap_rows * 2 : 4;
        char **p = realloc(rs->cells, cap * rs->ncols * sizeof(*p));

        if (p == NULL)
            return ORC_ENOMEM;
        rs->cells = p;
        rs->cap_rows = cap;
    }
    base = rs->nrows * rs->ncols;
    for (size_t i = 0; i < rs->ncols; i++) {
        rs->cells[base + i] = NULL;
        if (values[i] != NULL && (rs->cells[base + i] = rs_strdup(rs, values[i])) == NULL)
            return ORC_ENOMEM; /* the strings copied so far go with the set */
    }
    rs->nrows++;
    return 0;
}

void disc_rs_free(struct disc_rs *rs)
{
    struct disc_rs_block *b, *next;

    if (rs == NULL)
        return;
    for (b = rs->blocks; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
    free(rs->cells);
    free(rs->cols);
    free(rs);
}

int disc_rs_col(const struct disc_rs *rs, const char *name)
{
    for (size_t i = 0; i < rs->ncols; i++) {
        if (strcasecmp(rs->cols[i], name) == 0)
            return (int)i;
    }
    return -1;
}

const char *disc_rs_get(const struct disc_rs *rs, size_t row, int col)
{
    if (col < 0 || (size_t)col >= rs->ncols || row >= rs->nrows)
        return NULL;
    return rs->cells[row * rs->ncols + (size_t)col];
}

const char *disc_rs_value(const struct disc_rs *rs, size_t row, const char *name)
{
    return disc_rs_get(rs, row, disc_rs_col(rs, name));
}

/* ---- recorded text form ---- */

/* A row being read: names and values in file order. */
struct text_row {
    struct orc_buf names[128];
    char *values[128];
    size_t n;
};

static void text_row_reset(struct text_row *r)
{
    for (size_t i = 0; i < r->n; i++) {
        orc_buf_release(&r->names[i]);
        free(r->values[i]);
        r->values[i] = NULL;
    }
    r->n = 0;
}

/* Unescapes value (length n) into a new string; "\N" alone -> *isnull. */
static char *unescape(const char *s, size_t n, bool *isnull)
{
    struct orc_buf b = ORC_BUF_INIT;

    *isnull = (n == 2 && s[0] == '\\' && s[1] == 'N');
    if (*isnull)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (c == '\\' && i + 1 < n) {
            char e = s[++i];
            c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
        }
        if (orc_buf_putc(&b, c) != 0) {
            orc_buf_release(&b);
            return NULL;
        }
    }
    if (b.data == NULL)
        return strdup("");
    return orc_buf_detach(&b);
}

/* Adds the row being read to the result set (creating it from the first row). */
static int text_flush(struct text_row *r, struct disc_rs **rs, int lineno, char *errmsg, size_t len)
{
    const char *names[128];
    int rc = 0;

    if (r->n == 0)
        return 0;
    for (size_t i = 0; i < r->n; i++)
        names[i] = orc_buf_str(&r->names[i]);
    if (*rs == NULL) {
        *rs = disc_rs_new(r->n, names);
        if (*rs == NULL)
            return ORC_ENOMEM;
    } else if ((*rs)->ncols != r->n) {
        orc_errf(errmsg, len, "line %d: row has %zu columns, first row had %zu", lineno, r->n,
                 (*rs)->ncols);
        return ORC_EINVAL;
    }
    for (size_t i = 0; i < r->n; i++) {
        if (strcasecmp((*rs)->cols[i], names[i]) != 0) {
            orc_errf(errmsg, len, "line %d: column '%s' where '%s' was expected", lineno, names[i],
                     (*rs)->cols[i]);
            return ORC_EINVAL;
        }
    }
    rc = disc_rs_add_row(*rs, (const char *const *)r->values);
    text_row_reset(r);
    return rc;
}

/* "columns: a,b,c" for a result set without rows. */
static int text_columns(const char *list, size_t n, struct disc_rs **rs)
{
    struct text_row *r = calloc(1, sizeof(*r));
    const char *names[128];
    size_t start = 0;
    int rc = 0;

    if (r == NULL)
        return ORC_ENOMEM;
    for (size_t i = 0; i <= n && rc == 0; i++) {
        if (i < n && list[i] != ',')
            continue;
        while (start < i && list[start] == ' ')
            start++;
        if (r->n == ORC_ARRAY_LEN(r->names)) {
            rc = ORC_EINVAL;
            break;
        }
        orc_buf_init(&r->names[r->n]);
        rc = orc_buf_append(&r->names[r->n], list + start, i - start);
        r->n++;
        start = i + 1;
    }
    for (size_t i = 0; i < r->n; i++)
        names[i] = orc_buf_str(&r->names[i]);
    if (rc == 0) {
        disc_rs_free(*rs);
        *rs = disc_rs_new(r->n, names);
        rc = *rs == NULL ? ORC_ENOMEM : 0;
    }
    text_row_reset(r);
    free(r);
    return rc;
}

/* Handles one "Name: value" line. */
static int text_field(struct text_row *r,
                      const char *line,
                      size_t n,
                      int lineno,
                      char *errmsg,
                      size_t len)
{
    const char *colon = NULL;
    size_t nl;
    bool isnull;

    for (size_t i = 0; i < n; i++) {
        if (line[i] == ':' && (i + 1 == n || line[i + 1] == ' ')) {
            colon = line + i;
            break;
        }
    }
    if (colon == NULL || colon == line) {
        orc_errf(errmsg, len, "line %d: expected 'Name: value'", lineno);
        return ORC_EINVAL;
    }
    if (r->n == ORC_ARRAY_LEN(r->names)) {
        orc_errf(errmsg, len, "line %d: too many columns", lineno);
        return ORC_EINVAL;
    }
    nl = (size_t)(colon - line);
    orc_buf_init(&r->names[r->n]);
    r->values[r->n] = NULL;
    r->n++; /* counted first so text_row_reset frees a half-built field */
    if (orc_buf_append(&r->names[r->n - 1], line, nl) != 0)
        return ORC_ENOMEM;
    colon += (size_t)(colon + 1 - line) < n ? 2 : 1;
    r->values[r->n - 1] = unescape(colon, n - (size_t)(colon - line), &isnull);
    if (r->values[r->n - 1] == NULL && !isnull)
        return ORC_ENOMEM;
    return 0;
}

static int text_error(const char *line, size_t n, char *errmsg, size_t len)
{
    orc_errf(errmsg, len, "%.*s", (int)(n > 7 ? n - 7 : 0), line + 7);
    return ORC_EMYSQL;
}

static int text_line(struct text_row *r,
                     struct disc_rs **rs,
                     const char *line,
                     size_t n,
                     int lineno,
                     bool *seen,
                     char *errmsg,
                     size_t len)
{
    while (n > 0 && (*line == ' ' || *line == '\t')) {
        line++;
        n--;
    }
    while (n > 0 && (line[n - 1] == '\r'))
        n--;
    if (n == 0 || line[0] == '#')
        return 0;
    if (!*seen && n >= 7 && strncmp(line, "!error ", 7) == 0)
        return text_error(line, n, errmsg, len);
    *seen = true;
    if (strncmp(line, "***", n < 3 ? n : 3) == 0 && n >= 3)
        return text_flush(r, rs, lineno, errmsg, len);
    if (n > 9 && strncmp(line, "columns: ", 9) == 0 && *rs == NULL && r->n == 0)
        return text_columns(line + 9, n - 9, rs);
    return text_field(r, line, n, lineno, errmsg, len);
}

int disc_rs_parse_text(const char *text, struct disc_rs **out, char *errmsg, size_t len)
{
    struct text_row *r = calloc(1, sizeof(*r));
    struct disc_rs *rs = NULL;
    int lineno = 0;
    bool seen = false;
    int rc = 0;

    *out = NULL;
    if (r == NULL)
        return ORC_ENOMEM;
    for (const char *p = text; rc == 0 && *p != '\0';) {
        const char *nl = strchr(p, '\n');
        size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);

        rc = text_line(r, &rs, p, n, ++lineno, &seen, errmsg, len);
        p += n + (nl != NULL ? 1 : 0);
    }
    if (rc == 0)
        rc = text_flush(r, &rs, lineno, errmsg, len);
    if (rc == 0 && rs == NULL)
        rs = disc_rs_new(0, NULL);
    if (rc == 0 && rs == NULL)
        rc = ORC_ENOMEM;
    text_row_reset(r);
    free(r);
    if (rc != 0) {
        disc_rs_free(rs);
        return rc;
    }
    *out = rs;
    return 0;
}

/* Appends v with the escapes disc_rs_parse_text undoes. */
static int format_value(struct orc_buf *b, const char *v)
{
    int rc = 0;

    if (v == NULL)
        return orc_buf_puts(b, "\\N");
    if (strcmp(v, "\\N") == 0)
        return orc_buf_puts(b, "\\\\N");
    for (; rc == 0 && *v != '\0'; v++) {
        if (*v == '\n')
            rc = orc_buf_puts(b, "\\n");
        else if (*v == '\r')
            rc = orc_buf_puts(b, "\\r");
        else if (*v == '\t')
            rc = orc_buf_puts(b, "\\t");
        else if (*v == '\\')
            rc = orc_buf_puts(b, "\\\\");
        else
            rc = orc_buf_putc(b, *v);
    }
    return rc;
}

int disc_rs_format_text(const struct disc_rs *rs, struct orc_buf *out)
{
    int rc = 0;

    if (rs->nrows == 0 && rs->ncols > 0) {
        rc = orc_buf_puts(out, "columns: ");
        for (size_t c = 0; rc == 0 && c < rs->ncols; c++)
            rc = orc_buf_printf(out, "%s%s", c ? "," : "", rs->cols[c]);
        return rc == 0 ? orc_buf_putc(out, '\n') : rc;
    }
    for (size_t r = 0; rc == 0 && r < rs->nrows; r++) {
        rc = orc_buf_printf(out, "*** %zu. row\n", r + 1);
        for (size_t c = 0; rc == 0 && c < rs->ncols; c++) {
            rc = orc_buf_printf(out, "%s: ", rs->cols[c]);
            if (rc == 0)
                rc = format_value(out, rs->cells[r * rs->ncols + c]);
            if (rc == 0)
                rc = orc_buf_putc(out, '\n');
        }
    }
    return rc;
}
