/* loupe pull DATASET --format F and loupe import FILE --dataset D --format F: the export and
 * import APIs driven to the end — start, wait (lp_cli_wait), then download the archive (pull,
 * checked against the export's SHA-256) or report the counts and problems (import). See
 * loupe/cli/commands.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loupe/cli/commands.h"
#include "loupe/cli/plan.h"
#include "loupe/cli/progress.h"

/* Ends a wait whose object failed: its error, as the server says it. */
static int failed(lp_cli_ctx *ctx, const char *what, const json_t *doc)
{
    lp_cli_error err = {0};
    const char *status = json_string_value(json_object_get(doc, "status"));
    const char *why = json_string_value(json_object_get(doc, "error"));
    if (ctx->args->json)
        lp_cli_print_json(ctx, doc);
    lp_cli_error_set(&err, LP_CLI_FAILED, "%s %s %s%s%s", what, json_string_value(json_object_get(doc, "id")),
                     status, why ? ": " : "", why ? why : "");
    return lp_cli_fail(ctx, &err);
}

int lp_cli_cmd_pull(lp_cli_ctx *ctx)
{
    const lp_cli_args *a = ctx->args;
    lp_cli_error err = {0};
    json_t *dataset = NULL, *body = NULL, *started = NULL, *export = NULL;
    char path[160], output[4096], part[4200], sha[LP_CLI_SHA256_HEX];
    FILE *f = NULL;
    int rc;

    if (lp_cli_find_dataset(ctx, a->operands[0], &dataset, &err) != 0) {
        rc = lp_cli_fail(ctx, &err);
        goto cleanup;
    }
    const char *slug = json_string_value(json_object_get(dataset, "slug"));
    body = json_pack("{s:s, s:{s:O, s:s*}, s:{s:s*, s:s*, s:b}}", "format", a->format, "filters", "dataset_id",
                     json_object_get(dataset, "id"), "path", a->path, "options", "variant", a->variant, "frames",
                     a->frames, "include_media", a->include_media);
    if (!body || lp_cli_request(ctx->client, "POST", "/api/v1/exports", body, &started, &err) != 0) {
        rc = lp_cli_fail(ctx, body ? &err : (lp_cli_error_set(&err, LP_CLI_FAILED, "out of memory"), &err));
        goto cleanup;
    }
    snprintf(path, sizeof path, "/api/v1/exports/%s", json_string_value(json_object_get(started, "id")));
    if (lp_cli_wait(ctx, path, "export", &export, &err) != 0) {
        rc = lp_cli_fail(ctx, &err);
        goto cleanup;
    }
    if (strcmp(json_string_value(json_object_get(export, "status")), "succeeded") != 0) {
        rc = failed(ctx, "export", export);
        goto cleanup;
    }
    if (a->output)
        snprintf(output, sizeof output, "%s", a->output);
    else
        snprintf(output, sizeof output, "%s-%s.zip", slug, a->format);
    snprintf(part, sizeof part, "%s.part", output);
    snprintf(path, sizeof path, "/api/v1/exports/%s/download", json_string_value(json_object_get(export, "id")));
    if (!(f = fopen(part, "wb"))) {
        rc = lp_cli_fail(ctx, (lp_cli_error_set(&err, LP_CLI_FAILED, "cannot write %s: %s", part, strerror(errno)),
                               &err));
        goto cleanup;
    }
    int got = lp_cli_download(ctx->client, path, f, &err);
    if (fclose(f) != 0 && got == 0)
        got = lp_cli_error_set(&err, LP_CLI_FAILED, "cannot write %s: %s", part, strerror(errno));
    f = NULL;
    const char *want = json_string_value(json_object_get(export, "sha256"));
    if (got == 0 && want && lp_cli_file_sha256(part, sha, &err) != 0)
        got = -1;
    else if (got == 0 && want && strcmp(sha, want) != 0)
        got = lp_cli_error_set(&err, LP_CLI_FAILED, "the download's SHA-256 is not the export's (%s): try again",
                               want);
    if (got == 0 && rename(part, output) != 0)
        got = lp_cli_error_set(&err, LP_CLI_FAILED, "cannot write %s: %s", output, strerror(errno));
    if (got != 0) {
        unlink(part);
        rc = lp_cli_fail(ctx, &err);
        goto cleanup;
    }
    if (a->json) {
        json_object_set_new(export, "file", json_string(output));
        lp_cli_print_json(ctx, export);
    } else {
        char size[16];
        lp_cli_format_bytes((int64_t)json_integer_value(json_object_get(export, "size_bytes")), size);
        fprintf(ctx->out, "wrote %s (%s %s, %s, %lld items)\n", output, slug, a->format, size,
                (long long)json_integer_value(json_object_get(json_object_get(export, "stats"), "items")));
    }
    rc = LP_CLI_OK;
cleanup:
    json_decref(dataset);
    json_decref(body);
    json_decref(started);
    json_decref(export);
    return rc;
}

