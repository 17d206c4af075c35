/* loupe push DIR --dataset SLUG: every media file under DIR becomes an item at the same folder
 * and name (under --path), uploaded N at a time through one curl multi handle; a file whose
 * item already holds the same bytes is skipped (loupe/cli/plan.h), so a push resumes. The .dcm
 * files of a folder are one DICOM upload instead: one item named after the folder, its files
 * sent as one multi-file upload (skipped when the item holds a file already, unless --replace).
 *
 * Steps: read the folder, hash each file, list the dataset's items with their slots' checksums,
 * plan, then run the transfers — per file a POST registering its item when it has none, then a
 * PUT of the file into the item's slot. See loupe/cli/commands.h. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "loupe/cli/commands.h"
#include "loupe/cli/plan.h"
#include "loupe/cli/progress.h"
#include "loupe/core/util.h"
#include "loupe/crypto/sha256.h"

#define ANSWER_MAX ((size_t)1 << 20)
#define DEPTH_MAX 64

/* The media files found: each rel points into its path on disk (owned, malloc), which it
 * follows after rel_at bytes ("DIR/"). */
typedef struct files {
    lp_cli_local_file *v;
    size_t n, cap;
    size_t rel_at;
    size_t ignored; /* not media files */
} files;

static char *disk_path(const files *fs, size_t i)
{
    return (char *)fs->v[i].rel - fs->rel_at;
}

typedef struct file_result {
    const char *action; /* uploaded, skipped, failed, conflict */
    char item_id[40];
    char job_id[40];
    char *error;        /* owned */
} file_result;

/* One transfer in flight: the file's POST (registering its item), then its PUT. */
typedef struct transfer {
    size_t file;
    CURL *h;
    lp_buf answer;
    char *post_body;    /* owned while the POST runs */
    FILE *f;            /* the PUT's body */
    int64_t sent;       /* bytes of the file sent so far */
    const char *slot;   /* the PUT's slot (borrowed) */
    int attempt;        /* retries of the current request so far */
    int64_t retry_at;   /* > 0: the request refused for load is sent again then (monotonic ms) */
    int retry_post;     /* that request is the POST (else the PUT) */
} transfer;

typedef struct push {
    lp_cli_ctx *ctx;
    files fs;
    lp_cli_plan_entry *plan;
    file_result *res;
    lp_cli_progress prog;
    int64_t t0;
    transfer *slots;    /* parallel many */
} push;

static int cmp_rel(const void *a, const void *b)
{
    return strcmp(((const lp_cli_local_file *)a)->rel, ((const lp_cli_local_file *)b)->rel);
}

static int add_file(files *fs, const char *disk, int64_t size)
{
    if (fs->n == fs->cap) {
        size_t cap = fs->cap ? fs->cap * 2 : 64;
        lp_cli_local_file *v = realloc(fs->v, cap * sizeof *v);
        if (!v)
            return -1;
        fs->v = v;
        fs->cap = cap;
    }
    char *copy = strdup(disk);
    if (!copy)
        return -1;
    fs->v[fs->n] = (lp_cli_local_file){.rel = copy + fs->rel_at, .size = size};
    fs->n++;
    return 0;
}

/* Adds the media files under dir, not following links, leaving hidden files and folders out. */
static int walk(files *fs, const char *dir, int depth, lp_cli_error *err)
{
    if (depth > DEPTH_MAX)
        return lp_cli_error_set(err, LP_CLI_FAILED, "%s: folders nested deeper than %d", dir, DEPTH_MAX);
    DIR *d = opendir(dir);
    if (!d)
        return lp_cli_error_set(err, LP_CLI_FAILED, "cannot read the folder %s: %s", dir, strerror(errno));
    size_t len = strlen(dir);
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *path = malloc(len + strlen(e->d_name) + 2);
        struct stat st;
        if (!path) {
            rc = lp_cli_error_set(err, LP_CLI_FAILED, "out of memory");
            break;
        }
        sprintf(path, "%s/%s", dir, e->d_name);
        if (lstat(path, &st) != 0)
            rc = lp_cli_error_set(err, LP_CLI_FAILED, "cannot read %s: %s", path, strerror(errno));
        else if (S_ISDIR(st.st_mode))
            rc = walk(fs, path, depth + 1, err);
        else if (!S_ISREG(st.st_mode) || !lp_cli_media_type(e->d_name))
            fs->ignored++;
        else if (add_file(fs, path, (int64_t)st.st_size) != 0)
            rc = lp_cli_error_set(err, LP_CLI_FAILED, "out of memory");
        free(path);
    }
    closedir(d);
    return rc;
}

