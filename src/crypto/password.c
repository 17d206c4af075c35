/* argon2id password hashes in PHC string form (libargon2). */
#include "loupe/crypto/password.h"

#include <argon2.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/core/util.h"

#define SALT_LEN 16
#define HASH_LEN 32

static int check_params(const lp_password_params *p, uint32_t *lanes, lp_error *err)
{
    *lanes = p->parallelism ? p->parallelism : 1;
    if (p->iterations < ARGON2_MIN_TIME)
        return lp_error_field(err, LP_E_INVALID, "kdf_iterations", "must be at least %d", ARGON2_MIN_TIME);
    if (*lanes > 64)
        return lp_error_field(err, LP_E_INVALID, "parallelism", "must be at most 64");
    if (p->memory_kib < 8 * *lanes)
        return lp_error_field(err, LP_E_INVALID, "kdf_memory_kib", "must be at least %u KiB (8 per lane)",
                              (unsigned)(8 * *lanes));
    return 0;
}

int lp_password_hash(const char *password, size_t len, const lp_password_params *params,
                     char *out, size_t cap, lp_error *err)
{
    uint8_t salt[SALT_LEN];
    uint32_t lanes;
    int rc;

    if (cap > 0)
        out[0] = '\0';
    if (check_params(params, &lanes, err) != 0)
        return -1;
    if (len > ARGON2_MAX_PWD_LENGTH)
        return lp_error_field(err, LP_E_INVALID, "password", "is too long");
    if (argon2_encodedlen(params->iterations, params->memory_kib, lanes, SALT_LEN, HASH_LEN, Argon2_id) > cap)
        return lp_error_set(err, LP_E_INTERNAL, "password hash buffer of %zu bytes is too small", cap);
    if (lp_random_bytes(salt, sizeof salt) != 0)
        return lp_error_set(err, LP_E_INTERNAL, "could not read random bytes for a password salt");
    rc = argon2id_hash_encoded(params->iterations, params->memory_kib, lanes, password ? password : "", len,
                               salt, sizeof salt, HASH_LEN, out, cap);
    if (rc != ARGON2_OK) {
        if (cap > 0)
            out[0] = '\0';
        return lp_error_set(err, rc == ARGON2_MEMORY_ALLOCATION_ERROR ? LP_E_NOMEM : LP_E_INTERNAL,
                            "argon2id hashing failed: %s", argon2_error_message(rc));
    }
    return 0;
}

int lp_password_verify(const char *encoded, const char *password, size_t len, lp_error *err)
{
    int rc;
    if (!encoded || strncmp(encoded, "$argon2id$", 10) != 0)
        return lp_error_set(err, LP_E_INTERNAL, "stored password hash is not an argon2id PHC string");
    if (len > ARGON2_MAX_PWD_LENGTH)
        return lp_error_set(err, LP_E_UNAUTHENTICATED, "wrong password");
    rc = argon2id_verify(encoded, password ? password : "", len);
    if (rc == ARGON2_OK)
        return 0;
    if (rc == ARGON2_VERIFY_MISMATCH)
        return lp_error_set(err, LP_E_UNAUTHENTICATED, "wrong password");
    if (rc == ARGON2_MEMORY_ALLOCATION_ERROR)
        return lp_error_set(err, LP_E_NOMEM, "argon2id verification ran out of memory");
    return lp_error_set(err, LP_E_INTERNAL, "stored password hash cannot be verified: %s", argon2_error_message(rc));
}

/* Reads "<name>=<decimal>" at *s, moving past it. 0 or -1. */
static int read_param(const char **s, char name, uint32_t *out)
{
    const char *p = *s;
    unsigned long v = 0;
    if (p[0] != name || p[1] != '=' || p[2] < '0' || p[2] > '9')
        return -1;
    p += 2;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (unsigned long)(*p++ - '0');
        if (v > 0xFFFFFFFFul)
            return -1;
    }
    *out = (uint32_t)v;
    *s = p;
    return 0;
}

int lp_password_needs_rehash(const char *encoded, const lp_password_params *params)
{
    const char *p = encoded;
    uint32_t m, t, lanes, want_lanes = params->parallelism ? params->parallelism : 1;
    if (!p || strncmp(p, "$argon2id$v=19$", 15) != 0)
        return 1;
    p += 15;
    if (read_param(&p, 'm', &m) || *p++ != ',' || read_param(&p, 't', &t) || *p++ != ',' ||
        read_param(&p, 'p', &lanes) || *p != '$')
        return 1;
    return m != params->memory_kib || t != params->iterations || lanes != want_lanes;
}
