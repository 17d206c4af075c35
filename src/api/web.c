/* The web UI's static files: GET / (index.html) and GET /assets/{file} from
 * web_dir. Asset names are content-hashed by the build, so they are served
 * as immutable; index.html is revalidated on every load. The app routes in
 * the browser (history mode), so every other GET path outside the API, the
 * files and the health routes answers index.html too: deep links and reloads
 * of /datasets/{id} work. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handlers_int.h"

static const struct {
    const char *ext;
    const char *type;
} content_types[] = {
    {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},   {".svg", "image/svg+xml"},
    {".png", "image/png"},                 {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},              {".json", "application/json"},
    {".map", "application/json"},          {".wasm", "application/wasm"},
};

static const char *content_type_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof(content_types) / sizeof(content_types[0]); i++)
        if (strcmp(dot, content_types[i].ext) == 0)
            return content_types[i].type;
    return "application/octet-stream";
}

/* Asset names come from the build: letters, digits, '-', '_', '.'; never "..". */
static int safe_name(const char *s)
{
    if (!s || !*s || s[0] == '.' || strlen(s) > 200)
        return 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.'))
            return 0;
    }
    return strstr(s, "..") == NULL;
}

static int serve_file(lp_req *req, const char *rel, const char *cache_control)
{
    const char *dir = req->svc->cfg->web_dir;
    char *path = lp_arena_printf(req->arena, "%s/%s", dir, rel);
    if (!path)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        lp_error_set(&req->err, LP_E_NOT_FOUND, "there is no file %s in the web UI", rel);
        if (strcmp(rel, "index.html") == 0)
            lp_error_hint(&req->err, "build the web UI (make web) or point web_dir at a built copy");
        return -1;
    }
    lp_res_header(req, "Cache-Control", cache_control);
    return lp_res_fd(req, 200, content_type_of(rel), fd, 0, (uint64_t)st.st_size);
}

/* Paths the app never owns: a miss there stays the API's JSON 404. */
static int server_path(const char *path)
{
    static const char *const roots[] = {"/api", "/files", "/assets", "/healthz", "/readyz", "/metrics"};
    for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
        size_t len = strlen(roots[i]);
        if (strncmp(path, roots[i], len) == 0 && (path[len] == '\0' || path[len] == '/'))
            return 1;
    }
    return 0;
}

int lp_api_web_app(lp_req *req)
{
    if (server_path(req->path))
        return lp_error_set(&req->err, LP_E_NOT_FOUND, "there is no endpoint at %s", req->path);
    return lp_api_web_index(req);
}

int lp_api_web_index(lp_req *req)
{
    lp_res_header(req, "Content-Security-Policy",
                  "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self' 'unsafe-inline'; "
                  "frame-ancestors 'none'");
    lp_res_header(req, "X-Frame-Options", "DENY");
    return serve_file(req, "index.html", "no-cache");
}

int lp_api_web_asset(lp_req *req)
{
    const char *file = lp_req_param(req, "file");
    if (!safe_name(file))
        return lp_error_set(&req->err, LP_E_NOT_FOUND, "there is no such asset");
    char *rel = lp_arena_printf(req->arena, "assets/%s", file);
    return rel ? serve_file(req, rel, "public, max-age=31536000, immutable")
               : lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
}
