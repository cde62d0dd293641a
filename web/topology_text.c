/*
 * topology_text: orchestrator's ASCII tree of one cluster (the Details of
 * `topology` and `topology-tabulated`). One line per instance, starting at
 * the cluster's master, replicas below their master indented two spaces per
 * level, "+ " before a replica that replicates and was checked recently,
 * "- " before any other. Each line is "host:port[ (alias)]" then the
 * description "[lag,state,version,ro|rw,binlog format,extras]" aligned on its
 * "[" over all lines, e.g.
 *
 *   127.0.0.1:3306   [0s,ok,10.11.6-MariaDB-log,rw,ROW,>>]
 *   + 127.0.0.1:3307 [0s,ok,10.11.6-MariaDB-log,ro,ROW,>>,GTID]
 *   - 127.0.0.1:3308 [null,nonreplicating,10.11.6-MariaDB-log,ro,ROW,>>,GTID]
 *
 * The tabulated form separates the same tokens with "|" and pads every column.
 *
 * The databases choose the depth: the walk keeps its path on a heap stack
 * (no recursion) and draws DISC_MAX_DEPTH levels; below that one line per
 * parent reads "- ... replicas of host:port not shown: deeper than 128
 * levels". The output is at most one line per instance of the cluster.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discovery/disc.h"
#include "web/web_int.h"

#define TOKENS 6

struct line {
    struct orc_buf text; /* prefix + key + alias */
    char tok[TOKENS][160];
    const char *tags; /* topology-tags: "a,b=c" (borrowed), else NULL */
    bool cutoff;      /* the depth cut-off marker: text only */
};

static void lag_token(const struct disc_snapshot *s, size_t i, char *out, size_t n)
{
    const struct disc_instance *in = s->instances[i];
    bool replica = disc_instance_is_replica(in);

    if (in->is_detached)
        orc_strlcpy(out, "detached", n);
    else if (!disc_snapshot_check_valid(s, (int)i) || !disc_snapshot_recently_checked(s, (int)i))
        orc_strlcpy(out, "unknown", n);
    else if (replica && (!disc_instance_replicating(in) || !in->replication_lag_seconds.valid))
        orc_strlcpy(out, "null", n);
    else
        snprintf(
            out, n, "%llds",
            (long long)(in->replication_lag_seconds.valid ? in->replication_lag_seconds.value : 0));
}

static const char *state_token(const struct disc_snapshot *s, size_t i)
{
    const struct disc_instance *in = s->instances[i];

    if (!disc_snapshot_check_valid(s, (int)i))
        return "invalid";
    if (!disc_snapshot_recently_checked(s, (int)i))
        return "unchecked";
    if (disc_instance_is_replica(in) && !disc_instance_replicating(in))
        return "nonreplicating";
    return "ok";
}

static void extras_token(const struct disc_snapshot *s, size_t i, char *out, size_t n)
{
    const struct disc_instance *in = s->instances[i];
    bool downtimed = s->annots ? s->annots[i].downtimed : in->is_downtimed;
    const char *parts[6];
    int np = 0;

    if (in->log_bin && in->log_replica_updates)
        parts[np++] = ">>";
    if (in->using_oracle_gtid || in->using_mariadb_gtid || in->supports_oracle_gtid)
        parts[np++] = disc_str(in->gtid_errant)[0] ? "GTID:errant" : "GTID";
    if (in->semi_sync_master_status)
        parts[np++] = "semi:master";
    if (in->semi_sync_replica_status)
        parts[np++] = "semi:replica";
    if (downtimed)
        parts[np++] = "downtimed";
    out[0] = '\0';
    for (int p = 0; p < np; p++) {
        size_t l = strlen(out);
        snprintf(out + l, n - l, "%s%s", p ? "," : "", parts[p]);
    }
}