int lp_cli_file_sha256(const char *path, char hex[LP_CLI_SHA256_HEX], lp_cli_error *err)
{
    static unsigned char buf[1 << 16];
    uint8_t digest[LP_SHA256_LEN];
    FILE *f = fopen(path, "rb");
    lp_sha256_ctx *c = lp_sha256_new();
    int rc = -1;
    size_t n;
    if (!f || !c) {
        lp_cli_error_set(err, LP_CLI_FAILED, "cannot read %s: %s", path, f ? "out of memory" : strerror(errno));
        goto cleanup;
    }
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        if (lp_sha256_update(c, buf, n) != 0)
            break;
    if (ferror(f) || !feof(f) || lp_sha256_final(c, digest, hex) != 0) {
        lp_cli_error_set(err, LP_CLI_FAILED, "cannot read %s", path);
        goto cleanup;
    }
    rc = 0;
cleanup:
    if (f)
        fclose(f);
    lp_sha256_free(c);
    return rc;
}

/* The dataset's items (under --path) as look-up entries borrowing from items (kept alive). */
static int list_remote(push *p, const char *dataset_id, json_t *items, lp_cli_remote_item **out, size_t *n,
                       lp_cli_error *err)
{
    char query[512];
    const char *folder = p->ctx->args->path;
    char *esc = folder ? curl_easy_escape(NULL, folder, 0) : NULL;
    snprintf(query, sizeof query, "/api/v1/items?dataset_id=%s%s%s", dataset_id,
             esc ? "&path=" : "", esc ? esc : "");
    curl_free(esc);
    if (lp_cli_get_all(p->ctx->client, query, "items", items, err) != 0)
        return -1;
    *out = calloc(json_array_size(items) + 1, sizeof **out);
    if (!*out)
        return lp_cli_error_set(err, LP_CLI_FAILED, "out of memory");
    size_t i;
    json_t *it;
    *n = 0;
    json_array_foreach(items, i, it)
    {
        json_t *slot = json_array_get(json_object_get(it, "slots"), 0);
        lp_cli_remote_item *r = &(*out)[(*n)];
        r->path = json_string_value(json_object_get(it, "path"));
        r->name = json_string_value(json_object_get(it, "name"));
        r->item_id = json_string_value(json_object_get(it, "id"));
        r->slot = json_string_value(json_object_get(slot, "name"));
        r->sha256 = json_string_value(json_object_get(slot, "sha256"));
        if (r->path && r->name && r->item_id && r->slot)
            (*n)++;
    }
    return 0;
}

static void draw(push *p)
{
    char line[512];
    if (!p->ctx->live)
        return;
    p->prog.elapsed_s = (double)(lp_now_mono_ms() - p->t0) / 1000.0;
    lp_cli_format_push(&p->prog, p->ctx->columns, line, sizeof line);
    lp_cli_live(p->ctx, line);
}

/* A file's outcome: counted, and printed as a plain line unless live or --json. */
static void done(push *p, size_t i, const char *action, const char *error)
{
    file_result *r = &p->res[i];
    r->action = action;
    free(r->error);
    r->error = error ? strdup(error) : NULL;
    p->prog.files_done++;
    if (strcmp(action, "skipped") == 0)
        p->prog.skipped++;
    else if (strcmp(action, "failed") == 0 || strcmp(action, "conflict") == 0)
        p->prog.failed++;
    if (!p->ctx->args->json && !p->ctx->args->quiet) {
        if (error) {
            lp_cli_live(p->ctx, NULL);
            fprintf(p->ctx->err, "loupe: %s %s: %s\n", action, p->fs.v[i].rel, error);
        } else if (!p->ctx->live) {
            fprintf(p->ctx->out, "%s %s\n", action, p->fs.v[i].rel);
        }
    }
    draw(p);
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal;
    transfer *t = ud;
    t->sent = (int64_t)ulnow;
    return 0;
}

