/*
 * config_policy: the "every accepted key does what it says, or is refused"
 * rules beyond the table's bounds, and the raft secret.
 *
 * Keys flagged ORC_CFG_UNSUPPORTED in config_keys.h are refused by the
 * loader (config.c: val_check) unless they hold their default. A few keys
 * have values other than the default that mean what this implementation
 * does anyway; they are listed here, so old orchestrator configs that spell
 * them that way still load.
 */
#include "common/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Minimum length of RaftSecret (bytes). */
#define RAFT_SECRET_MIN 16
#define RAFT_SECRET_FILE_MAX 4096

/* Values of unsupported STR keys that are what we do (names are never
 * resolved: an instance is known by the host:port it was found at). */
static const struct {
    const char *key;
    const char *values; /* '|'-separated, matched case-insensitively */
} equivalents[] = {
    {"HostnameResolveMethod", "none|default"},
    {"MySQLHostnameResolveMethod", "none|"},
};

static bool in_choices(const char *values, const char *v)
{
    size_t n = strlen(v);

    for (const char *p = values;; p++) {
        const char *bar = strchr(p, '|');
        size_t m = bar != NULL ? (size_t)(bar - p) : strlen(p);
        if (m == n && strncasecmp(p, v, n) == 0)
            return true;
        if (bar == NULL)
            return false;
        p = bar;
    }
}

bool orc_config_unsupported_accepts(const char *key, const char *value)
{
    for (size_t i = 0; i < ORC_ARRAY_LEN(equivalents); i++)
        if (strcmp(equivalents[i].key, key) == 0)
            return value != NULL && in_choices(equivalents[i].values, value);
    return false;
}

static int read_secret_file(const char *path, char **out, char *errmsg, size_t len)
{
    char buf[RAFT_SECRET_FILE_MAX + 1];
    struct stat st;
    ssize_t n;
    size_t k;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        orc_errf(errmsg, len, "cannot open '%s': %s", path, strerror(errno));
        return ORC_EIO;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        orc_errf(errmsg, len, "'%s' is not a regular file", path);
        return ORC_ECONFIG;
    }
    if (st.st_mode & (S_IROTH | S_IWOTH)) {
        close(fd);
        orc_errf(errmsg, len, "'%s' is accessible to others (mode %03o): chmod 0600 or 0640", path,
                 (unsigned)(st.st_mode & 0777));
        return ORC_ECONFIG;
    }
    n = read(fd, buf, RAFT_SECRET_FILE_MAX);
    close(fd);
    if (n < 0) {
        orc_errf(errmsg, len, "cannot read '%s': %s", path, strerror(errno));
        return ORC_EIO;
    }
    buf[n] = '\0';
    k = strcspn(buf, "\r\n"); /* the first line */
    while (k > 0 && (buf[k - 1] == ' ' || buf[k - 1] == '\t'))
        k--;
    buf[k] = '\0';
    *out = strdup(buf);
    explicit_bzero(buf, sizeof(buf));
    return *out != NULL ? 0 : ORC_ENOMEM;
}

int orc_config_finalize_raft_secret(struct orc_config *c, char *errmsg, size_t len)
{
    unsigned char src = c->sources[ORC_CFGK_RaftSecret];
    char *secret = NULL;
    int rc;

    if (c->RaftSecretFile[0] != '\0') {
        if (src != ORC_CFG_SRC_DEFAULT && src != ORC_CFG_SRC_DERIVED) {
            orc_errf(errmsg, len,
                     "key 'RaftSecretFile': set RaftSecret or RaftSecretFile, not both");
            return ORC_ECONFIG;
        }
        rc = read_secret_file(c->RaftSecretFile, &secret, errmsg, len);
        if (rc != 0) {
            orc_errprefix(errmsg, len, "key 'RaftSecretFile'");
            return rc;
        }
        free(c->RaftSecret);
        c->RaftSecret = secret;
        c->sources[ORC_CFGK_RaftSecret] = ORC_CFG_SRC_DERIVED;
    }
    if (c->RaftSecret[0] != '\0' && strlen(c->RaftSecret) < RAFT_SECRET_MIN) {
        orc_errf(errmsg, len, "key '%s': too short (at least %d bytes)",
                 c->RaftSecretFile[0] != '\0' ? "RaftSecretFile" : "RaftSecret", RAFT_SECRET_MIN);
        return ORC_ECONFIG;
    }
    return 0;
}
