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

struct walk {
    const struct disc_snapshot *s;
    const struct disc_cluster *cl;
    bool *seen; /* by index within the cluster */
    struct line *lines;
    size_t n;
    int err;
    const char *const *tags; /* parallel to s->instances, or NULL */
};

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
        for (int d = 1; d < depth; d++)
            orc_buf_puts(&ln->text, "  ");
        orc_buf_puts(&ln->text, ok ? "+ " : "- ");
    }
    orc_buf_puts(&ln->text, orc_key_str(&in->key, key, sizeof(key)));
    if (in->instance_alias[0] != '\0')
        orc_buf_printf(&ln->text, " (%s)", in->instance_alias);
    if (ln->text.data == NULL)
        w->err = ORC_ENOMEM;
    fill_tokens(w->s, i, ln);
}

/* Depth-first from instance i; replicas in snapshot order (by key). */
static void visit(struct walk *w, size_t i, int depth)
{
    const struct disc_cluster *cl = w->cl;

    if (w->seen[i - cl->first] || (w->s->instances[i]->is_co_master && depth > 1) ||
        depth > DISC_MAX_DEPTH) /* the depth is the databases' to choose: bounded */
        return;
    w->seen[i - cl->first] = true;
    add_line(w, i, depth);
    for (size_t j = cl->first; j < cl->first + cl->count; j++) {
        const struct disc_instance *rep = w->s->instances[j];
        if (j != i && orc_key_eq(&rep->master_key, &w->s->instances[i]->key))
            visit(w, j, depth + 1);
    }
}

static void render_plain(struct line *lines, size_t n, struct orc_buf *out)
{
    size_t width = 0;

    for (size_t i = 0; i < n; i++)
        if (lines[i].text.len > width)
            width = lines[i].text.len;
    for (size_t i = 0; i < n; i++) {
        bool first = true;
        if (i > 0)
            orc_buf_putc(out, '\n');
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
        if (lines[i].text.len > width[0])
            width[0] = lines[i].text.len;
        for (int t = 0; t < TOKENS; t++)
            if (strlen(lines[i].tok[t]) > width[t + 1])
                width[t + 1] = strlen(lines[i].tok[t]);
    }
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            orc_buf_putc(out, '\n');
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
    struct walk w = {s, cl, NULL, NULL, 0, 0, tags};
    size_t start = out->len;

    w.seen = calloc(cl->count ? cl->count : 1, sizeof(bool));
    w.lines = calloc(cl->count ? cl->count : 1, sizeof(struct line));
    if (w.seen == NULL || w.lines == NULL) {
        w.err = ORC_ENOMEM;
        goto cleanup;
    }
    if (cl->master >= 0)
        visit(&w, (size_t)cl->master, 0);
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
    return w.err;
}