static CURL *start_put(push *p, transfer *t, const char *item_id, const char *slot, lp_cli_error *err)
{
    char path[512];
    char *esc = curl_easy_escape(NULL, slot, 0);
    if (!esc)
        return NULL;
    snprintf(path, sizeof path, "/api/v1/items/%s/slots/%s/file", item_id, esc);
    curl_free(esc);
    t->slot = slot;
    t->f = fopen(disk_path(&p->fs, t->file), "rb");
    if (!t->f) {
        lp_cli_error_set(err, LP_CLI_FAILED, "cannot read the file: %s", strerror(errno));
        return NULL;
    }
    lp_buf_reset(&t->answer);
    CURL *h = lp_cli_handle(p->ctx->client, "PUT", path, LP_CLI_BODY_FILE, &t->answer);
    if (!h) {
        lp_cli_error_set(err, LP_CLI_FAILED, "out of memory");
        return NULL;
    }
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READDATA, t->f);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)p->fs.v[t->file].size);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, t);
    curl_easy_setopt(h, CURLOPT_PRIVATE, t);
    return h;
}

static CURL *start_post(push *p, transfer *t, const char *dataset_id, lp_cli_error *err)
{
    char path[1024], url[128];
    const char *name;
    const lp_cli_local_file *f = &p->fs.v[t->file];
    if (lp_cli_remote_location(p->ctx->args->path ? p->ctx->args->path : "/", f->rel, path, sizeof path, &name) !=
        0) {
        lp_cli_error_set(err, LP_CLI_FAILED, "its folder's name is too long");
        return NULL;
    }
    json_t *body = json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "name", name, "path", path, "slots", "name", "0", "type",
                             lp_cli_media_type(f->rel));
    t->post_body = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    snprintf(url, sizeof url, "/api/v1/datasets/%s/items", dataset_id);
    lp_buf_reset(&t->answer);
    CURL *h = t->post_body ? lp_cli_handle(p->ctx->client, "POST", url, LP_CLI_BODY_JSON, &t->answer) : NULL;
    if (!h) {
        lp_cli_error_set(err, LP_CLI_FAILED, "out of memory");
        return NULL;
    }
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, t->post_body);
    curl_easy_setopt(h, CURLOPT_PRIVATE, t);
    return h;
}

/* Starts file i on the free transfer t: its POST, or at once its PUT. 0, or -1 with the file
 * counted as failed. */
static int start(push *p, CURLM *m, transfer *t, size_t i, const char *dataset_id)
{
    lp_cli_error err = {0};
    t->file = i;
    t->sent = 0;
    t->attempt = 0;
    const lp_cli_plan_entry *e = &p->plan[i];
    t->h = e->action == LP_CLI_CREATE ? start_post(p, t, dataset_id, &err)
                                      : start_put(p, t, e->item->item_id, e->item->slot, &err);
    if (t->h && e->action != LP_CLI_CREATE)
        lp_strlcpy(p->res[i].item_id, e->item->item_id, sizeof p->res[i].item_id);
    if (!t->h || curl_multi_add_handle(m, t->h) != CURLM_OK) {
        done(p, i, "failed", err.message[0] ? err.message : "could not start the transfer");
        lp_cli_error_clear(&err);
        if (t->h)
            curl_easy_cleanup(t->h);
        t->h = NULL;
        return -1;
    }
    return 0;
}

/* A finished transfer: a POST goes on to its PUT (t stays busy), a PUT ends the file; either,
 * refused for load, waits in t to be sent again (lp_cli_retry_delay_ms). */
