/* Text encodings of binary data: hex decoding and base64url (RFC 4648 §5).
 *
 * Padded standard base64 is for formats that require it (Standard Webhooks).
 * Hex encoding is lp_hex_encode in loupe/core/util.h. Decoders are strict:
 * anything that is not the canonical encoding of some bytes is rejected, so
 * one value has exactly one accepted text (tokens compare as text). */
#ifndef LOUPE_CRYPTO_ENCODE_H
#define LOUPE_CRYPTO_ENCODE_H

#include <stddef.h>
#include <stdint.h>

/* Decodes len hex characters (either case) into out of capacity cap.
 * Returns the number of bytes written, or -1 if len is odd, a character is
 * not hex, or the result would not fit. */
long lp_hex_decode(const char *s, size_t len, uint8_t *out, size_t cap);

/* Length of the unpadded base64url text of n bytes (without the NUL). */
size_t lp_base64url_len(size_t n);

/* Encodes n bytes as unpadded base64url into out of capacity cap, which must
 * hold lp_base64url_len(n) + 1 bytes. Returns the text length, or -1 if cap
 * is too small (out is then an empty string when cap > 0). */
long lp_base64url_encode(const void *p, size_t n, char *out, size_t cap);

/* Decodes len characters of unpadded base64url into out of capacity cap.
 * Rejects '=' padding, characters outside A-Z a-z 0-9 - _, a length of 1
 * modulo 4, and non-zero unused trailing bits. Returns the number of bytes
 * written, or -1. */
long lp_base64url_decode(const char *s, size_t len, uint8_t *out, size_t cap);

/* Length of the padded base64 text (RFC 4648 §4) of n bytes (without the NUL). */
size_t lp_base64_len(size_t n);

/* Encodes n bytes as padded base64 (alphabet + and /) into out, which must
 * hold lp_base64_len(n) + 1 bytes. Returns the text length, or -1. */
long lp_base64_encode(const void *p, size_t n, char *out, size_t cap);

/* Decodes padded base64 (a length multiple of 4, at most two '='; the same
 * strictness as lp_base64url_decode otherwise). Returns the number of bytes
 * written, or -1. */
long lp_base64_decode(const char *s, size_t len, uint8_t *out, size_t cap);

#endif
