/*
 * raft_join: the joiner thread, which keeps this node in the configuration
 * (every node with RaftNodes runs it; it is idle while all is well).
 *
 * Each second it looks at the state copy and asks the cluster to add this
 * node, through GET /api/raft-add-peer/<self>?role=voter|nonvoter&rejoin=<ms
 * this process has run>, when:
 *  - this node is not in the configuration it knows (a node started outside
 *    RaftNodes, or with RaftNonVoter, or one that learnt it was removed);
 *  - it has had no leader for ORC_RAFT_REJOIN_MS: libraft 0.15 never tells a
 *    removed node it was removed (the leader stops talking to it, the others
 *    refuse its pre-votes), so it keeps campaigning. The leader answers at
 *    once when the node is still a member (a partition, not a removal);
 *  - it is a standby that should vote (not RaftNonVoter): repeating the
 *    request keeps it on the leader's list of standbys to promote.
 * The leader adds such a node as a standby and promotes it when the number
 * of voters stays odd (raft_members.c). Requests go to the known leader URI,
 * then to every leader URI learnt from the log, then to orchestrator's
 * conventional URIs (host of each RaftNodes entry, port of this node's
 * ListenAddress), until one answers 200: followers forward them.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "orchestrator/raft_int.h"
#include "web/web.h"

#define JOIN_EVERY_MS 1000

static bool joiner_stopping(struct orc_raft *r)
{
    bool s;

    pthread_mutex_lock(&r->alock);
    s = r->jstop;
    pthread_mutex_unlock(&r->alock);
    return s;
}

static int joiner_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    return joiner_stopping(arg) ? 1 : 0;
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

/* One join request to base (scheme://host:port); true on HTTP 200. */
static bool join_via(struct orc_raft *r, CURL *curl, const char *base, bool loud)
{
    const struct orc_config *c = r->cfg;
    const char *role = c->RaftNonVoter ? "nonvoter" : "voter";
    char url[ORC_RAFT_URI_MAX + 512], proof[ORC_RAFT_PROOF_MAX] = "";
    long status = 0;

    /* with RaftSecret: the proof that this node holds it (raft_auth.c) */
    orc_raft_auth_join_proof(c->RaftSecret, r->advertise, role, time(NULL), proof, sizeof(proof));
    snprintf(url, sizeof(url), "%s%s/api/raft-add-peer/%s?role=%s&rejoin=%lld%s%s", base,
             c->URLPrefix, r->advertise, role, (long long)(orc_mono_ms() - r->start_ms),
             proof[0] ? "&proof=" : "", proof);
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)ORC_RAFT_CHANGE_TIMEOUT_MS + 10000L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, joiner_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, r);
    web_curl_tls(curl, c, NULL, NULL, NULL); /* SSLCAFile, client cert under mutual TLS */
    if (c->HTTPAuthUser[0] != '\0') {
        curl_easy_setopt(curl, CURLOPT_USERNAME, c->HTTPAuthUser);
        curl_easy_setopt(curl, CURLOPT_PASSWORD, c->HTTPAuthPassword);
    }
    if (curl_easy_perform(curl) != CURLE_OK)
        return false;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (status == 200 && loud)
        ORC_LOG_N("+raft-join-requested", "via=%s role=%s", base, role);
    else if (status != 200)
        ORC_LOG_D("+raft-join-refused", "via=%s status=%ld", base, status);
    return status == 200;
}

/* The leader URIs this node learnt from the log (any thread). */
static size_t known_uris(struct orc_raft *r, char out[][ORC_RAFT_URI_MAX], size_t max)
{
    size_t n = 0;

    pthread_mutex_lock(&r->slock);
    for (size_t i = 0; i < r->nuris && n < max; i++)
        if (strcmp(r->uris[i].uri, r->http_uri) != 0)
            orc_strlcpy(out[n++], r->uris[i].uri, ORC_RAFT_URI_MAX);
    pthread_mutex_unlock(&r->slock);
    return n;
}

/* One round over the known leader URI, the leader URIs of the log and the
 * conventional ones; true once a node accepted the request. */
