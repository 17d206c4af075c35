/* Logging: one JSON object per line on stderr (or a chosen stream).
 *
 *   {"ts":"2026-01-01T00:00:00.000Z","level":"info","module":"http",
 *    "request_id":"…","trace_id":"…","msg":"…", …extra members…}
 *
 * The request or job id is thread-local context (lp_log_set_context), so every
 * line written while serving a request carries it without threading it through
 * every call; so is the trace id (lp_trace_set_current, loupe/core/trace.h). Thread-safe: each line is one write(2). */
#ifndef LOUPE_CORE_LOG_H
#define LOUPE_CORE_LOG_H

#include <stdarg.h>
#include <stdio.h>

typedef enum lp_log_level { LP_LOG_DEBUG = 0, LP_LOG_INFO, LP_LOG_WARN, LP_LOG_ERROR, LP_LOG_OFF } lp_log_level;

/* Parses "debug" | "info" | "warn" | "error" | "off". Returns -1 if unknown. */
int lp_log_level_parse(const char *s, lp_log_level *out);
const char *lp_log_level_name(lp_log_level level);

/* Minimum level and output fd (default: info, fd 2). Call before threads start. */
void lp_log_init(lp_log_level min_level, int fd);
int lp_log_enabled(lp_log_level level);

/* Thread-local context: the id of the request or job being served (copied;
 * NULL clears). */
void lp_log_set_context(const char *id);
const char *lp_log_context(void);

/* A line with a printf message. */
void lp_log(lp_log_level level, const char *module, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A line with a message and extra members given as a JSON object body
 * fragment already escaped by the caller, e.g. "\"status\":200,\"ms\":1.2"
 * (lp_json_escape helps). extra may be NULL. */
void lp_log_fields(lp_log_level level, const char *module, const char *msg, const char *extra);

/* Appends s JSON-escaped (without quotes) to out of capacity cap; returns the
 * length it would need (like snprintf), out always NUL-terminated if cap > 0. */
size_t lp_json_escape(char *out, size_t cap, const char *s);

#define LP_DEBUG(mod, ...) do { if (lp_log_enabled(LP_LOG_DEBUG)) lp_log(LP_LOG_DEBUG, mod, __VA_ARGS__); } while (0)
#define LP_INFO(mod, ...)  lp_log(LP_LOG_INFO, mod, __VA_ARGS__)
#define LP_WARN(mod, ...)  lp_log(LP_LOG_WARN, mod, __VA_ARGS__)
#define LP_ERROR(mod, ...) lp_log(LP_LOG_ERROR, mod, __VA_ARGS__)

#endif
