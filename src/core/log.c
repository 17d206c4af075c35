/* JSON-lines logging. See log.h. Each line is formatted into a stack buffer
 * and written with one write(2), so lines from different threads never mix. */
#include "loupe/core/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "loupe/core/trace.h"
#include "loupe/core/util.h"

#define LOG_LINE_MAX 8192

static lp_log_level g_min = LP_LOG_INFO;
static int g_fd = 2;
static _Thread_local char t_context[64];

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

int lp_log_level_parse(const char *s, lp_log_level *out)
{
    for (int i = 0; i <= LP_LOG_OFF; i++) {
        if (s && strcmp(s, level_names[i]) == 0) {
            *out = (lp_log_level)i;
            return 0;
        }
    }
    return -1;
}

const char *lp_log_level_name(lp_log_level level)
{
    return (level >= LP_LOG_DEBUG && level <= LP_LOG_OFF) ? level_names[level] : "info";
}

void lp_log_init(lp_log_level min_level, int fd)
{
    g_min = min_level;
    g_fd = fd;
}

int lp_log_enabled(lp_log_level level)
{
    return level >= g_min && level < LP_LOG_OFF;
}

void lp_log_set_context(const char *id)
{
    if (id)
        lp_strlcpy(t_context, id, sizeof(t_context));
    else
        t_context[0] = '\0';
}

const char *lp_log_context(void)
{
    return t_context;
}

size_t lp_json_escape(char *out, size_t cap, const char *s)
{
    size_t n = 0;
    static const char hex[] = "0123456789abcdef";
#define PUT(ch) do { if (n + 1 < cap) out[n] = (ch); n++; } while (0)
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            PUT('\\');
            PUT((char)c);
        } else if (c == '\n') {
            PUT('\\');
            PUT('n');
        } else if (c == '\r') {
            PUT('\\');
            PUT('r');
        } else if (c == '\t') {
            PUT('\\');
            PUT('t');
        } else if (c < 0x20 || c == 0x7f) {
            PUT('\\');
            PUT('u');
            PUT('0');
            PUT('0');
            PUT(hex[c >> 4]);
            PUT(hex[c & 15]);
        } else {
            PUT((char)c);
        }
    }
#undef PUT
    if (cap)
        out[n < cap ? n : cap - 1] = '\0';
    return n;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

void lp_log_fields(lp_log_level level, const char *module, const char *msg, const char *extra)
{
    if (!lp_log_enabled(level))
        return;
    char line[LOG_LINE_MAX];
    char ts[25];
    lp_time_iso8601(lp_now_wall_ms(), ts);
    size_t n = (size_t)snprintf(line, sizeof(line), "{\"ts\":\"%s\",\"level\":\"%s\",\"module\":\"", ts,
                                lp_log_level_name(level));
    /* the reserve of 64 bytes keeps room for the closing members */
    size_t room = sizeof(line) - 64;
    n += lp_json_escape(line + n, room > n ? room - n : 0, module);
    if (n > room) n = room;
    if (t_context[0]) {
        n += (size_t)snprintf(line + n, sizeof(line) - n, "\",\"request_id\":\"");
        n += lp_json_escape(line + n, room > n ? room - n : 0, t_context);
        if (n > room) n = room;
    }
    if (lp_trace_current()->trace_id[0])
        n += (size_t)snprintf(line + n, sizeof(line) - n, "\",\"trace_id\":\"%s", lp_trace_current()->trace_id);
    n += (size_t)snprintf(line + n, sizeof(line) - n, "\",\"msg\":\"");
    n += lp_json_escape(line + n, room > n ? room - n : 0, msg);
    if (n > room) n = room;
    line[n++] = '"';
    if (extra && *extra) {
        size_t el = strlen(extra);
        if (n + 1 + el < room) {
            line[n++] = ',';
            memcpy(line + n, extra, el);
            n += el;
        }
    }
    line[n++] = '}';
    line[n++] = '\n';
    write_all(g_fd, line, n);
}

void lp_log(lp_log_level level, const char *module, const char *fmt, ...)
{
    if (!lp_log_enabled(level))
        return;
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    lp_log_fields(level, module, msg, NULL);
}