static bool join_round(struct orc_raft *r, CURL *curl, const char *leader_uri, bool loud)
{
    const struct orc_config *c = r->cfg;
    const char *port = strrchr(c->ListenAddress, ':');
    char uris[ORC_RAFT_URI_MAP][ORC_RAFT_URI_MAX];
    char base[ORC_HOST_MAX + 64];
    size_t n = known_uris(r, uris, ORC_RAFT_URI_MAP);

    if (leader_uri[0] != '\0' && strcmp(leader_uri, r->http_uri) != 0 &&
        join_via(r, curl, leader_uri, loud))
        return true;
    for (size_t i = 0; i < n && !joiner_stopping(r); i++)
        if (strcmp(uris[i], leader_uri) != 0 && join_via(r, curl, uris[i], loud))
            return true;
    for (size_t i = 0; port != NULL && i < c->RaftNodes.n && !joiner_stopping(r); i++) {
        struct orc_key k;

        if (orc_key_parse(c->RaftNodes.v[i], (int)c->DefaultRaftPort, &k) != 0)
            continue;
        snprintf(base, sizeof(base), "%s://%s:%s", c->UseSSL ? "https" : "http", k.host, port + 1);
        if (strcmp(base, r->http_uri) != 0 && join_via(r, curl, base, loud))
            return true;
    }
    return false;
}

/* Whether to ask now: 0 no, 1 quietly (a standby waiting for its promotion),
 * 2 loudly (not a member, or no leader for ORC_RAFT_REJOIN_MS). *leaderless
 * is the orc_mono_ms() since which no leader is known (0: one is). */
static int join_needed(struct orc_raft *r, const struct orc_raft_info *st, int64_t *leaderless)
{
    int64_t now = orc_mono_ms();
    bool none = st->leader[0] == '\0' || strcmp(st->state, "Candidate") == 0;

    if (strcmp(st->state, "Shutdown") == 0)
        return 0;
    if (!st->member)
        return 2;
    if (!none) {
        *leaderless = 0;
        return !st->voter && !r->cfg->RaftNonVoter ? 1 : 0;
    }
    if (*leaderless == 0)
        *leaderless = now;
    return now - *leaderless >= ORC_RAFT_REJOIN_MS ? 2 : 0;
}

/* The joiner's memory between rounds. */
struct join_state {
    int64_t leaderless; /* see join_needed */
    bool member;        /* in the configuration at the last round */
    bool told;          /* the rejoin of this leaderless spell was logged */
};

static void joiner_round(struct orc_raft *r, CURL *curl, struct join_state *js)
{
    struct orc_raft_info *st = malloc(sizeof(*st));
    bool loud;
    int need;

    if (st == NULL)
        return;
    orc_raft_info(r, st);
    if (st->member && !js->member)
        ORC_LOG_N("+raft-joined", "advertise=%s role=%s", r->advertise,
                  st->voter ? "voter" : "standby");
    js->member = st->member;
    need = join_needed(r, st, &js->leaderless);
    js->told = js->told && js->leaderless != 0;
    loud = need == 2 && (!st->member || !js->told);
    if (need == 2 && st->member && !js->told)
        ORC_LOG_N("+raft-rejoining", "advertise=%s state=%s leaderless_ms=%lld", r->advertise,
                  st->state, (long long)(orc_mono_ms() - js->leaderless));
    if (need > 0)
        join_round(r, curl, st->leader_uri, loud);
    js->told = js->told || (need == 2 && st->member);
    free(st);
}

static void *joiner_main(void *arg)
{
    struct orc_raft *r = arg;
    CURL *curl = curl_easy_init();
    struct timespec ts;
    struct join_state js = {.member = r->bootstrap};

    while (curl != NULL && !joiner_stopping(r)) {
        joiner_round(r, curl, &js);
        orc_deadline(&ts, JOIN_EVERY_MS);
        pthread_mutex_lock(&r->alock);
        while (!r->jstop)
            if (pthread_cond_timedwait(&r->jcv, &r->alock, &ts) == ETIMEDOUT)
                break;
        pthread_mutex_unlock(&r->alock);
    }
    if (curl != NULL)
        curl_easy_cleanup(curl);
    return NULL;
}

int orc_raft_joiner_start(struct orc_raft *r, char *errmsg, size_t len)
{
    int e;

    if (r->cfg->RaftNodes.n == 0)
        return 0; /* nobody to ask */
    if (!r->bootstrap)
        ORC_LOG_N("+raft-joining", "advertise=%s role=%s", r->advertise,
                  r->cfg->RaftNonVoter ? "nonvoter" : "voter");
    e = pthread_create(&r->joiner, NULL, joiner_main, r);
    if (e != 0) {
        orc_errf(errmsg, len, "start the raft joiner: %s", strerror(e));
        return ORC_EIO;
    }
    r->joiner_started = true;
    return 0;
}

void orc_raft_joiner_stop(struct orc_raft *r)
{
    if (!r->joiner_started)
        return;
    pthread_mutex_lock(&r->alock);
    r->jstop = true;
    pthread_cond_broadcast(&r->jcv);
    pthread_mutex_unlock(&r->alock);
    pthread_join(r->joiner, NULL);
    r->joiner_started = false;
}
