/* The stored login of loupe: a small text file, mode 0600, at
 * $XDG_CONFIG_HOME/loupe/credentials (or ~/.config/loupe/credentials):
 *
 *   # written by loupe login
 *   url = https://loupe.example.com
 *   key = lp_…
 *
 * and where the server and key of a run come from: --url, then LOUPE_URL / LOUPE_API_KEY, then
 * the file. Parsing and formatting are pure; load and save touch only the named file. */
#ifndef LOUPE_CLI_CREDENTIALS_H
#define LOUPE_CLI_CREDENTIALS_H

#include <stddef.h>

#define LP_CLI_URL_MAX 1024
#define LP_CLI_KEY_MAX 256

typedef struct lp_cli_credentials {
    char url[LP_CLI_URL_MAX]; /* "" = none; never ends with "/" */
    char key[LP_CLI_KEY_MAX]; /* "" = none */
} lp_cli_credentials;

/* The file's path from the environment's values (either may be NULL or empty): 0, or -1 when
 * neither is set or the path does not fit, with a sentence in err. */
int lp_cli_credentials_path(const char *xdg_config_home, const char *home, char *out, size_t cap, char *err,
                            size_t errcap);

/* Reads the file's text: `name = value` lines, `#` comments and blank lines; names url and key;
 * anything else is an error naming the line. 0 or -1 (err). */
int lp_cli_credentials_parse(const char *text, lp_cli_credentials *out, char *err, size_t errcap);

/* Writes the text parse reads into out: its length, or -1 when it does not fit or a value holds
 * a line break. */
int lp_cli_credentials_format(const lp_cli_credentials *c, char *out, size_t cap);

/* Reads the file at path: 0, 1 when there is none (out empty), -1 on an error (err). */
int lp_cli_credentials_load(const char *path, lp_cli_credentials *out, char *err, size_t errcap);

/* Writes the file at path, making its folder (0700); the file is written whole beside it with
 * mode 0600 and renamed over the old one, so a reader never sees half of it. 0 or -1 (err). */
int lp_cli_credentials_save(const char *path, const lp_cli_credentials *c, char *err, size_t errcap);

/* The server and key of this run: opt_url, else env_url, else stored's; env_key, else stored's
 * (NULL or empty values count as absent). A trailing "/" of the URL is dropped. */
void lp_cli_credentials_resolve(const lp_cli_credentials *stored, const char *opt_url, const char *env_url,
                                const char *env_key, lp_cli_credentials *out);

#endif
