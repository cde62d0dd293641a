/*
 * kv_http: one HTTP request to a KV store (etcd's JSON gateway, Consul) with
 * libcurl: connect and total timeouts always set, TLS with a CA, a client
 * certificate and an expected server name when configured. Bodies of any
 * size come back in a growing buffer (bounded: a store never sends us more
 * than REC_KV_HTTP_MAX).
 */
#include <curl/curl.h>
#include <string.h>

#include "recovery/kv.h"

#define REC_KV_HTTP_MAX (16 << 20)

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    struct orc_buf *b = arg;

    if (b->len + size * n > REC_KV_HTTP_MAX || orc_buf_append(b, p, size * n) != 0)
        return 0;
    return size * n;
}

static void set_tls(CURL *c, const struct rec_kv_http *h, struct curl_slist **hosts)
{
    if (h->cacert != NULL && h->cacert[0])
        curl_easy_setopt(c, CURLOPT_CAINFO, h->cacert);
    if (h->cert != NULL && h->cert[0]) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, h->cert);
        if (h->key != NULL && h->key[0])
            curl_easy_setopt(c, CURLOPT_SSLKEY, h->key);
    }
    if (h->skip_verify) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (h->connect_to != NULL && h->connect_to[0]) {
        *hosts = curl_slist_append(*hosts, h->connect_to);
        curl_easy_setopt(c, CURLOPT_CONNECT_TO, *hosts);
    }
}

static int outcome(CURLcode cc,
                   const struct rec_kv_http *h,
                   const char *cerr,
                   char *errmsg,
                   size_t len)
{
    if (cc == CURLE_OK)
        return 0;
    orc_errf(errmsg, len, "%s %s: %s", h->method, h->url, cerr[0] ? cerr : curl_easy_strerror(cc));
    return cc == CURLE_OPERATION_TIMEDOUT ? ORC_ETIMEDOUT : ORC_EIO;
}

int rec_kv_http_do(const struct rec_kv_http *h,
                   long *status,
                   struct orc_buf *body,
                   char *errmsg,
                   size_t len)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hdr = NULL, *hosts = NULL;
    char cerr[CURL_ERROR_SIZE] = "";
    CURLcode cc;
    int rc;

    *status = 0;
    if (c == NULL) {
        orc_errf(errmsg, len, "curl_easy_init failed");
        return ORC_ENOMEM;
    }
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
    if (h->header != NULL)
        hdr = curl_slist_append(hdr, h->header);
    curl_easy_setopt(c, CURLOPT_URL, h->url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, h->method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)h->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)h->timeout_ms);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    if (h->body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, h->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(h->body));
    }
    set_tls(c, h, &hosts);
    cc = curl_easy_perform(c);
    rc = outcome(cc, h, cerr, errmsg, len);
    if (rc == 0)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(hdr);
    curl_slist_free_all(hosts);
    curl_easy_cleanup(c);
    if (rc == 0 && body->data == NULL)
        orc_buf_puts(body, "");
    return rc;
}
