/* Small libc-only helpers: clocks, random ids, hex, string checks. */
#ifndef LOUPE_CORE_UTIL_H
#define LOUPE_CORE_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds on the monotonic clock / since the Unix epoch. */
int64_t lp_now_mono_ms(void);
int64_t lp_now_mono_us(void);
int64_t lp_now_wall_ms(void);

/* "2026-01-02T03:04:05.678Z" of a Unix time in ms; out needs 25 bytes. */
void lp_time_iso8601(int64_t wall_ms, char out[25]);

/* Fills p with n bytes from the kernel CSPRNG (getrandom). 0 or -1. */
int lp_random_bytes(void *p, size_t n);

/* Random RFC 4122 version 4 UUID as text; out needs 37 bytes. 0 or -1. */
int lp_uuid_v4(char out[37]);

/* n time-ordered UUIDs (RFC 9562 version 7) as text, the layout of the
 * database's loupe_uuid_v7() (migrations/0007): 48 bits of Unix time in ms,
 * a 32-bit creation counter of this process, 40 random bits. Ids made later
 * by one process sort after earlier ones (the clock never runs back for
 * them), so out[0..n) is in ascending order. One system call for the
 * random bits of up to 256 ids. 0 or -1. */
int lp_uuid_v7(char (*out)[37], size_t n);

/* 1 if s is a canonical lowercase or uppercase UUID text (36 chars). */
int lp_is_uuid(const char *s);

/* Lowercase hex of n bytes into out (2n+1 bytes). */
void lp_hex_encode(const void *p, size_t n, char *out);

/* strcmp in time independent of where the strings differ (same length
 * compares fully). 1 if equal. */
int lp_const_time_eq(const void *a, const void *b, size_t n);

/* Creates directory path and any missing parents with mode (existing ones
 * are fine). 0, or -1 with errno set (ENAMETOOLONG past 4095 bytes). */
int lp_mkdir_p(const char *path, unsigned mode);

/* The entry of list (NULL-terminated) equal to s, or NULL (also when s is NULL). */
const char *lp_strv_find(const char *const *list, const char *s);

/* Copies at most cap-1 bytes and NUL-terminates; returns strlen(src). */
size_t lp_strlcpy(char *dst, const char *src, size_t cap);

/* 1 if s is valid UTF-8 of len bytes with no NUL. */
int lp_utf8_valid(const char *s, size_t len);

/* 1 if s is a non-empty RFC 9110 token (the syntax of an HTTP field name). */
int lp_is_token(const char *s);

#endif
