/*
 * wire: the server side of the MySQL client protocol, as much as a
 * topology manager uses: handshake v10 with mysql_native_password,
 * OK/ERR/EOF packets (no CLIENT_DEPRECATE_EOF) and text result sets.
 */
#include "tests/fleet/fleet.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CAP_LONG_PASSWORD 0x1u
#define CAP_FOUND_ROWS 0x2u
#define CAP_LONG_FLAG 0x4u
#define CAP_CONNECT_WITH_DB 0x8u
#define CAP_PROTOCOL_41 0x200u
#define CAP_TRANSACTIONS 0x2000u
#define CAP_SECURE_CONNECTION 0x8000u
#define CAP_MULTI_STATEMENTS 0x10000u
#define CAP_MULTI_RESULTS 0x20000u
#define CAP_PS_MULTI_RESULTS 0x40000u
#define CAP_PLUGIN_AUTH 0x80000u
#define CAP_CONNECT_ATTRS 0x100000u
#define CAP_LENENC_DATA 0x200000u
#define SERVER_CAPS                                                                               \
    (CAP_LONG_PASSWORD | CAP_FOUND_ROWS | CAP_LONG_FLAG | CAP_CONNECT_WITH_DB | CAP_PROTOCOL_41 | \
     CAP_TRANSACTIONS | CAP_SECURE_CONNECTION | CAP_MULTI_STATEMENTS | CAP_MULTI_RESULTS |        \
     CAP_PS_MULTI_RESULTS | CAP_PLUGIN_AUTH | CAP_CONNECT_ATTRS | CAP_LENENC_DATA)
#define STATUS_AUTOCOMMIT 0x2u
#define STATUS_MORE_RESULTS 0x8u
#define TYPE_VAR_STRING 0xfd
#define CHARSET_UTF8MB4 45

int64_t fleet_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int fleet_buf_put(struct fleet_buf *b, const void *data, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        unsigned char *p;

        while (cap < b->len + n)
            cap *= 2;
        p = realloc(b->p, cap);
        if (p == NULL)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    return 0;
}