static void fill_tokens(const struct disc_snapshot *s, size_t i, struct line *ln)
{
    const struct disc_instance *in = s->instances[i];

    lag_token(s, i, ln->tok[0], sizeof(ln->tok[0]));
    orc_strlcpy(ln->tok[1], state_token(s, i), sizeof(ln->tok[1]));
    orc_strlcpy(ln->tok[2], in->version, sizeof(ln->tok[2]));
    orc_strlcpy(ln->tok[3], in->read_only ? "ro" : "rw", sizeof(ln->tok[3]));
    orc_strlcpy(ln->tok[4], in->log_bin ? in->binlog_format : "nobinlog", sizeof(ln->tok[4]));
    extras_token(s, i, ln->tok[5], sizeof(ln->tok[5]));
}

/* One instance on the walk's path from the master: its replicas are
 * scanned in snapshot order from `next`. */
struct frame {
    size_t i;
    size_t next;
    int depth;
};

struct walk {
    const struct disc_snapshot *s;
    const struct disc_cluster *cl;
    bool *seen; /* by index within the cluster */
    struct line *lines;
    size_t n, cap; /* lines used, allocated */
    int err;
    const char *const *tags; /* parallel to s->instances, or NULL */
    struct frame *stack;     /* DISC_MAX_DEPTH + 1 frames, heap */
};

static void indent(struct orc_buf *b, int depth)
{
    for (int d = 1; d < depth; d++)
        orc_buf_puts(b, "  ");
}

static void add_line(struct walk *w, size_t i, int depth)
{
    const struct disc_instance *in = w->s->instances[i];
    struct line *ln = &w->lines[w->n++];
    char key[ORC_KEY_STRLEN];

    orc_buf_init(&ln->text);
    ln->tags = w->tags ? (w->tags[i] ? w->tags[i] : "") : NULL;
    if (depth > 0) {
        bool ok = disc_instance_replicating(in) && disc_snapshot_check_valid(w->s, (int)i) &&
                  disc_snapshot_recently_checked(w->s, (int)i);
        indent(&ln->text, depth);
        orc_buf_puts(&ln->text, ok ? "+ " : "- ");
    }
    orc_buf_puts(&ln->text, orc_key_str(&in->key, key, sizeof(key)));
    if (in->instance_alias[0] != '\0')
        orc_buf_printf(&ln->text, " (%s)", in->instance_alias);
    if (ln->text.data == NULL)
        w->err = ORC_ENOMEM;
    fill_tokens(w->s, i, ln);
}

/* The visible cut-off where replicas of instance i (at DISC_MAX_DEPTH) are
 * not drawn: a line without tokens, at their indentation. */
static void add_cutoff(struct walk *w, size_t i, int depth)
{
    struct line *ln = &w->lines[w->n++];
    char key[ORC_KEY_STRLEN];

    orc_buf_init(&ln->text);
    ln->cutoff = true;
    indent(&ln->text, depth);
    orc_buf_printf(&ln->text, "- ... replicas of %s not shown: deeper than %d levels",
                   orc_key_str(&w->s->instances[i]->key, key, sizeof(key)), DISC_MAX_DEPTH);
    if (ln->text.data == NULL)
        w->err = ORC_ENOMEM;
}

/* The next replica of f's instance at or after f->next, or -1. */
static long next_replica(const struct walk *w, struct frame *f)
{
    const struct disc_cluster *cl = w->cl;
    const struct orc_key *key = &w->s->instances[f->i]->key;

    for (; f->next < cl->first + cl->count; f->next++) {
        size_t j = f->next;

        if (j != f->i && orc_key_eq(&w->s->instances[j]->master_key, key)) {
            f->next++;
            return (long)j;
        }
    }
    return -1;
}

/*
 * Depth-first from the master, replicas in snapshot order (by key); a line
 * per instance in pre-order. The depth is the databases' to choose, so the
 * path lives in a heap stack of at most DISC_MAX_DEPTH + 1 frames, and the
 * replicas below that depth are replaced by one cut-off line per parent.
 */
