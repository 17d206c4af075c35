/* The stored login and where a run's server and key come from. See loupe/cli/credentials.h. */
#include "loupe/cli/credentials.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loupe/cli/args.h"
#include "loupe/core/util.h"

#define FILE_MAX 8192

static void set_url(char *dst, const char *url)
{
    lp_strlcpy(dst, url, LP_CLI_URL_MAX);
    size_t n = strlen(dst);
    while (n > 0 && dst[n - 1] == '/')
        dst[--n] = '\0';
}

int lp_cli_credentials_path(const char *xdg, const char *home, char *out, size_t cap, char *err, size_t errcap)
{
    int n;
    if (xdg && *xdg)
        n = snprintf(out, cap, "%s/loupe/credentials", xdg);
    else if (home && *home)
        n = snprintf(out, cap, "%s/.config/loupe/credentials", home);
    else
        return lp_cli_errf(err, errcap, "neither XDG_CONFIG_HOME nor HOME is set: no place for the credentials file");
    if (n < 0 || (size_t)n >= cap)
        return lp_cli_errf(err, errcap, "the credentials file's path is too long");
    return 0;
}

static char *trim(char *s, char *end)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    *end = '\0';
    return s;
}

int lp_cli_credentials_parse(const char *text, lp_cli_credentials *out, char *err, size_t errcap)
{
    char line[LP_CLI_URL_MAX + 64];
    int lineno = 0;
    memset(out, 0, sizeof *out);
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, "\n");
        lineno++;
        if (n >= sizeof line)
            return lp_cli_errf(err, errcap, "line %d is too long", lineno);
        memcpy(line, p, n);
        line[n] = '\0';
        p += n + (p[n] == '\n');
        char *s = trim(line, line + n);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq)
            return lp_cli_errf(err, errcap, "line %d: expected \"name = value\"", lineno);
        char *name = trim(s, eq), *value = trim(eq + 1, eq + 1 + strlen(eq + 1));
        if (strcmp(name, "url") == 0) {
            if (strlen(value) >= LP_CLI_URL_MAX)
                return lp_cli_errf(err, errcap, "line %d: the url is too long", lineno);
            set_url(out->url, value);
        } else if (strcmp(name, "key") == 0) {
            if (strlen(value) >= LP_CLI_KEY_MAX)
                return lp_cli_errf(err, errcap, "line %d: the key is too long", lineno);
            lp_strlcpy(out->key, value, sizeof out->key);
        } else {
            return lp_cli_errf(err, errcap, "line %d: unknown name \"%s\" (expected url or key)", lineno, name);
        }
    }
    return 0;
}

int lp_cli_credentials_format(const lp_cli_credentials *c, char *out, size_t cap)
{
    if (strpbrk(c->url, "\r\n") || strpbrk(c->key, "\r\n"))
        return -1;
    int n = snprintf(out, cap, "# written by loupe login\nurl = %s\nkey = %s\n", c->url, c->key);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

int lp_cli_credentials_load(const char *path, lp_cli_credentials *out, char *err, size_t errcap)
{
    char text[FILE_MAX];
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT)
            return 1;
        return lp_cli_errf(err, errcap, "cannot read %s: %s", path, strerror(errno));
    }
    size_t n = fread(text, 1, sizeof text - 1, f);
    int bad = ferror(f) || !feof(f);
    fclose(f);
    if (bad)
        return lp_cli_errf(err, errcap, "cannot read %s: %s", path, n == sizeof text - 1 ? "too large" : "read error");
    text[n] = '\0';
    char why[256];
    if (lp_cli_credentials_parse(text, out, why, sizeof why) != 0)
        return lp_cli_errf(err, errcap, "%s: %s (run loupe login again)", path, why);
    return 0;
}

int lp_cli_credentials_save(const char *path, const lp_cli_credentials *c, char *err, size_t errcap)
{
    char text[FILE_MAX], dir[LP_CLI_URL_MAX * 4], tmp[LP_CLI_URL_MAX * 4 + 16];
    int len = lp_cli_credentials_format(c, text, sizeof text);
    if (len < 0)
        return lp_cli_errf(err, errcap, "the url or key holds a line break or is too long");
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir ||
        snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid()) >= (int)sizeof tmp)
        return lp_cli_errf(err, errcap, "the credentials file's path is too long");
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (lp_mkdir_p(dir, 0700) != 0)
            return lp_cli_errf(err, errcap, "cannot make %s: %s", dir, strerror(errno));
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return lp_cli_errf(err, errcap, "cannot write %s: %s", tmp, strerror(errno));
    int rc = fchmod(fd, 0600) == 0 && write(fd, text, (size_t)len) == len && fsync(fd) == 0 ? 0 : -1;
    int saved = errno;
    if (close(fd) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        rc = -1;
        saved = errno;
    }
    if (rc != 0) {
        unlink(tmp);
        return lp_cli_errf(err, errcap, "cannot write %s: %s", path, strerror(saved));
    }
    return 0;
}

void lp_cli_credentials_resolve(const lp_cli_credentials *stored, const char *opt_url, const char *env_url,
                                const char *env_key, lp_cli_credentials *out)
{
    const char *url = opt_url && *opt_url ? opt_url : env_url && *env_url ? env_url : stored->url;
    set_url(out->url, url);
    lp_strlcpy(out->key, env_key && *env_key ? env_key : stored->key, sizeof out->key);
}
