/* Internals shared by src/crypto files: the OpenSSL algorithm objects,
 * fetched once per process. */
#ifndef LOUPE_CRYPTO_INT_H
#define LOUPE_CRYPTO_INT_H

#include <openssl/evp.h>

/* SHA-256 and HMAC implementations, fetched on first use (thread-safe).
 * NULL if OpenSSL cannot provide them. Never freed: they live as long as
 * the process. */
EVP_MD *lp_crypto_md_sha256(void);
EVP_MAC *lp_crypto_mac_hmac(void);

#endif
