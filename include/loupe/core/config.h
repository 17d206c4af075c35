/* Configuration: defaults < config file < LOUPE_* environment < --set options.
 *
 * The settings are declared once, in config.def. A config file has one
 * `name = value` per line; `#` starts a comment; values may be quoted with "".
 * Unknown names, bad values and out-of-range numbers are errors that name the
 * setting and its source ("config.conf:12: http_port: 70000 is above 65535"). */
#ifndef LOUPE_CORE_CONFIG_H
#define LOUPE_CORE_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "loupe/core/error.h"

typedef enum lp_cfg_type { LP_CFG_STR, LP_CFG_INT, LP_CFG_BOOL, LP_CFG_SIZE, LP_CFG_MS, LP_CFG_SECRET, LP_CFG_REAL } lp_cfg_type;

#define LP_CFG_FIELD_STR(n)    char *n;
#define LP_CFG_FIELD_SECRET(n) char *n;
#define LP_CFG_FIELD_INT(n)    int64_t n;
#define LP_CFG_FIELD_SIZE(n)   int64_t n;
#define LP_CFG_FIELD_MS(n)     int64_t n;
#define LP_CFG_FIELD_BOOL(n)   int n;
#define LP_CFG_FIELD_REAL(n)   double n;

/* Every setting as a typed field: cfg->http_port, cfg->db_url, … Strings are
 * owned by the config (freed by lp_config_free). SIZE is bytes, MS milliseconds, REAL a double. */
typedef struct lp_config {
#define LP_CFG(name, type, def, min, max, help) LP_CFG_FIELD_##type(name)
#include "loupe/core/config.def"
#undef LP_CFG
} lp_config;

typedef struct lp_cfg_entry {
    const char *name;
    lp_cfg_type type;
    const char *def;
    int64_t min, max;
    const char *help;
    size_t offset; /* of the field in lp_config */
} lp_cfg_entry;

/* The table, in declaration order. */
const lp_cfg_entry *lp_config_table(size_t *count);
const lp_cfg_entry *lp_config_find(const char *name);

/* Fills cfg with defaults. Returns 0 (-1 only on out-of-memory). */
int lp_config_defaults(lp_config *cfg, lp_error *err);

/* Sets one setting from text; source names where it came from for errors
 * ("LOUPE_HTTP_PORT", "loupe.conf:3", "--set"). */
int lp_config_set(lp_config *cfg, const char *name, const char *value, const char *source, lp_error *err);

/* Sets one setting from "name=value" text (a --set option). */
int lp_config_set_pair(lp_config *cfg, const char *pair, const char *source, lp_error *err);

/* Reads a config file (path) on top of cfg. */
int lp_config_load_file(lp_config *cfg, const char *path, lp_error *err);

/* Applies LOUPE_<NAME> variables from envp (NULL-terminated, e.g. environ). */
int lp_config_load_env(lp_config *cfg, char *const *envp, lp_error *err);

/* The usual sequence: defaults, file (if path not NULL), environment. */
int lp_config_load(lp_config *cfg, const char *path, char *const *envp, lp_error *err);

/* Parsers shared with tests and other modules. Return -1 on bad text. */
int lp_parse_size(const char *s, int64_t *out);     /* "10k" "64M" "2G" "123" */
int lp_parse_duration_ms(const char *s, int64_t *out); /* "250ms" "5s" "2m" "1h" "1d" "100" (ms) */
int lp_parse_bool(const char *s, int *out);         /* true/false/yes/no/on/off/1/0 */

/* Writes a setting's value as text (secrets as "(set)"/"(unset)"). */
void lp_config_format(const lp_config *cfg, const lp_cfg_entry *e, char *out, size_t cap);

/* Help text for --help, and the Markdown table of docs/CONFIG.md. */
void lp_config_print_help(FILE *out);
void lp_config_print_markdown(FILE *out);

void lp_config_free(lp_config *cfg);

#endif
