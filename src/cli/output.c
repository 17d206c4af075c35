/* What every command shares: JSON and error output, the live progress line, finding a dataset
 * by slug, and waiting for a job, export or import to end. See loupe/cli/commands.h. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loupe/cli/commands.h"
#include "loupe/cli/progress.h"
#include "loupe/core/util.h"

int lp_cli_print_json(lp_cli_ctx *ctx, const json_t *doc)
{
    json_dumpf(doc, ctx->out, JSON_INDENT(2) | JSON_ENSURE_ASCII);
    fputc('\n', ctx->out);
    fflush(ctx->out);
    return LP_CLI_OK;
}

int lp_cli_fail(lp_cli_ctx *ctx, lp_cli_error *err)
{
    int code = err->exit_code ? err->exit_code : LP_CLI_FAILED;
    lp_cli_live(ctx, NULL);
    if (ctx->args->json) {
        json_t *doc = err->problem ? json_incref(err->problem) : json_pack("{s:s}", "error", err->message);
        if (doc)
            json_dumpf(doc, ctx->err, JSON_COMPACT | JSON_ENSURE_ASCII);
        fputc('\n', ctx->err);
        json_decref(doc);
    } else {
        fprintf(ctx->err, "loupe: %s\n", err->message);
    }
    lp_cli_error_clear(err);
    return code;
}

void lp_cli_live(lp_cli_ctx *ctx, const char *text)
{
    if (!ctx->live)
        return;
    fprintf(ctx->err, "\r\033[K%s", text ? text : "");
    fflush(ctx->err);
}

int lp_cli_find_dataset(lp_cli_ctx *ctx, const char *name, json_t **dataset, lp_cli_error *err)
{
    *dataset = NULL;
    if (lp_is_uuid(name)) {
        char path[96];
        snprintf(path, sizeof path, "/api/v1/datasets/%s", name);
        return lp_cli_request(ctx->client, "GET", path, NULL, dataset, err);
    }
    json_t *all = json_array();
    if (!all)
        return lp_cli_error_set(err, LP_CLI_FAILED, "out of memory");
    int rc = lp_cli_get_all(ctx->client, "/api/v1/datasets", "datasets", all, err);
    size_t i;
    json_t *d;
    json_array_foreach(all, i, d)
    {
        const char *slug = json_string_value(json_object_get(d, "slug"));
        if (rc == 0 && !*dataset && slug && strcmp(slug, name) == 0)
            *dataset = json_incref(d);
    }
    json_decref(all);
    if (rc == 0 && !*dataset)
        rc = lp_cli_error_set(err, LP_CLI_FAILED, "no dataset \"%s\" in the team (loupe datasets list shows them)",
                              name);
    return rc;
}

static int finished(const char *status)
{
    return status && (strcmp(status, "succeeded") == 0 || strcmp(status, "failed") == 0 ||
                      strcmp(status, "cancelled") == 0);
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int lp_cli_wait(lp_cli_ctx *ctx, const char *path, const char *what, json_t **final, lp_cli_error *err)
{
    char last[64] = "", line[256];
    int plain = !ctx->live && !ctx->args->quiet && !ctx->args->json;
    *final = NULL;
    for (;;) {
        json_t *doc = NULL;
        if (lp_cli_request(ctx->client, "GET", path, NULL, &doc, err) != 0)
            return -1;
        const char *status = json_string_value(json_object_get(doc, "status"));
        double progress = json_number_value(json_object_get(doc, "progress"));
        if (!status) {
            json_decref(doc);
            return lp_cli_error_set(err, LP_CLI_FAILED, "the answer of %s has no status", path);
        }
        if (ctx->live) {
            char text[200];
            lp_cli_format_job(status, progress, ctx->columns - (int)strlen(what) - 1, text, sizeof text);
            snprintf(line, sizeof line, "%s %s", what, text);
            lp_cli_live(ctx, line);
        } else if (plain && strcmp(status, last) != 0) {
            fprintf(ctx->err, "%s %s\n", what, status);
        }
        lp_strlcpy(last, status, sizeof last);
        if (finished(status)) {
            lp_cli_live(ctx, NULL);
            *final = doc;
            return 0;
        }
        json_decref(doc);
        pause_ms(ctx->args->interval_ms);
    }
}