static void finish(push *p, CURLM *m, transfer *t, CURLcode result)
{
    lp_cli_error err = {0};
    json_t *answer = NULL;
    int ok = lp_cli_finish(t->h, result, &t->answer, &answer, &err) == 0;
    int was_post = t->post_body != NULL;
    long wait = ok || result != CURLE_OK ? -1 : lp_cli_retry_wait_ms(t->h, t->attempt);
    curl_multi_remove_handle(m, t->h);
    curl_easy_cleanup(t->h);
    t->h = NULL;
    free(t->post_body);
    t->post_body = NULL;
    if (t->f) {
        fclose(t->f);
        t->f = NULL;
    }
    if (wait >= 0) {
        t->attempt++;
        t->retry_at = lp_now_mono_ms() + wait;
        t->retry_post = was_post;
        t->sent = 0;
    } else if (!ok) {
        if (was_post && err.status == 409)
            lp_cli_error_set(&err, LP_CLI_FAILED, "an item of this path and name appeared meanwhile (push again)");
        done(p, t->file, "failed", err.message);
    } else if (was_post) {
        t->attempt = 0;
        const char *id = json_string_value(json_object_get(answer, "id"));
        lp_strlcpy(p->res[t->file].item_id, id ? id : "", sizeof p->res[t->file].item_id);
        t->h = id ? start_put(p, t, id, "0", &err) : NULL;
        if (!t->h || curl_multi_add_handle(m, t->h) != CURLM_OK) {
            done(p, t->file, "failed", err.message[0] ? err.message : "could not start the upload");
            if (t->h)
                curl_easy_cleanup(t->h);
            t->h = NULL;
        }
    } else {
        const char *job = json_string_value(json_object_get(json_object_get(answer, "job"), "id"));
        lp_strlcpy(p->res[t->file].job_id, job ? job : "", sizeof p->res[t->file].job_id);
        p->prog.bytes_done += p->fs.v[t->file].size;
        t->sent = 0;
        done(p, t->file, "uploaded", NULL);
    }
    json_decref(answer);
    lp_cli_error_clear(&err);
}

/* Sends again the request t holds back once its wait is over. */
static void resend(push *p, CURLM *m, transfer *t, const char *dataset_id)
{
    lp_cli_error err = {0};
    t->retry_at = 0;
    t->h = t->retry_post ? start_post(p, t, dataset_id, &err)
                         : start_put(p, t, p->res[t->file].item_id, t->slot, &err);
    if (!t->h || curl_multi_add_handle(m, t->h) != CURLM_OK) {
        done(p, t->file, "failed", err.message[0] ? err.message : "could not start the transfer");
        if (t->h)
            curl_easy_cleanup(t->h);
        t->h = NULL;
    }
    lp_cli_error_clear(&err);
}

static void run_transfers(push *p, const char *dataset_id)
{
    size_t parallel = (size_t)p->ctx->args->parallel, next = 0;
    CURLM *m = curl_multi_init();
    if (!m) {
        for (size_t i = 0; i < p->fs.n; i++)
            if (!p->res[i].action)
                done(p, i, "failed", "out of memory");
        return;
    }
    curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)parallel);
    for (;;) {
        size_t busy = 0;
        int64_t now = lp_now_mono_ms();
        for (size_t k = 0; k < parallel; k++) { /* resend what waited long enough, fill the free transfers */
            transfer *t = &p->slots[k];
            if (t->retry_at > 0 && t->retry_at <= now)
                resend(p, m, t, dataset_id);
            while (!t->h && t->retry_at == 0 && next < p->fs.n) {
                size_t i = next++;
                if (!p->res[i].action) /* else decided already: skipped or conflict */
                    start(p, m, t, i, dataset_id);
            }
            busy += t->h || t->retry_at > 0;
        }
        if (busy == 0)
            break;
        int running = 0, queued;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(m, &queued))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            transfer *t = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
            finish(p, m, t, msg->data.result);
        }
        int64_t inflight = 0;
        for (size_t k = 0; k < parallel; k++)
            inflight += p->slots[k].h ? p->slots[k].sent : 0;
        p->prog.bytes_done += inflight;
        draw(p);
        p->prog.bytes_done -= inflight;
        curl_multi_poll(m, NULL, 0, 200, NULL);
    }
    curl_multi_cleanup(m);
}

/* ---- DICOM folders: one item each, its .dcm files one multi-file upload ---------------------- */

static int is_dicom(const char *rel)
{
    size_t n = strlen(rel);
    return n > 4 && strcasecmp(rel + n - 4, ".dcm") == 0;
}

/* The length of rel's folder ("a/b" of "a/b/c.dcm"; 0 for a file at the top). */
static size_t folder_len(const char *rel)
{
    const char *slash = strrchr(rel, '/');
    return slash ? (size_t)(slash - rel) : 0;
}

