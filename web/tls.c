/*
 * tls: HTTPS for the API and UI (libmicrohttpd with GnuTLS) and the checks of
 * mutual TLS: a client certificate signed by SSLCAFile, whose subject carries
 * one of SSLValidOUs when that list is not empty. libmicrohttpd asks for the
 * certificate when a trust file is given; verifying it is ours.
 *
 * Threads: web_tls_load/web_tls_release run at start/stop; web_tls_check_client
 * on the request's thread (it only reads that connection's session).
 */
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "web/web_int.h"

#define TLS_MAX_PEM (1024 * 1024)
#define TLS_MAX_OUS 16

/* Reads a PEM file (at most 1 MiB) into a NUL-terminated string. */
static int read_pem(const char *key, const char *path, char **out, char *errmsg, size_t len)
{
    FILE *f = fopen(path, "rb");
    struct orc_buf b = ORC_BUF_INIT;
    char chunk[4096];
    size_t n;

    *out = NULL;
    if (f == NULL) {
        orc_errf(errmsg, len, "%s '%s': %s", key, path, strerror(errno));
        return ORC_ECONFIG;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (b.len + n > TLS_MAX_PEM || orc_buf_append(&b, chunk, n) != 0) {
            fclose(f);
            orc_buf_release(&b);
            orc_errf(errmsg, len, "%s '%s': too large or out of memory", key, path);
            return ORC_ECONFIG;
        }
    }
    fclose(f);
    if (b.len == 0 || strstr(orc_buf_str(&b), "-----BEGIN ") == NULL) {
        orc_buf_release(&b);
        orc_errf(errmsg, len, "%s '%s': not a PEM file", key, path);
        return ORC_ECONFIG;
    }
    *out = orc_buf_detach(&b);
    return 0;
}

int web_tls_load(const struct orc_config *cfg, struct web_tls *t, char *errmsg, size_t len)
{
    struct stat st;
    int rc;

    memset(t, 0, sizeof(*t));
    if (!cfg->UseSSL)
        return 0;
    rc = read_pem("SSLCertFile", cfg->SSLCertFile, &t->cert, errmsg, len);
    if (rc == 0)
        rc = read_pem("SSLPrivateKeyFile", cfg->SSLPrivateKeyFile, &t->key, errmsg, len);
    if (rc == 0 && cfg->UseMutualTLS)
        rc = read_pem("SSLCAFile", cfg->SSLCAFile, &t->trust, errmsg, len);
    if (rc != 0) {
        web_tls_release(t);
        return rc;
    }
    if (stat(cfg->SSLPrivateKeyFile, &st) == 0 && (st.st_mode & 0077) != 0)
        ORC_LOG_W("+tls-key-mode", "file=%s mode=%03o hint=\"chmod 600\"", cfg->SSLPrivateKeyFile,
                  (unsigned)(st.st_mode & 0777));
    t->enabled = true;
    return 0;
}

void web_tls_release(struct web_tls *t)
{
    if (t->key != NULL)
        explicit_bzero(t->key, strlen(t->key));
    free(t->key);
    free(t->cert);
    free(t->trust);
    memset(t, 0, sizeof(*t));
}

/* The OU values of the subject of a DER certificate, into ous[] (owned). */
static size_t cert_ous(const gnutls_datum_t *der, char ous[][WEB_MAX_USER + 1], size_t max)
{
    gnutls_x509_crt_t crt;
    size_t n = 0;

    if (gnutls_x509_crt_init(&crt) != 0)
        return 0;
    if (gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER) == 0) {
        for (unsigned idx = 0; n < max; idx++) {
            size_t sz = WEB_MAX_USER + 1;
            if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME, idx, 0,
                                              ous[n], &sz) != 0)
                break;
            n++;
        }
    }
    gnutls_x509_crt_deinit(crt);
    return n;
}

int web_tls_check_client(void *conn, const struct orc_config *cfg, char *errmsg, size_t len)
{
    const union MHD_ConnectionInfo *ci;
    gnutls_session_t sess;
    const gnutls_datum_t *chain;
    unsigned int status = 0, nchain = 0;
    char ous[TLS_MAX_OUS][WEB_MAX_USER + 1];
    const char *ou_ptrs[TLS_MAX_OUS];
    size_t nous;

    if (!cfg->UseSSL || !cfg->UseMutualTLS)
        return 0;
    ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (ci == NULL || ci->tls_session == NULL) {
        orc_errf(errmsg, len, "no TLS session");
        return ORC_EPERM;
    }
    sess = (gnutls_session_t)ci->tls_session;
    chain = gnutls_certificate_get_peers(sess, &nchain);
    if (chain == NULL || nchain == 0) {
        orc_errf(errmsg, len, "a client certificate is required");
        return ORC_EPERM;
    }
    if (gnutls_certificate_verify_peers2(sess, &status) != 0 || status != 0) {
        orc_errf(errmsg, len, "client certificate not trusted (signed by SSLCAFile, valid now)");
        return ORC_EPERM;
    }
    nous = cert_ous(&chain[0], ous, TLS_MAX_OUS);
    for (size_t i = 0; i < nous; i++)
        ou_ptrs[i] = ous[i];
    if (!web_ou_allowed(cfg->SSLValidOUs.v, cfg->SSLValidOUs.n, ou_ptrs, nous)) {
        orc_errf(errmsg, len, "client certificate OU not in SSLValidOUs");
        return ORC_EPERM;
    }
    return 0;
}
