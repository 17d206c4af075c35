/* Configuration table, parsing and printing. See config.h and config.def. */
#include "loupe/core/config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/core/log.h"
#include "loupe/core/util.h"

static const lp_cfg_entry table[] = {
#define LP_CFG(name, type, def, min, max, help) \
    {#name, LP_CFG_##type, def, (int64_t)(min), (int64_t)(max), help, offsetof(lp_config, name)},
#include "loupe/core/config.def"
#undef LP_CFG
};

#define TABLE_LEN (sizeof(table) / sizeof(table[0]))
#define CONFIG_LINE_MAX 4096

const lp_cfg_entry *lp_config_table(size_t *count)
{
    *count = TABLE_LEN;
    return table;
}

const lp_cfg_entry *lp_config_find(const char *name)
{
    for (size_t i = 0; i < TABLE_LEN; i++)
        if (strcmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

static int is_string(lp_cfg_type t) { return t == LP_CFG_STR || t == LP_CFG_SECRET; }

/* Parses an unsigned decimal with an optional suffix from units[]; scales with overflow checks. */
typedef struct unit { const char *suffix; int64_t factor; } unit;

static int parse_scaled(const char *s, const unit *units, int64_t *out)
{
    if (!s)
        return -1;
    while (isspace((unsigned char)*s))
        s++;
    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || v > INT64_MAX)
        return -1;
    const char *suf = end;
    size_t slen = strlen(suf);
    while (slen && isspace((unsigned char)suf[slen - 1]))
        slen--;
    int64_t factor = -1;
    for (const unit *u = units; u->suffix; u++) {
        if (strlen(u->suffix) == slen && strncasecmp(suf, u->suffix, slen) == 0) {
            factor = u->factor;
            break;
        }
    }
    if (factor < 0)
        return -1;
    if (factor > 1 && (int64_t)v > INT64_MAX / factor)
        return -1;
    *out = (int64_t)v * factor;
    return 0;
}

int lp_parse_size(const char *s, int64_t *out)
{
    static const unit units[] = {{"", 1}, {"b", 1}, {"k", 1024}, {"kb", 1024}, {"kib", 1024},
                                 {"m", 1024 * 1024}, {"mb", 1024 * 1024}, {"mib", 1024 * 1024},
                                 {"g", 1024LL * 1024 * 1024}, {"gb", 1024LL * 1024 * 1024},
                                 {"gib", 1024LL * 1024 * 1024}, {"t", 1024LL * 1024 * 1024 * 1024},
                                 {"tb", 1024LL * 1024 * 1024 * 1024}, {"tib", 1024LL * 1024 * 1024 * 1024},
                                 {NULL, 0}};
    return parse_scaled(s, units, out);
}

int lp_parse_duration_ms(const char *s, int64_t *out)
{
    static const unit units[] = {{"", 1}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"min", 60000},
                                 {"h", 3600000}, {"d", 86400000}, {NULL, 0}};
    return parse_scaled(s, units, out);
}

int lp_parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (s && strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (s && strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

static int parse_int(const char *s, int64_t *out)
{
    if (!s || !*s)
        return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    while (isspace((unsigned char)*end))
        end++;
    if (errno || *end || end == s)
        return -1;
    *out = v;
    return 0;
}

/* Settings an earlier release had and this one no longer reads: a configuration file that still
 * names one starts with a warning instead of failing (docs/CONFIG.md, "Retired settings"). */
static const char *const retired_settings[] = {
    "signin_tracked_keys", /* sign-in failures are counted in PostgreSQL now, across nodes */
};

static bool is_retired(const char *name)
{
    for (size_t i = 0; i < sizeof retired_settings / sizeof *retired_settings; i++)
        if (strcmp(name, retired_settings[i]) == 0)
            return true;
    return false;
}

int lp_config_set(lp_config *cfg, const char *name, const char *value, const char *source, lp_error *err)
{
    const lp_cfg_entry *e = lp_config_find(name);
    if (!e && is_retired(name)) {
        LP_WARN("config", "%s: the setting \"%s\" is retired and ignored; remove it", source, name);
        return 0;
    }
    if (!e) {
        lp_error_set(err, LP_E_INVALID, "%s: unknown setting \"%s\"", source, name);
        return lp_error_hint(err, "run `louped --help` for the list of settings");
    }
    char *field = (char *)cfg + e->offset;
    if (is_string(e->type)) {
        char *copy = strdup(value);
        if (!copy)
            return lp_error_set(err, LP_E_NOMEM, "%s: out of memory", source);
        free(*(char **)field);
        *(char **)field = copy;
        return 0;
    }
    if (e->type == LP_CFG_BOOL) {
        int b;
        if (lp_parse_bool(value, &b) != 0)
            return lp_error_set(err, LP_E_INVALID, "%s: %s: \"%s\" is not a boolean (use true or false)", source,
                                name, value);
        *(int *)field = b;
        return 0;
    }
    if (e->type == LP_CFG_REAL) {
        char *end;
        double d;
        errno = 0;
        d = strtod(value, &end);
        if (end == value || *end || errno || d != d)
            return lp_error_set(err, LP_E_INVALID, "%s: %s: \"%s\" is not a number (e.g. 1 or 0.001)", source, name,
                                value);
        if (d < (double)e->min || d > (double)e->max)
            return lp_error_set(err, LP_E_INVALID, "%s: %s: %g is outside %" PRId64 " … %" PRId64, source, name, d,
                                e->min, e->max);
        *(double *)field = d;
        return 0;
    }
    int64_t v;
    int rc = e->type == LP_CFG_SIZE ? lp_parse_size(value, &v)
             : e->type == LP_CFG_MS ? lp_parse_duration_ms(value, &v)
                                    : parse_int(value, &v);
    if (rc != 0) {
        static const char *const what[] = {[LP_CFG_INT] = "an integer",
                                           [LP_CFG_SIZE] = "a size (e.g. 512k, 64M, 2G)",
                                           [LP_CFG_MS] = "a duration (e.g. 250ms, 5s, 2m, 1h)"};
        return lp_error_set(err, LP_E_INVALID, "%s: %s: \"%s\" is not %s", source, name, value, what[e->type]);
    }
    if (v < e->min)
        return lp_error_set(err, LP_E_INVALID, "%s: %s: %" PRId64 " is below the minimum %" PRId64, source, name, v,
                            e->min);
    if (v > e->max)
        return lp_error_set(err, LP_E_INVALID, "%s: %s: %" PRId64 " is above the maximum %" PRId64, source, name, v,
                            e->max);
    *(int64_t *)field = v;
    return 0;
}

int lp_config_set_pair(lp_config *cfg, const char *pair, const char *source, lp_error *err)
{
    const char *eq = strchr(pair, '=');
    char name[128];
    if (!eq || eq == pair || (size_t)(eq - pair) >= sizeof(name))
        return lp_error_set(err, LP_E_INVALID, "%s: expected name=value, got \"%s\"", source, pair);
    memcpy(name, pair, (size_t)(eq - pair));
    name[eq - pair] = '\0';
    return lp_config_set(cfg, name, eq + 1, source, err);
}

int lp_config_defaults(lp_config *cfg, lp_error *err)
{
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < TABLE_LEN; i++)
        if (lp_config_set(cfg, table[i].name, table[i].def, "default", err) != 0)
            return -1;
    return 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

int lp_config_load_file(lp_config *cfg, const char *path, lp_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return lp_error_set(err, LP_E_IO, "cannot open config file %s: %s", path, strerror(errno));
    char line[CONFIG_LINE_MAX];
    char source[512];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        snprintf(source, sizeof(source), "%s:%d", path, lineno);
        if (!strchr(line, '\n') && !feof(f)) {
            rc = lp_error_set(err, LP_E_INVALID, "%s: line longer than %d bytes", source, CONFIG_LINE_MAX - 1);
            break;
        }
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = lp_error_set(err, LP_E_INVALID, "%s: expected `name = value`", source);
            break;
        }
        *eq = '\0';
        char *name = trim(s), *value = trim(eq + 1);
        size_t vl = strlen(value);
        if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"') {
            value[vl - 1] = '\0';
            value++;
        } else {
            char *hash = strstr(value, " #");
            if (hash)
                *hash = '\0', value = trim(value);
        }
        if ((rc = lp_config_set(cfg, name, value, source, err)) != 0)
            break;
    }
    fclose(f);
    return rc;
}

