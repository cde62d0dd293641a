/* Instance keys: "host:port", as orchestrator's InstanceKey. */
#include "common/orc.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

int orc_key_from(const char *host, const char *port, struct orc_key *out)
{
    int64_t p;

    memset(out, 0, sizeof(*out)); /* keys are hashed and compared as bytes too */
    if (host == NULL || *host == '\0')
        return ORC_EINVAL;
    if (orc_parse_int64(port, 1, 65535, &p) != 0)
        return ORC_EINVAL;
    if (orc_strlcpy(out->host, host, sizeof(out->host)) != 0)
        return ORC_EINVAL;
    out->port = (int)p;
    return 0;
}

int orc_key_parse(const char *s, int default_port, struct orc_key *out)
{
    const char *colon;
    size_t hl;
    int64_t p = default_port;

    memset(out, 0, sizeof(*out));
    if (s == NULL || *s == '\0')
        return ORC_EINVAL;
    if (s[0] == '[') { /* [ipv6]:port */
        const char *close = strchr(s, ']');
        if (close == NULL)
            return ORC_EINVAL;
        hl = (size_t)(close - s - 1);
        if (close[1] == ':') {
            if (orc_parse_int64(close + 2, 1, 65535, &p) != 0)
                return ORC_EINVAL;
        } else if (close[1] != '\0') {
            return ORC_EINVAL;
        }
        s++;
    } else {
        colon = strrchr(s, ':');
        if (colon != NULL && strchr(s, ':') != colon)
            colon = NULL; /* bare IPv6 without brackets: no port */
        if (colon != NULL) {
            if (orc_parse_int64(colon + 1, 1, 65535, &p) != 0)
                return ORC_EINVAL;
            hl = (size_t)(colon - s);
        } else {
            hl = strlen(s);
        }
    }
    if (hl == 0 || hl >= sizeof(out->host) || p <= 0)
        return ORC_EINVAL;
    memcpy(out->host, s, hl);
    out->host[hl] = '\0';
    out->port = (int)p;
    return 0;
}

char *orc_key_str(const struct orc_key *k, char *buf, size_t len)
{
    if (strchr(k->host, ':') != NULL)
        snprintf(buf, len, "[%s]:%d", k->host, k->port);
    else
        snprintf(buf, len, "%s:%d", k->host, k->port);
    return buf;
}

int orc_key_cmp(const struct orc_key *a, const struct orc_key *b)
{
    int c = strcmp(a->host, b->host);

    if (c != 0)
        return c;
    return (a->port > b->port) - (a->port < b->port);
}

bool orc_key_eq(const struct orc_key *a, const struct orc_key *b)
{
    return a->port == b->port && strcmp(a->host, b->host) == 0;
}

bool orc_key_valid(const struct orc_key *k)
{
    return k->host[0] != '\0' && strcmp(k->host, "_") != 0 && strncmp(k->host, "//", 2) != 0 &&
           k->port > 0;
}

bool orc_host_safe(const char *host)
{
    if (host == NULL || *host == '\0' || *host == '-')
        return false;
    for (const char *p = host; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == '_' || c == ':' || c == '%';
        if (!ok)
            return false;
    }
    return true;
}