void fleet_buf_release(struct fleet_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

static void put_u8(struct fleet_buf *b, unsigned v)
{
    unsigned char c = (unsigned char)v;

    (void)fleet_buf_put(b, &c, 1);
}

static void put_u16(struct fleet_buf *b, unsigned v)
{
    put_u8(b, v & 0xff);
    put_u8(b, (v >> 8) & 0xff);
}

static void put_u32(struct fleet_buf *b, uint32_t v)
{
    put_u16(b, v & 0xffff);
    put_u16(b, v >> 16);
}

static void put_lenenc(struct fleet_buf *b, uint64_t v)
{
    if (v < 251) {
        put_u8(b, (unsigned)v);
    } else if (v < 65536) {
        put_u8(b, 0xfc);
        put_u16(b, (unsigned)v);
    } else if (v < 16777216) {
        put_u8(b, 0xfd);
        put_u16(b, (unsigned)(v & 0xffff));
        put_u8(b, (unsigned)(v >> 16));
    } else {
        put_u8(b, 0xfe);
        put_u32(b, (uint32_t)v);
        put_u32(b, (uint32_t)(v >> 32));
    }
}

static void put_lenstr(struct fleet_buf *b, const char *s)
{
    size_t n = strlen(s);

    put_lenenc(b, n);
    (void)fleet_buf_put(b, s, n);
}

void fleet_wire_packet(struct fleet_wire *w, const void *payload, size_t n)
{
    const unsigned char *p = payload;

    /* payloads of 16 MB and more go in several packets */
    for (;;) {
        size_t chunk = n < 0xffffff ? n : 0xffffff;
        unsigned char hdr[4] = {chunk & 0xff, (chunk >> 8) & 0xff, (chunk >> 16) & 0xff, w->seq++};

        (void)fleet_buf_put(w->out, hdr, 4);
        (void)fleet_buf_put(w->out, p, chunk);
        p += chunk;
        n -= chunk;
        if (chunk < 0xffffff)
            break;
    }
}

static void send_buf(struct fleet_wire *w, struct fleet_buf *b)
{
    fleet_wire_packet(w, b->p, b->len);
    b->len = 0;
}

void fleet_wire_ok(struct fleet_wire *w, uint64_t affected, bool more)
{
    struct fleet_buf b = {0};

    put_u8(&b, 0);
    put_lenenc(&b, affected);
    put_lenenc(&b, 0);
    put_u16(&b, STATUS_AUTOCOMMIT | (more ? STATUS_MORE_RESULTS : 0));
    put_u16(&b, 0);
    send_buf(w, &b);
    fleet_buf_release(&b);
}

void fleet_wire_err(struct fleet_wire *w, int code, const char *state, const char *msg)
{
    struct fleet_buf b = {0};

    put_u8(&b, 0xff);
    put_u16(&b, (unsigned)code);
    put_u8(&b, '#');
    (void)fleet_buf_put(&b, state, 5);
    (void)fleet_buf_put(&b, msg, strlen(msg));
    send_buf(w, &b);
    fleet_buf_release(&b);
}

static void send_eof(struct fleet_wire *w, bool more)
{
    struct fleet_buf b = {0};

    put_u8(&b, 0xfe);
    put_u16(&b, 0);
    put_u16(&b, STATUS_AUTOCOMMIT | (more ? STATUS_MORE_RESULTS : 0));
    send_buf(w, &b);
    fleet_buf_release(&b);
}

static void send_column(struct fleet_wire *w, struct fleet_buf *b, const char *name)
{
    put_lenstr(b, "def");
    put_lenstr(b, "");
    put_lenstr(b, "");
    put_lenstr(b, "");
    put_lenstr(b, name);
    put_lenstr(b, name);
    put_u8(b, 0x0c);
    put_u16(b, CHARSET_UTF8MB4);
    put_u32(b, 1024);
    put_u8(b, TYPE_VAR_STRING);
    put_u16(b, 0);
    put_u8(b, 0);
    put_u16(b, 0);
    send_buf(w, b);
}

void fleet_wire_rs(struct fleet_wire *w,
                   const char *const *cols,
                   int ncols,
                   const char *const *vals,
                   int nrows,
                   bool more)
{
    struct fleet_buf b = {0};

    put_lenenc(&b, (uint64_t)ncols);
    send_buf(w, &b);
    for (int c = 0; c < ncols; c++)
        send_column(w, &b, cols[c]);
    send_eof(w, false);
    for (int r = 0; r < nrows; r++) {
        for (int c = 0; c < ncols; c++) {
            const char *v = vals[(size_t)r * (size_t)ncols + (size_t)c];

            if (v == NULL)
                put_u8(&b, 0xfb);
            else
                put_lenstr(&b, v);
        }
        send_buf(w, &b);
    }
    send_eof(w, more);
    fleet_buf_release(&b);
}

void fleet_wire_handshake(struct fleet_wire *w,
                          const char *version,
                          uint32_t conn_id,
                          const unsigned char scramble[20])
{
    struct fleet_buf b = {0};
    static const unsigned char zeros[10];

    put_u8(&b, 10);
    (void)fleet_buf_put(&b, version, strlen(version) + 1);
    put_u32(&b, conn_id);
    (void)fleet_buf_put(&b, scramble, 8);
    put_u8(&b, 0);
    put_u16(&b, SERVER_CAPS & 0xffff);
    put_u8(&b, CHARSET_UTF8MB4);
    put_u16(&b, STATUS_AUTOCOMMIT);
    put_u16(&b, SERVER_CAPS >> 16);
    put_u8(&b, 21);
    (void)fleet_buf_put(&b, zeros, 10);
    (void)fleet_buf_put(&b, scramble + 8, 12);
    put_u8(&b, 0);
    (void)fleet_buf_put(&b, "mysql_native_password", 22);
    send_buf(w, &b);
    fleet_buf_release(&b);
}

/* SHA1(password) XOR SHA1(scramble + SHA1(SHA1(password))) */
static void native_token(const char *password,
                         const unsigned char scramble[20],
                         unsigned char out[20])
{
    unsigned char h1[20], h2[20], h3[20], cat[40];

    SHA1((const unsigned char *)password, strlen(password), h1);
    SHA1(h1, 20, h2);
    memcpy(cat, scramble, 20);
    memcpy(cat + 20, h2, 20);
    SHA1(cat, 40, h3);
    for (int i = 0; i < 20; i++)
        out[i] = h1[i] ^ h3[i];
}

/* Reads a length-encoded integer; returns bytes used or 0. */
static size_t get_lenenc(const unsigned char *p, size_t n, uint64_t *v)
{
    if (n < 1)
        return 0;
    if (p[0] < 251) {
        *v = p[0];
        return 1;
    }
    if (p[0] == 0xfc && n >= 3) {
        *v = (uint64_t)p[1] | ((uint64_t)p[2] << 8);
        return 3;
    }
    if (p[0] == 0xfd && n >= 4) {
        *v = (uint64_t)p[1] | ((uint64_t)p[2] << 8) | ((uint64_t)p[3] << 16);
        return 4;
    }
    return 0;
}

int fleet_wire_check_auth(const unsigned char *p,
                          size_t n,
                          const unsigned char scramble[20],
                          const char *user,
                          const char *password,
                          char *who,
                          size_t wholen)
{
    uint32_t caps;
    size_t off = 32, ulen;
    uint64_t alen = 0;
    unsigned char want[20];

    who[0] = '\0';
    if (n < off + 1)
        return -1;
    caps = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
    ulen = strnlen((const char *)p + off, n - off);
    if (off + ulen >= n)
        return -1;
    snprintf(who, wholen, "%.*s", (int)ulen, (const char *)p + off);
    off += ulen + 1;
    if (caps & CAP_LENENC_DATA) {
        size_t used = get_lenenc(p + off, n - off, &alen);

        if (used == 0)
            return -1;
        off += used;
    } else if (off < n) {
        alen = p[off++];
    }
    if (off + alen > n || strcmp(who, user) != 0)
        return -1;
    if (password[0] == '\0')
        return alen == 0 ? 0 : -1;
    if (alen != 20)
        return -1;
    native_token(password, scramble, want);
    return memcmp(want, p + off, 20) == 0 ? 0 : -1;
}
