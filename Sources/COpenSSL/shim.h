// OpenSSL 3 (libssl-dev): libcrypto for SHA-256 (block names) and random
// keys, libssl for the TLS 1.3 migration transport.
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/bio.h>
#include <sys/socket.h>
#include <errno.h>

#ifndef MSG_NOSIGNAL
// macOS has no MSG_NOSIGNAL; the channel sets SO_NOSIGPIPE on the socket there.
#define MSG_NOSIGNAL 0
#endif

// Swift cannot call function-like C macros, so the few libssl macros the
// transport needs get a real function here. Each one only forwards.

static inline int capsule_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}

static inline int capsule_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_max_proto_version(ctx, version);
}

static inline long capsule_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_mode(ctx, mode);
}

static inline int capsule_SSL_set_app_data(SSL *ssl, void *data) {
    return SSL_set_app_data(ssl, data);
}

static inline void *capsule_SSL_get_app_data(const SSL *ssl) {
    return SSL_get_app_data(ssl);
}

static inline int capsule_ERR_GET_REASON(unsigned long e) {
    return ERR_GET_REASON(e);
}

static inline int capsule_ERR_GET_LIB(unsigned long e) {
    return ERR_GET_LIB(e);
}

// A socket BIO that sends with MSG_NOSIGNAL. OpenSSL's own socket BIO writes
// with write(2), which raises SIGPIPE (and kills the process) when the peer
// has gone; a migration sender must instead see a clean error and keep its
// capsule. The fd is non-blocking: EAGAIN becomes "retry", and the channel
// waits with poll(2) under its own deadline.

static inline int capsule_sockbio_fd(BIO *b) {
    return (int)(intptr_t)BIO_get_data(b);
}

static inline int capsule_sockbio_write(BIO *b, const char *data, size_t len, size_t *written) {
    BIO_clear_retry_flags(b);
    ssize_t n;
    do { n = send(capsule_sockbio_fd(b), data, len, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
    if (n >= 0) { *written = (size_t)n; return 1; }
    if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_write(b);
    *written = 0;
    return 0;
}

static inline int capsule_sockbio_read(BIO *b, char *data, size_t len, size_t *readbytes) {
    BIO_clear_retry_flags(b);
    ssize_t n;
    do { n = recv(capsule_sockbio_fd(b), data, len, 0); } while (n < 0 && errno == EINTR);
    if (n > 0) { *readbytes = (size_t)n; return 1; }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) BIO_set_retry_read(b);
    // n == 0 is end of stream: no retry flag, OpenSSL reports the EOF.
    *readbytes = 0;
    return 0;
}

static inline long capsule_sockbio_ctrl(BIO *b, int cmd, long num, void *ptr) {
    (void)b; (void)num; (void)ptr;
    // Nothing is buffered here, so a flush is always complete.
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static inline int capsule_sockbio_create(BIO *b) {
    BIO_set_init(b, 1);
    return 1;
}

/// One method table per TLS context (freed with BIO_meth_free by its owner).
static inline BIO_METHOD *capsule_sockbio_method_new(void) {
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                                 "capsule socket");
    if (!m) return NULL;
    BIO_meth_set_write_ex(m, capsule_sockbio_write);
    BIO_meth_set_read_ex(m, capsule_sockbio_read);
    BIO_meth_set_ctrl(m, capsule_sockbio_ctrl);
    BIO_meth_set_create(m, capsule_sockbio_create);
    return m;
}

/// A BIO over `fd` that does not own it (the channel closes the fd).
static inline BIO *capsule_sockbio_new(BIO_METHOD *method, int fd) {
    BIO *b = BIO_new(method);
    if (b) BIO_set_data(b, (void *)(intptr_t)fd);
    return b;
}
