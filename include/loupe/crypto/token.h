/* Random tokens and their comparison.
 *
 * A token is the unpadded base64url text of n random bytes from the kernel
 * CSPRNG: session ids, CSRF tokens, secrets. Compare presented tokens with
 * lp_token_equal, never strcmp. */
#ifndef LOUPE_CRYPTO_TOKEN_H
#define LOUPE_CRYPTO_TOKEN_H

#include <stddef.h>

/* Most random bytes one token may carry. */
#define LP_TOKEN_MAX_BYTES 256

/* Writes the base64url text of nbytes random bytes (1..LP_TOKEN_MAX_BYTES)
 * into out, which needs lp_base64url_len(nbytes) + 1 bytes (44 for 32 bytes).
 * Returns 0, or -1 if nbytes is out of range, cap too small or the CSPRNG
 * failed (out is then an empty string when cap > 0). */
int lp_token_new(size_t nbytes, char *out, size_t cap);

/* 1 if the NUL-terminated strings a and b are equal, else 0. Takes time that
 * depends on their lengths only, never on where they differ (lengths are not
 * secret: a token's length is public). NULL equals nothing. */
int lp_token_equal(const char *a, const char *b);

#endif