int lp_config_load_env(lp_config *cfg, char *const *envp, lp_error *err)
{
    for (char *const *ep = envp; ep && *ep; ep++) {
        if (strncmp(*ep, "LOUPE_", 6) != 0)
            continue;
        const char *eq = strchr(*ep, '=');
        if (!eq)
            continue;
        char name[128];
        size_t n = (size_t)(eq - (*ep + 6));
        if (n == 0 || n >= sizeof(name))
            continue;
        for (size_t i = 0; i < n; i++)
            name[i] = (char)tolower((unsigned char)(*ep)[6 + i]);
        name[n] = '\0';
        if (!lp_config_find(name))
            continue; /* LOUPE_* variables for other tools are not ours to judge */
        char source[160];
        snprintf(source, sizeof(source), "LOUPE_%.*s", (int)n, *ep + 6);
        if (lp_config_set(cfg, name, eq + 1, source, err) != 0)
            return -1;
    }
    return 0;
}

int lp_config_load(lp_config *cfg, const char *path, char *const *envp, lp_error *err)
{
    if (lp_config_defaults(cfg, err) != 0)
        return -1;
    if (path && lp_config_load_file(cfg, path, err) != 0)
        return -1;
    return lp_config_load_env(cfg, envp, err);
}

void lp_config_format(const lp_config *cfg, const lp_cfg_entry *e, char *out, size_t cap)
{
    const char *field = (const char *)cfg + e->offset;
    switch (e->type) {
    case LP_CFG_STR:
        snprintf(out, cap, "%s", *(char *const *)field ? *(char *const *)field : "");
        break;
    case LP_CFG_SECRET:
        snprintf(out, cap, "%s", (*(char *const *)field && **(char *const *)field) ? "(set)" : "(unset)");
        break;
    case LP_CFG_BOOL:
        snprintf(out, cap, "%s", *(const int *)field ? "true" : "false");
        break;
    case LP_CFG_REAL:
        snprintf(out, cap, "%g", *(const double *)field);
        break;
    default:
        snprintf(out, cap, "%" PRId64, *(const int64_t *)field);
        break;
    }
}