/* Every file of the folder (members, k of them) ends as action. */
static void folder_done(push *p, const size_t *members, size_t k, const char *action, const char *item_id,
                        const char *job_id, const char *error)
{
    for (size_t j = 0; j < k; j++) {
        file_result *r = &p->res[members[j]];
        lp_strlcpy(r->item_id, item_id ? item_id : "", sizeof r->item_id);
        lp_strlcpy(r->job_id, job_id ? job_id : "", sizeof r->job_id);
        if (strcmp(action, "uploaded") == 0)
            p->prog.bytes_done += p->fs.v[members[j]].size;
        else if (strcmp(action, "skipped") == 0)
            p->prog.bytes_total -= p->fs.v[members[j]].size;
        done(p, members[j], action, error);
    }
}

/* The item of a DICOM folder: the one at its path and name (*slot its first slot), else a new one
 * with a volume slot "0". Writes its id into item_id; 1 when it holds a stored file already and
 * --replace was not given (nothing to send), 0 to send, -1 with err. */
static int folder_item(push *p, const char *dataset_id, const char *path, const char *name,
                       const lp_cli_remote_item *remote, size_t nremote, char item_id[40], const char **slot,
                       lp_cli_error *err)
{
    char url[128];
    json_t *answer = NULL;
    for (size_t i = 0; i < nremote; i++) {
        if (strcmp(remote[i].path, path) != 0 || strcmp(remote[i].name, name) != 0)
            continue;
        lp_strlcpy(item_id, remote[i].item_id, 40);
        *slot = remote[i].slot;
        return remote[i].sha256 && !p->ctx->args->replace ? 1 : 0;
    }
    json_t *body = json_pack("{s:s, s:s, s:[{s:s, s:s, s:s*}]}", "name", name, "path", path, "slots", "name", "0",
                             "type", "volume", "dicom_series", p->ctx->args->dicom_series);
    snprintf(url, sizeof url, "/api/v1/datasets/%s/items", dataset_id);
    int rc = body ? lp_cli_request(p->ctx->client, "POST", url, body, &answer, err)
                  : lp_cli_error_set(err, LP_CLI_FAILED, "out of memory");
    const char *id = json_string_value(json_object_get(answer, "id"));
    if (rc == 0 && !id)
        rc = lp_cli_error_set(err, LP_CLI_FAILED, "the server answered without the item's id");
    if (rc == 0) {
        lp_strlcpy(item_id, id, 40);
        *slot = "0";
    }
    json_decref(body);
    json_decref(answer);
    return rc;
}

/* Sends the k files of one folder as one multi-file upload (POST …/files, a PUT per file, POST
 * …/complete) into the folder's item; its name is the folder's (top: DIR's own), its path the
 * folder's parent under --path. Every file of the folder ends counted. */
static void push_folder(push *p, const char *dataset_id, const char *dir, const lp_cli_remote_item *remote,
                        size_t nremote, const size_t *members, size_t k)
{
    char rel[1024], path[1100], url[1400], item_id[40] = "", job_id[40] = "";
    const char *name, *slot = "0", *first = p->fs.v[members[0]].rel, *base = strrchr(dir, '/');
    size_t flen = folder_len(first);
    lp_cli_error err = {0};
    json_t *body = NULL, *answer = NULL;
    int t;

    snprintf(rel, sizeof rel, "%.*s", (int)(flen ? flen : strlen(base ? base + 1 : dir)),
             flen ? first : base ? base + 1 : dir);
    if (lp_cli_remote_location(p->ctx->args->path ? p->ctx->args->path : "/", rel, path, sizeof path, &name) != 0 ||
        !*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        folder_done(p, members, k, "failed", NULL, NULL, "the folder's name cannot name an item");
        return;
    }
    if ((t = folder_item(p, dataset_id, path, name, remote, nremote, item_id, &slot, &err)) != 0) {
        folder_done(p, members, k, t > 0 ? "skipped" : "failed", item_id, NULL, t > 0 ? NULL : err.message);
        goto cleanup;
    }
    char *esc = curl_easy_escape(NULL, slot, 0);
    snprintf(url, sizeof url, "/api/v1/items/%s/slots/%s/files", item_id, esc ? esc : "0");
    curl_free(esc);
    body = json_pack("{s:I}", "files", (json_int_t)k);
    if (lp_cli_request(p->ctx->client, "POST", url, body, &answer, &err) != 0)
        goto failed;
    const char *file_url = json_string_value(json_object_get(answer, "file_url"));
    const char *complete = json_string_value(json_object_get(answer, "complete_url"));
    const char *hole = file_url ? strstr(file_url, "{n}") : NULL;
    if (!hole || !complete) {
        lp_cli_error_set(&err, LP_CLI_FAILED, "the server answered without the upload's URLs");
        goto failed;
    }
    for (size_t j = 0; j < k; j++) {
        char part[1400];
        snprintf(part, sizeof part, "%.*s%zu%s", (int)(hole - file_url), file_url, j + 1, hole + 3);
        if (lp_cli_upload(p->ctx->client, "PUT", part, disk_path(&p->fs, members[j]), NULL, &err) != 0)
            goto failed;
    }
    snprintf(url, sizeof url, "%s", complete);
    json_decref(answer);
    answer = NULL;
    if (lp_cli_request(p->ctx->client, "POST", url, NULL, &answer, &err) != 0)
        goto failed;
    const char *job = json_string_value(json_object_get(json_object_get(answer, "job"), "id"));
    lp_strlcpy(job_id, job ? job : "", sizeof job_id);
    folder_done(p, members, k, "uploaded", item_id, job_id, NULL);
    goto cleanup;
failed:
    folder_done(p, members, k, "failed", item_id, NULL, err.message);
cleanup:
    json_decref(body);
    json_decref(answer);
    lp_cli_error_clear(&err);
}