int lp_cli_cmd_import(lp_cli_ctx *ctx)
{
    const lp_cli_args *a = ctx->args;
    lp_cli_error err = {0};
    json_t *dataset = NULL, *body = NULL, *made = NULL, *tmp = NULL, *imp = NULL;
    char path[160];
    int rc;

    if (access(a->operands[0], R_OK) != 0) {
        rc = lp_cli_fail(ctx, (lp_cli_error_set(&err, LP_CLI_FAILED, "cannot read %s: %s", a->operands[0],
                                                strerror(errno)),
                               &err));
        goto cleanup;
    }
    if (lp_cli_find_dataset(ctx, a->dataset, &dataset, &err) != 0) {
        rc = lp_cli_fail(ctx, &err);
        goto cleanup;
    }
    body = json_pack("{s:s, s:O, s:b, s:{s:b, s:b, s:b, s:s*, s:s*}}", "format", a->format, "dataset_id",
                     json_object_get(dataset, "id"), "dry_run", a->dry_run, "options", "create_classes",
                     a->create_classes, "create_items", a->create_items, "skip_invalid", a->skip_invalid, "mode",
                     a->mode, "variant", a->variant);
    if (!body || lp_cli_request(ctx->client, "POST", "/api/v1/imports", body, &made, &err) != 0) {
        rc = lp_cli_fail(ctx, body ? &err : (lp_cli_error_set(&err, LP_CLI_FAILED, "out of memory"), &err));
        goto cleanup;
    }
    const char *id = json_string_value(json_object_get(made, "id"));
    snprintf(path, sizeof path, "/api/v1/imports/%s/file", id ? id : "");
    if (lp_cli_upload(ctx->client, "PUT", path, a->operands[0], &tmp, &err) != 0) {
        rc = lp_cli_fail(ctx, &err);
        goto cleanup;
    }
    json_decref(tmp);
    tmp = NULL;
    snprintf(path, sizeof path, "/api/v1/imports/%s/start", id);
    if (lp_cli_request(ctx->client, "POST", path, NULL, &tmp, &err) != 0) {
        rc = lp_cli_fail(ctx, &err);
        goto cleanup;
    }
    snprintf(path, sizeof path, "/api/v1/imports/%s", id);
    if (lp_cli_wait(ctx, path, "import", &imp, &err) != 0) {
        rc = lp_cli_fail(ctx, &err);
        goto cleanup;
    }
    if (strcmp(json_string_value(json_object_get(imp, "status")), "succeeded") != 0) {
        rc = failed(ctx, "import", imp);
        goto cleanup;
    }
    if (a->json) {
        lp_cli_print_json(ctx, imp);
    } else {
        json_t *counts = json_object_get(imp, "counts"), *items = json_object_get(counts, "items"),
               *ann = json_object_get(counts, "annotations");
        fprintf(ctx->out,
                "imported %s into %s%s: items %lld matched, %lld created, %lld skipped; annotations %lld created, "
                "%lld replaced, %lld skipped; %lld problems\n",
                a->operands[0], json_string_value(json_object_get(dataset, "slug")),
                a->dry_run ? " (dry run: nothing written)" : "",
                (long long)json_integer_value(json_object_get(items, "matched")),
                (long long)json_integer_value(json_object_get(items, "created")),
                (long long)json_integer_value(json_object_get(items, "skipped")),
                (long long)json_integer_value(json_object_get(ann, "created")),
                (long long)json_integer_value(json_object_get(ann, "replaced")),
                (long long)json_integer_value(json_object_get(ann, "skipped")),
                (long long)json_integer_value(json_object_get(imp, "problems_total")));
        size_t i;
        json_t *pr;
        json_array_foreach(json_object_get(imp, "problems"), i, pr)
        {
            fprintf(ctx->out, "  %s: %s: %s\n", json_string_value(json_object_get(pr, "file")),
                    json_string_value(json_object_get(pr, "where")), json_string_value(json_object_get(pr, "message")));
        }
    }
    rc = LP_CLI_OK;
cleanup:
    json_decref(dataset);
    json_decref(body);
    json_decref(made);
    json_decref(tmp);
    json_decref(imp);
    return rc;
}