static const char *type_name(lp_cfg_type t)
{
    static const char *const names[] = {[LP_CFG_STR] = "string", [LP_CFG_INT] = "integer", [LP_CFG_BOOL] = "bool",
                                        [LP_CFG_SIZE] = "size", [LP_CFG_MS] = "duration",
                                        [LP_CFG_SECRET] = "secret", [LP_CFG_REAL] = "number"};
    return names[t];
}

static void env_name(const char *name, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "LOUPE_");
    for (const char *p = name; *p && n + 1 < cap; p++)
        out[n++] = (char)toupper((unsigned char)*p);
    out[n] = '\0';
}

void lp_config_print_help(FILE *out)
{
    fprintf(out, "Settings (config file `name = value`, or environment LOUPE_<NAME>, or --set name=value):\n");
    for (size_t i = 0; i < TABLE_LEN; i++) {
        const lp_cfg_entry *e = &table[i];
        char env[128];
        env_name(e->name, env, sizeof(env));
        fprintf(out, "  %-24s %-8s default \"%s\"  (%s)\n      %s\n", e->name, type_name(e->type), e->def, env,
                e->help);
    }
}

void lp_config_print_markdown(FILE *out)
{
    fprintf(out, "| setting | environment | type | default | range | description |\n");
    fprintf(out, "|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < TABLE_LEN; i++) {
        const lp_cfg_entry *e = &table[i];
        char env[128], range[96] = "";
        env_name(e->name, env, sizeof(env));
        if (e->type == LP_CFG_INT || e->type == LP_CFG_SIZE || e->type == LP_CFG_MS || e->type == LP_CFG_REAL)
            snprintf(range, sizeof(range), "%" PRId64 " … %" PRId64 "%s", e->min, e->max,
                     e->type == LP_CFG_SIZE ? " bytes" : e->type == LP_CFG_MS ? " ms" : "");
        fprintf(out, "| `%s` | `%s` | %s | `%s` | %s | %s |\n", e->name, env, type_name(e->type), e->def, range,
                e->help);
    }
}

void lp_config_free(lp_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < TABLE_LEN; i++) {
        if (is_string(table[i].type)) {
            char **p = (char **)((char *)cfg + table[i].offset);
            free(*p);
            *p = NULL;
        }
    }
}
