// Debian's OpenSSL 3 for Parley: the headers Swift needs, and static inline shims for the macros Swift cannot call.
#ifndef PARLEY_COPENSSL_H
#define PARLEY_COPENSSL_H

// SRTP keeps pre-keyed SHA-1 states (SHA1_Init/Update/Final, deprecated in OpenSSL 3 but still its fastest,
// allocation-free path) so that HMAC needs no heap work per packet.
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

static inline long parley_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }
static inline long parley_SSL_CTX_set_options(SSL_CTX *ctx, long op) { return (long)SSL_CTX_set_options(ctx, op); }
static inline int parley_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int v) { return (int)SSL_CTX_set_min_proto_version(ctx, v); }
static inline int parley_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int v) { return (int)SSL_CTX_set_max_proto_version(ctx, v); }
static inline int parley_SSL_CTX_set1_groups_list(SSL_CTX *ctx, const char *list) { return (int)SSL_CTX_set1_groups_list(ctx, list); }
static inline long parley_SSL_set_options(SSL *ssl, long op) { return (long)SSL_set_options(ssl, op); }
static inline long parley_DTLS_set_link_mtu(SSL *ssl, long mtu) { return DTLS_set_link_mtu(ssl, mtu); }
static inline long parley_SSL_set_mtu(SSL *ssl, long mtu) { return SSL_set_mtu(ssl, mtu); }
static inline long parley_DTLSv1_get_timeout(SSL *ssl, struct timeval *tv) { return DTLSv1_get_timeout(ssl, tv); }
static inline long parley_DTLSv1_handle_timeout(SSL *ssl) { return DTLSv1_handle_timeout(ssl); }
/* A browser-like retransmission timer: 100 ms, doubling to at most 1.6 s (OpenSSL's own starts at 1 s). */
static inline unsigned int parley_dtls_fast_timer(SSL *ssl, unsigned int timer_us) {
    (void)ssl;
    if (timer_us == 0) return 100000;
    return timer_us >= 800000 ? 1600000 : timer_us * 2;
}
static inline void parley_DTLS_use_fast_timer(SSL *ssl) { DTLS_set_timer_cb(ssl, parley_dtls_fast_timer); }
static inline int parley_BIO_reset(BIO *b) { return (int)BIO_reset(b); }
static inline long parley_BIO_set_mem_eof_return(BIO *b, long v) { return BIO_set_mem_eof_return(b, v); }
static inline EVP_PKEY *parley_EVP_EC_gen_p256(void) { return EVP_EC_gen("P-256"); }
static inline const long parley_SSL_OP_NO_QUERY_MTU(void) { return SSL_OP_NO_QUERY_MTU; }
static inline const long parley_SSL_MODE_AUTO_RETRY(void) { return SSL_MODE_AUTO_RETRY; }
static inline const int parley_DTLS1_2_VERSION(void) { return DTLS1_2_VERSION; }
static inline const int parley_SSL_ERROR_WANT_READ(void) { return SSL_ERROR_WANT_READ; }
static inline const int parley_EVP_CTRL_GCM_SET_IVLEN(void) { return EVP_CTRL_GCM_SET_IVLEN; }
static inline const int parley_EVP_CTRL_GCM_GET_TAG(void) { return EVP_CTRL_GCM_GET_TAG; }
static inline const int parley_EVP_CTRL_GCM_SET_TAG(void) { return EVP_CTRL_GCM_SET_TAG; }

#endif