/* Every folder holding .dcm files is pushed as one item (push_folder), before the other files. */
static void push_dicom_folders(push *p, const char *dataset_id, const char *dir, const lp_cli_remote_item *remote,
                               size_t nremote)
{
    size_t *members = malloc((p->fs.n + 1) * sizeof *members);
    for (size_t i = 0; i < p->fs.n; i++) {
        const char *rel = p->fs.v[i].rel;
        if (p->res[i].action || !is_dicom(rel))
            continue;
        if (!members) {
            done(p, i, "failed", "out of memory");
            continue;
        }
        size_t k = 0, flen = folder_len(rel);
        for (size_t j = i; j < p->fs.n; j++) {
            const char *other = p->fs.v[j].rel;
            if (!p->res[j].action && is_dicom(other) && folder_len(other) == flen && strncmp(other, rel, flen) == 0)
                members[k++] = j;
        }
        push_folder(p, dataset_id, dir, remote, nremote, members, k);
    }
    free(members);
}

static json_t *summary_json(push *p, const char *slug)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < p->fs.n; i++) {
        file_result *r = &p->res[i];
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?}", "file", p->fs.v[i].rel, "action",
                                              r->action, "sha256", p->fs.v[i].sha256, "item_id",
                                              r->item_id[0] ? r->item_id : NULL, "job_id",
                                              r->job_id[0] ? r->job_id : NULL, "error", r->error));
    }
    return json_pack("{s:s, s:I, s:I, s:I, s:I, s:o}", "dataset", slug, "uploaded",
                     (json_int_t)(p->prog.files_done - p->prog.skipped - p->prog.failed), "skipped",
                     (json_int_t)p->prog.skipped, "failed", (json_int_t)p->prog.failed, "ignored",
                     (json_int_t)p->fs.ignored, "files", list);
}

