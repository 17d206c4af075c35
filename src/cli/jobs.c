/* loupe jobs watch ID: a job followed until it ends; the exit status says how it ended. See
 * loupe/cli/commands.h. */
#include <string.h>

#include "loupe/cli/commands.h"

int lp_cli_cmd_jobs_watch(lp_cli_ctx *ctx)
{
    lp_cli_error err = {0};
    char path[160];
    json_t *job = NULL;
    const char *id = ctx->args->operands[0];
    if (strlen(id) > 64 || strpbrk(id, "/?#%"))
        return lp_cli_fail(ctx, (lp_cli_error_set(&err, LP_CLI_USAGE, "\"%s\" is not a job id", id), &err));
    snprintf(path, sizeof path, "/api/v1/jobs/%s", id);
    if (lp_cli_wait(ctx, path, "job", &job, &err) != 0)
        return lp_cli_fail(ctx, &err);
    const char *status = json_string_value(json_object_get(job, "status"));
    int ok = strcmp(status, "succeeded") == 0;
    if (ctx->args->json) {
        lp_cli_print_json(ctx, job);
    } else {
        const char *why = json_string_value(json_object_get(job, "error"));
        fprintf(ok ? ctx->out : ctx->err, "%sjob %s %s%s%s\n", ok ? "" : "loupe: ", id, status, why ? ": " : "",
                why ? why : "");
    }
    json_decref(job);
    return ok ? LP_CLI_OK : LP_CLI_FAILED;
}
