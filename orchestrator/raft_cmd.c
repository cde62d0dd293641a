/*
 * raft_cmd: the pure parts of the raft module: the command wire format
 * (padded JSON), raft addresses (IPv4 a.b.c.d:port), stable ids, and this
 * node's advertised HTTP URI. No raft, no threads: unit-tested directly.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "orchestrator/raft.h"

size_t orc_raft_pad8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

uint64_t orc_raft_hash(const void *data, size_t n)
{
    return orc_fnv1a(ORC_FNV1A_INIT, data, n);
}

uint64_t orc_raft_id_of(const char *addr)
{
    uint64_t h = orc_raft_hash(addr, strlen(addr));

    return h == 0 ? 1 : h;
}

int orc_raft_cmd_encode(const char *op, const json_t *value, struct orc_buf *out)
{
    json_t *cmd;
    char *s;
    size_t n;
    int rc;

    if (op == NULL || *op == '\0')
        return ORC_EINVAL;
    cmd = json_pack("{s:s, s:O}", "op", op, "value", value ? (json_t *)value : json_null());
    if (cmd == NULL)
        return ORC_ENOMEM;
    s = json_dumps(cmd, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(cmd);
    if (s == NULL)
        return ORC_ENOMEM;
    n = strlen(s);
    orc_buf_reset(out);
    rc = orc_buf_append(out, s, n);
    free(s);
    while (rc == 0 && out->len % 8 != 0)
        rc = orc_buf_putc(out, ' ');
    return rc;
}

int orc_raft_cmd_decode(const void *data,
                        size_t n,
                        char *op,
                        size_t oplen,
                        json_t **value,
                        char *errmsg,
                        size_t len)
{
    json_error_t jerr;
    json_t *cmd = json_loadb(data, n, JSON_DECODE_ANY, &jerr);
    const char *o;
    int rc = 0;

    *value = NULL;
    if (cmd == NULL) {
        orc_errf(errmsg, len, "bad command: %s", jerr.text);
        return ORC_EINVAL;
    }
    o = json_string_value(json_object_get(cmd, "op"));
    if (!json_is_object(cmd) || o == NULL || *o == '\0') {
        orc_errf(errmsg, len, "bad command: no \"op\"");
        rc = ORC_EINVAL;
    } else if (orc_strlcpy(op, o, oplen) != 0) {
        orc_errf(errmsg, len, "bad command: op too long");
        rc = ORC_EINVAL;
    } else {
        *value = json_incref(json_object_get(cmd, "value"));
        if (*value == NULL)
            *value = json_null();
    }
    json_decref(cmd);
    return rc;
}

static int resolve_ipv4(const char *host, char *ip, size_t iplen, char *errmsg, size_t len)
{
    struct addrinfo hints, *res = NULL;
    struct in_addr a;
    int grc;

    if (inet_pton(AF_INET, host, &a) == 1)
        return orc_strlcpy(ip, host, iplen);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    grc = getaddrinfo(host, NULL, &hints, &res);
    if (grc != 0 || res == NULL) {
        orc_errf(errmsg, len, "cannot resolve '%s' to an IPv4 address: %s", host,
                 grc != 0 ? gai_strerror(grc) : "no address");
        return ORC_ENOTFOUND;
    }
    a = ((const struct sockaddr_in *)(const void *)res->ai_addr)->sin_addr;
    freeaddrinfo(res);
    if (inet_ntop(AF_INET, &a, ip, (socklen_t)iplen) == NULL)
        return ORC_EINVAL;
    return 0;
}

int orc_raft_addr_normalize(const char *in,
                            int default_port,
                            char *out,
                            size_t outlen,
                            char *errmsg,
                            size_t len)
{
    struct orc_key k;
    char ip[INET_ADDRSTRLEN];
    int rc;

    if (in == NULL || orc_key_parse(in, default_port, &k) != 0 || k.host[0] == '\0' ||
        k.port <= 0 || k.port > 65535) {
        orc_errf(errmsg, len, "invalid raft address '%s': expected host[:port]", in ? in : "");
        return ORC_EINVAL;
    }
    rc = resolve_ipv4(k.host, ip, sizeof(ip), errmsg, len);
    if (rc != 0)
        return rc;
    if ((size_t)snprintf(out, outlen, "%s:%d", ip, k.port) >= outlen) {
        orc_errf(errmsg, len, "raft address '%s' too long", in);
        return ORC_EINVAL;
    }
    return 0;
}

int orc_raft_http_uri(const struct orc_config *cfg, char *out, size_t len)
{
    const char *la = cfg->ListenAddress, *colon = strrchr(la, ':');
    struct orc_key k;
    int n;

    if (cfg->HTTPAdvertise[0] != '\0')
        return orc_strlcpy(out, cfg->HTTPAdvertise, len);
    if (colon == NULL || orc_key_parse(cfg->RaftAdvertise, (int)cfg->DefaultRaftPort, &k) != 0)
        return ORC_EINVAL;
    if (strchr(k.host, ':') != NULL) /* IPv6 literal */
        n = snprintf(out, len, "%s://[%s]:%s", cfg->UseSSL ? "https" : "http", k.host, colon + 1);
    else
        n = snprintf(out, len, "%s://%s:%s", cfg->UseSSL ? "https" : "http", k.host, colon + 1);
    return (n < 0 || (size_t)n >= len) ? ORC_EINVAL : 0;
}

bool orc_raft_may_promote(unsigned voters, unsigned waiting)
{
    return waiting > 0 && (voters % 2 == 0 || waiting >= 2);
}
