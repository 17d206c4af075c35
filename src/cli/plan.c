/* Deciding what a push does with each file. See loupe/cli/plan.h. */
#include "loupe/cli/plan.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *lp_cli_media_type(const char *filename)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".jpg", "image"},  {".jpeg", "image"}, {".png", "image"},    {".webp", "image"},  {".tif", "image"},
        {".tiff", "image"}, {".bmp", "image"},  {".gif", "image"},    {".svs", "image"},   {".ndpi", "image"},
        {".mp4", "video"},  {".mov", "video"},  {".m4v", "video"},    {".mkv", "video"},   {".webm", "video"},
        {".avi", "video"},  {".nii", "volume"}, {".nii.gz", "volume"}, {".dcm", "volume"},
    };
    size_t n = strlen(filename);
    const char *base = strrchr(filename, '/');
    base = base ? base + 1 : filename;
    if (base[0] == '.')
        return NULL; /* hidden files stay home */
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        size_t e = strlen(types[i].ext);
        if (n > e && strcasecmp(filename + n - e, types[i].ext) == 0)
            return types[i].type;
    }
    return NULL;
}

int lp_cli_remote_location(const char *folder, const char *rel, char *path, size_t cap, const char **name)
{
    const char *slash = strrchr(rel, '/');
    size_t dir = slash ? (size_t)(slash - rel) : 0;
    size_t flen = strcmp(folder, "/") == 0 ? 0 : strlen(folder);
    *name = slash ? slash + 1 : rel;
    if (flen + 1 + dir + 1 > cap)
        return -1;
    memcpy(path, folder, flen);
    size_t at = flen;
    if (dir) {
        path[at++] = '/';
        memcpy(path + at, rel, dir);
        at += dir;
    }
    if (at == 0)
        path[at++] = '/';
    path[at] = '\0';
    return 0;
}

static int cmp_remote(const void *a, const void *b)
{
    const lp_cli_remote_item *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    return c ? c : strcmp(x->name, y->name);
}

int lp_cli_plan_push(const lp_cli_local_file *files, size_t nfiles, lp_cli_remote_item *remote, size_t nremote,
                     const char *folder, int replace, lp_cli_plan_entry *out)
{
    size_t longest = 0;
    for (size_t i = 0; i < nfiles; i++)
        if (strlen(files[i].rel) > longest)
            longest = strlen(files[i].rel);
    size_t cap = strlen(folder) + longest + 2; /* "/folder" "/" dir NUL */
    char *path = malloc(cap);
    if (!path)
        return -1;
    if (nremote > 1)
        qsort(remote, nremote, sizeof *remote, cmp_remote);
    for (size_t i = 0; i < nfiles; i++) {
        lp_cli_remote_item key = {0};
        lp_cli_remote_location(folder, files[i].rel, path, cap, &key.name);
        key.path = path;
        const lp_cli_remote_item *hit = nremote ? bsearch(&key, remote, nremote, sizeof *remote, cmp_remote) : NULL;
        out[i].item = hit;
        if (!hit)
            out[i].action = LP_CLI_CREATE;
        else if (hit->sha256 && strcmp(hit->sha256, files[i].sha256) == 0)
            out[i].action = LP_CLI_SKIP;
        else if (!hit->sha256 || replace)
            out[i].action = LP_CLI_UPLOAD;
        else
            out[i].action = LP_CLI_CONFLICT;
    }
    free(path);
    return 0;
}