static void walk_tree(struct walk *w, size_t master)
{
    const struct disc_cluster *cl = w->cl;
    int top = 0;

    w->seen[master - cl->first] = true;
    add_line(w, master, 0);
    w->stack[0] = (struct frame){master, cl->first, 0};
    while (top >= 0) {
        struct frame *f = &w->stack[top];
        long j = next_replica(w, f);
        int depth = f->depth + 1;

        if (j < 0) {
            top--;
            continue;
        }
        if (w->seen[(size_t)j - cl->first] || (w->s->instances[j]->is_co_master && depth > 1))
            continue;
        if (depth > DISC_MAX_DEPTH) {
            if (w->n < w->cap)
                add_cutoff(w, f->i, depth);
            /* one cut-off line per parent: skip its other replicas */
            f->next = cl->first + cl->count;
            continue;
        }
        if (w->n == w->cap)
            break; /* cannot happen: one line per instance, at most */
        w->seen[(size_t)j - cl->first] = true;
        add_line(w, (size_t)j, depth);
        w->stack[++top] = (struct frame){(size_t)j, cl->first, depth};
    }
}
static void render_plain(struct line *lines, size_t n, struct orc_buf *out)
{
    size_t width = 0;

    for (size_t i = 0; i < n; i++)
        if (!lines[i].cutoff && lines[i].text.len > width)
            width = lines[i].text.len;
    for (size_t i = 0; i < n; i++) {
        bool first = true;
        if (i > 0)
            orc_buf_putc(out, '\n');
        if (lines[i].cutoff) {
            orc_buf_puts(out, orc_buf_str(&lines[i].text));
            continue;
        }
        orc_buf_printf(out, "%-*s [", (int)width, orc_buf_str(&lines[i].text));
        for (int t = 0; t < TOKENS; t++) {
            if (lines[i].tok[t][0] == '\0')
                continue;
            orc_buf_printf(out, "%s%s", first ? "" : ",", lines[i].tok[t]);
            first = false;
        }
        orc_buf_putc(out, ']');
        if (lines[i].tags != NULL)
            orc_buf_printf(out, " [%s]", lines[i].tags);
    }
}

static void render_tabulated(struct line *lines, size_t n, struct orc_buf *out)
{
    size_t width[TOKENS + 1] = {0};

    for (size_t i = 0; i < n; i++) {
        if (lines[i].cutoff)
            continue;
        if (lines[i].text.len > width[0])
            width[0] = lines[i].text.len;
        for (int t = 0; t < TOKENS; t++)
            if (strlen(lines[i].tok[t]) > width[t + 1])
                width[t + 1] = strlen(lines[i].tok[t]);
    }
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            orc_buf_putc(out, '\n');
        if (lines[i].cutoff) {
            orc_buf_puts(out, orc_buf_str(&lines[i].text));
            continue;
        }
        orc_buf_printf(out, "%-*s", (int)width[0], orc_buf_str(&lines[i].text));
        for (int t = 0; t < TOKENS; t++)
            orc_buf_printf(out, "|%*s", (int)width[t + 1], lines[i].tok[t]);
    }
}

int web_topology_text(const struct disc_snapshot *s, size_t c, bool tabulated, struct orc_buf *out)
{
    return web_topology_text_tags(s, c, tabulated, NULL, out);
}

int web_topology_text_tags(const struct disc_snapshot *s,
                           size_t c,
                           bool tabulated,
                           const char *const *tags,
                           struct orc_buf *out)
{
    const struct disc_cluster *cl = &s->clusters[c];
    struct walk w = {.s = s, .cl = cl, .tags = tags};
    size_t start = out->len;

    /* a line per instance drawn, a cut-off line per instance not drawn at most */
    w.cap = cl->count + 1;
    w.seen = calloc(w.cap, sizeof(bool));
    w.lines = calloc(w.cap, sizeof(struct line));
    w.stack = calloc(DISC_MAX_DEPTH + 1, sizeof(struct frame));
    if (w.seen == NULL || w.lines == NULL || w.stack == NULL) {
        w.err = ORC_ENOMEM;
        goto cleanup;
    }
    if (cl->master >= 0)
        walk_tree(&w, (size_t)cl->master);
    if (tabulated)
        render_tabulated(w.lines, w.n, out);
    else
        render_plain(w.lines, w.n, out);
    if (w.n > 0 && out->len == start)
        w.err = ORC_ENOMEM;
cleanup:
    for (size_t i = 0; w.lines != NULL && i < w.n; i++)
        orc_buf_release(&w.lines[i].text);
    free(w.lines);
    free(w.seen);
    free(w.stack);
    return w.err;
}