int lp_cli_cmd_push(lp_cli_ctx *ctx)
{
    push p = {.ctx = ctx, .t0 = lp_now_mono_ms()};
    lp_cli_error err = {0};
    json_t *dataset = NULL, *items = json_array();
    lp_cli_remote_item *remote = NULL;
    size_t nremote = 0;
    int rc;
    char *dir = strdup(ctx->args->operands[0]);

    if (!dir || !items) {
        rc = lp_cli_fail(ctx, (lp_cli_error_set(&err, LP_CLI_FAILED, "out of memory"), &err));
        goto cleanup;
    }
    for (size_t n = strlen(dir); n > 1 && dir[n - 1] == '/'; n--)
        dir[n - 1] = '\0';
    if (lp_cli_find_dataset(ctx, ctx->args->dataset, &dataset, &err) != 0 ||
        (p.fs.rel_at = strlen(dir) + 1, walk(&p.fs, dir, 0, &err)) != 0) {
        rc = lp_cli_fail(ctx, &err);
        goto cleanup;
    }
    qsort(p.fs.v, p.fs.n, sizeof *p.fs.v, cmp_rel);
    p.plan = calloc(p.fs.n + 1, sizeof *p.plan);
    p.res = calloc(p.fs.n + 1, sizeof *p.res);
    p.slots = calloc((size_t)ctx->args->parallel, sizeof *p.slots);
    if (!p.plan || !p.res || !p.slots) {
        rc = lp_cli_fail(ctx, (lp_cli_error_set(&err, LP_CLI_FAILED, "out of memory"), &err));
        goto cleanup;
    }
    for (size_t i = 0; i < p.fs.n; i++) {
        char line[300];
        snprintf(line, sizeof line, "checksums %zu/%zu", i + 1, p.fs.n);
        lp_cli_live(ctx, line);
        if (lp_cli_file_sha256(disk_path(&p.fs, i), p.fs.v[i].sha256, &err) != 0) {
            rc = lp_cli_fail(ctx, &err);
            goto cleanup;
        }
    }
    const char *dataset_id = json_string_value(json_object_get(dataset, "id"));
    const char *slug = json_string_value(json_object_get(dataset, "slug"));
    if (list_remote(&p, dataset_id, items, &remote, &nremote, &err) != 0 ||
        lp_cli_plan_push(p.fs.v, p.fs.n, remote, nremote, ctx->args->path ? ctx->args->path : "/",
                         ctx->args->replace, p.plan) != 0) {
        rc = lp_cli_fail(ctx, err.message[0] ? &err : (lp_cli_error_set(&err, LP_CLI_FAILED, "out of memory"), &err));
        goto cleanup;
    }
    p.prog.files_total = p.fs.n;
    for (size_t i = 0; i < p.fs.n; i++)
        if (p.plan[i].action == LP_CLI_CREATE || p.plan[i].action == LP_CLI_UPLOAD || is_dicom(p.fs.v[i].rel))
            p.prog.bytes_total += p.fs.v[i].size;
    for (size_t i = 0; i < p.fs.n; i++) {
        if (is_dicom(p.fs.v[i].rel))
            continue; /* by folder, below */
        if (p.plan[i].action == LP_CLI_SKIP) {
            lp_strlcpy(p.res[i].item_id, p.plan[i].item->item_id, sizeof p.res[i].item_id);
            done(&p, i, "skipped", NULL);
        } else if (p.plan[i].action == LP_CLI_CONFLICT) {
            lp_strlcpy(p.res[i].item_id, p.plan[i].item->item_id, sizeof p.res[i].item_id);
            done(&p, i, "conflict", "its item holds another file (--replace uploads this one over it)");
        }
    }
    for (size_t k = 0; k < (size_t)ctx->args->parallel; k++)
        lp_buf_init(&p.slots[k].answer, ANSWER_MAX);
    push_dicom_folders(&p, dataset_id, dir, remote, nremote);
    run_transfers(&p, dataset_id);
    for (size_t k = 0; k < (size_t)ctx->args->parallel; k++)
        lp_buf_free(&p.slots[k].answer);
    lp_cli_live(ctx, NULL);
    size_t uploaded = p.prog.files_done - p.prog.skipped - p.prog.failed;
    if (ctx->args->json) {
        json_t *doc = summary_json(&p, slug);
        lp_cli_print_json(ctx, doc);
        json_decref(doc);
    } else if (!ctx->args->quiet) {
        fprintf(ctx->out, "pushed %s to %s: %zu uploaded, %zu skipped (already uploaded), %zu failed", dir, slug,
                uploaded, p.prog.skipped, p.prog.failed);
        if (p.fs.ignored)
            fprintf(ctx->out, ", %zu other files left out", p.fs.ignored);
        fputc('\n', ctx->out);
    }
    rc = p.prog.failed ? LP_CLI_FAILED : LP_CLI_OK;
cleanup:
    for (size_t i = 0; p.res && i < p.fs.n; i++)
        free(p.res[i].error);
    for (size_t i = 0; i < p.fs.n; i++)
        free(disk_path(&p.fs, i));
    free(p.fs.v);
    free(p.plan);
    free(p.res);
    free(p.slots);
    free(remote);
    json_decref(items);
    json_decref(dataset);
    free(dir);
    return rc;
}
