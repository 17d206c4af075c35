/* Password hashing with argon2id (libargon2).
 *
 * A hash is the PHC string "$argon2id$v=19$m=<KiB>,t=<iterations>,p=<lanes>$<salt>$<hash>"
 * (salt 16 random bytes, hash 32 bytes, both unpadded standard base64), so
 * the parameters travel with the hash and can be raised later: verify reads
 * them from the string, lp_password_needs_rehash says when to re-hash at the
 * next successful login. Hashing costs kdf_memory_kib of memory and CPU time
 * on purpose; callers run it outside any lock. */
#ifndef LOUPE_CRYPTO_PASSWORD_H
#define LOUPE_CRYPTO_PASSWORD_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/error.h"

/* Room for any encoded hash this module writes (with the NUL). */
#define LP_PASSWORD_HASH_MAX 160

typedef struct lp_password_params {
    uint32_t memory_kib; /* cfg->kdf_memory_kib; at least 8 * parallelism */
    uint32_t iterations; /* cfg->kdf_iterations; at least 1 */
    uint32_t parallelism; /* lanes; 0 means 1 */
} lp_password_params;

/* Hashes len bytes of password with a fresh random salt into out (cap bytes,
 * LP_PASSWORD_HASH_MAX is enough). Returns 0, or -1 with err set
 * (LP_E_INVALID for bad parameters, LP_E_NOMEM / LP_E_INTERNAL otherwise). */
int lp_password_hash(const char *password, size_t len, const lp_password_params *params,
                     char *out, size_t cap, lp_error *err);

/* Checks password against an encoded hash. Returns 0 when it matches; -1
 * otherwise: err->code LP_E_UNAUTHENTICATED for a wrong password, LP_E_INTERNAL
 * for a stored hash that is not a valid argon2id string. Takes the same time
 * whatever the password. */
int lp_password_verify(const char *encoded, const char *password, size_t len, lp_error *err);

/* 1 if encoded was made with parameters other than params (or cannot be
 * parsed), so it should be replaced after a successful verify; else 0. */
int lp_password_needs_rehash(const char *encoded, const lp_password_params *params);

#endif
