/*
 * auth: who is asking and what they may do. The authentication methods
 * (basic, multi, proxy), the cross-site check of mutating routes, and the
 * small pure checks they rest on (user header values, power users, OU lists,
 * UTF-8), kept apart from the server so the unit tests reach them.
 *
 * Threads: called on the request's libmicrohttpd thread; no shared state.
 */
#include <grp.h>
#include <microhttpd.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "web/web_int.h"

#define AUTH_MAX_GROUPS 256
#define AUTH_PW_BUF 16384

bool web_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;

    while (p < end) {
        unsigned c = *p;
        size_t k;
        unsigned min, cp;

        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            k = 1, min = 0x80, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            k = 2, min = 0x800, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            k = 3, min = 0x10000, cp = c & 0x07;
        else
            return false;
        if ((size_t)(end - p) <= k)
            return false;
        for (size_t i = 1; i <= k; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += k + 1;
    }
    return true;
}

bool web_auth_user_valid(const char *v)
{
    size_t n = 0;

    if (v == NULL || *v == '\0')
        return false;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++, n++)
        if (*p < 0x21 || *p == 0x7f || n >= WEB_MAX_USER)
            return false;
    return web_utf8_valid(v, n);
}

bool web_auth_power_user(char *const *users, size_t n, const char *user)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(users[i], "*") == 0 || strcmp(users[i], user) == 0)
            return true;
    return false;
}

bool web_ou_allowed(char *const *valid, size_t nvalid, const char *const *ous, size_t nous)
{
    if (nvalid == 0)
        return true;
    for (size_t i = 0; i < nous; i++)
        for (size_t j = 0; j < nvalid; j++)
            if (strcmp(ous[i], valid[j]) == 0)
                return true;
    return false;
}

/* "scheme://authority/..." -> authority (pointer and length); false if none. */
static bool url_authority(const char *url, const char **a, size_t *n)
{
    const char *sep = strstr(url, "://");

    if (sep == NULL || sep == url)
        return false;
    *a = sep + 3;
    *n = strcspn(*a, "/?#");
    return *n > 0;
}

static bool authority_is(const char *a, size_t n, const char *host)
{
    return host != NULL && strlen(host) == n && strncasecmp(a, host, n) == 0;
}

bool web_csrf_allowed(const char *fetch_site,
                      const char *origin,
                      const char *referer,
                      const char *host,
                      const char *fwd_host)
{
    const char *a;
    size_t n;

    if (fetch_site != NULL)
        return strcasecmp(fetch_site, "same-origin") == 0 || strcasecmp(fetch_site, "none") == 0;
    if (origin != NULL) {
        if (!url_authority(origin, &a, &n))
            return false; /* "null" (sandboxed frames, redirects) and garbage */
        return authority_is(a, n, host) || authority_is(a, n, fwd_host);
    }
    if (referer != NULL && url_authority(referer, &a, &n))
        return authority_is(a, n, host) || authority_is(a, n, fwd_host);
    return true; /* no browser marker: curl, orchestrator-client, our CLI */
}

bool web_auth_groups_match(char *const *allowed,
                           size_t nallowed,
                           const char *const *groups,
                           size_t ngroups)
{
    return nallowed > 0 && web_ou_allowed(allowed, nallowed, groups, ngroups);
}

/* Unix groups of user on this host (orchestrator's os.UserInGroups). */
static bool user_in_groups(const char *user, char *const *allowed, size_t nallowed)
{
    struct passwd pw, *pwp = NULL;
    gid_t gids[AUTH_MAX_GROUPS];
    int ng = AUTH_MAX_GROUPS;
    char *buf;
    bool found = false;

    if (nallowed == 0 || (buf = malloc(AUTH_PW_BUF)) == NULL)
        return false;
    if (getpwnam_r(user, &pw, buf, AUTH_PW_BUF, &pwp) != 0 || pwp == NULL ||
        getgrouplist(user, pw.pw_gid, gids, &ng) < 0) {
        free(buf);
        return false;
    }
    for (int i = 0; i < ng && !found; i++) {
        struct group gr, *grp = NULL;
        const char *name;

        if (getgrgid_r(gids[i], &gr, buf, AUTH_PW_BUF, &grp) != 0 || grp == NULL)
            continue;
        name = gr.gr_name;
        found = web_auth_groups_match(allowed, nallowed, &name, 1);
    }
    free(buf);
    return found;
}

static bool secure_eq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = (unsigned char)(la != lb);

    for (size_t i = 0; i < la && i < lb; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0 && lb > 0;
}

/* basic and multi: HTTP basic against HTTPAuthUser/HTTPAuthPassword; multi
 * also lets "readonly" in with any password, for reads. */
static bool auth_basic(struct web_req *r, bool multi)
{
    const struct orc_config *cfg = r->deps->cfg;
    char *pass = NULL;
    char *user = MHD_basic_auth_get_username_password((struct MHD_Connection *)r->conn, &pass);
    bool ok = false;

    if (user != NULL && pass != NULL && secure_eq(user, cfg->HTTPAuthUser) &&
        secure_eq(pass, cfg->HTTPAuthPassword)) {
        ok = true;
        r->user = cfg->HTTPAuthUser;
    } else if (multi && user != NULL && strcmp(user, "readonly") == 0) {
        ok = true;
        r->user = "readonly";
        r->can_write = false;
    }
    MHD_free(user);
    MHD_free(pass);
    return ok;
}

/* proxy: the reverse proxy in front authenticated the user and names it in
 * AuthUserHeader. Without the header the request did not come through it. */
static bool auth_proxy(struct web_req *r)
{
    const struct orc_config *cfg = r->deps->cfg;
    const char *user = MHD_lookup_connection_value((struct MHD_Connection *)r->conn,
                                                   MHD_HEADER_KIND, cfg->AuthUserHeader);

    if (!web_auth_user_valid(user))
        return false;
    r->user = user;
    if (!web_auth_power_user(cfg->PowerAuthUsers.v, cfg->PowerAuthUsers.n, user) &&
        !user_in_groups(user, cfg->PowerAuthGroups.v, cfg->PowerAuthGroups.n))
        r->can_write = false;
    return true;
}

bool web_authenticate(struct web_req *r, unsigned flags)
{
    const struct orc_config *cfg = r->deps->cfg;
    const char *method = cfg->AuthenticationMethod;
    bool ok;

    r->can_write = !cfg->ReadOnly;
    r->user = NULL;
    r->authenticated = false;
    if (method[0] == '\0')
        ok = true;
    else if (strcmp(method, "basic") == 0)
        ok = auth_basic(r, false);
    else if (strcmp(method, "multi") == 0)
        ok = auth_basic(r, true);
    else if (strcmp(method, "proxy") == 0)
        ok = auth_proxy(r);
    else
        ok = false; /* a method without an implementation never lets anybody in */
    r->authenticated = ok;
    if (!ok) {
        r->can_write = false;
        r->user = NULL;
    }
    return ok || (flags & WEB_NOAUTH) != 0;
}

bool web_csrf_check(struct web_req *r)
{
    struct MHD_Connection *c = r->conn;

    return web_csrf_allowed(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-Fetch-Site"),
                            MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin"),
                            MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Referer"),
                            MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host"),
                            MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Forwarded-Host"));
}
