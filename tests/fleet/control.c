/*
 * control: a tiny HTTP endpoint on loopback to change the fleet while it
 * runs. GET /kill?port=N (close and refuse), /hang?port=N (accept, never
 * answer), /revive?port=N, /lag?port=N&seconds=S[&moves=1],
 * /latency?port=N&ms=M, /trickle?port=N&ms=M, /instances (JSON of the
 * shard's instances and their replication state).
 */
#include "tests/fleet/fleet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The integer value of query argument name in the request line; dflt if absent. */
static long arg(const char *req, const char *name, long dflt)
{
    char key[32];
    const char *p, *eol = strstr(req, "\r\n");

    snprintf(key, sizeof(key), "%s=", name);
    for (p = strstr(req, key); p != NULL && (eol == NULL || p < eol); p = strstr(p + 1, key))
        if (p[-1] == '?' || p[-1] == '&')
            return strtol(p + strlen(key), NULL, 10);
    return dflt;
}

static void reply(struct fleet_buf *out, int code, const char *type, const char *body)
{
    char hdr[160];

    snprintf(hdr, sizeof(hdr),
             "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: "
             "close\r\n\r\n",
             code, code == 200 ? "OK" : "Not Found", type, strlen(body));
    (void)fleet_buf_put(out, hdr, strlen(hdr));
    (void)fleet_buf_put(out, body, strlen(body));
}

static const char *state_name(enum fleet_state s)
{
    return s == FLEET_UP ? "up" : s == FLEET_KILLED ? "killed" : "hung";
}

static void instances(struct fleet_loop *l, struct fleet_buf *out)
{
    struct fleet_model *m = fleet_loop_model(l);
    struct fleet_buf b = {0};
    char row[256];

    (void)fleet_buf_put(&b, "[", 1);
    for (int i = 0; i < m->n; i++) {
        const struct fleet_inst *in = &m->inst[i];
        int n = snprintf(row, sizeof(row),
                         "%s{\"port\":%d,\"server_id\":%ld,\"cluster\":%d,\"state\":\"%s\","
                         "\"master_port\":%d,\"io\":\"%s\",\"read_only\":%s}",
                         i ? "," : "", in->port, in->server_id, in->cluster, state_name(in->state),
                         in->has_master_cfg ? in->master_port : 0,
                         in->has_master_cfg ? fleet_model_io_state(m, in) : "",
                         in->read_only ? "true" : "false");

        (void)fleet_buf_put(&b, row, (size_t)n);
    }
    (void)fleet_buf_put(&b, "]\n", 3);
    reply(out, 200, "application/json", (const char *)b.p);
    fleet_buf_release(&b);
}

void fleet_control_answer(struct fleet_loop *l, const char *req, struct fleet_buf *out)
{
    struct fleet_model *m = fleet_loop_model(l);
    long port = arg(req, "port", -1);
    int idx = port > 0 && port < 65536 ? m->by_port[port] : -1;
    int rc = 0;

    if (strncmp(req, "GET /instances", 14) == 0) {
        instances(l, out);
        return;
    }
    if (idx < 0) {
        reply(out, 404, "text/plain", "no such instance\n");
        return;
    }
    if (strncmp(req, "GET /kill?", 10) == 0)
        rc = fleet_loop_kill(l, idx);
    else if (strncmp(req, "GET /hang?", 10) == 0)
        rc = fleet_loop_hang(l, idx);
    else if (strncmp(req, "GET /revive?", 12) == 0)
        rc = fleet_loop_revive(l, idx);
    else if (strncmp(req, "GET /lag?", 9) == 0) {
        m->inst[idx].lag_s = (int)arg(req, "seconds", 0);
        m->inst[idx].lag_moves = arg(req, "moves", 0) != 0;
    } else if (strncmp(req, "GET /latency?", 13) == 0)
        m->inst[idx].latency_ms = (int)arg(req, "ms", 0);
    else if (strncmp(req, "GET /trickle?", 13) == 0)
        m->inst[idx].trickle_ms = (int)arg(req, "ms", 0);
    else {
        reply(out, 404, "text/plain", "unknown command\n");
        return;
    }
    reply(out, rc == 0 ? 200 : 404, "text/plain", rc == 0 ? "ok\n" : "failed\n");
}
