/* loupe datasets list | create. See loupe/cli/commands.h. */
#include <string.h>

#include "loupe/cli/commands.h"

int lp_cli_cmd_datasets_list(lp_cli_ctx *ctx)
{
    lp_cli_error err = {0};
    json_t *all = json_array();
    if (!all)
        return LP_CLI_FAILED;
    if (lp_cli_get_all(ctx->client, "/api/v1/datasets", "datasets", all, &err) != 0) {
        json_decref(all);
        return lp_cli_fail(ctx, &err);
    }
    if (ctx->args->json) {
        json_t *doc = json_pack("{s:o}", "datasets", all);
        lp_cli_print_json(ctx, doc);
        json_decref(doc);
        return LP_CLI_OK;
    }
    size_t i;
    json_t *d;
    fprintf(ctx->out, "%-32s %-36s %s\n", "SLUG", "ID", "NAME");
    json_array_foreach(all, i, d)
    {
        fprintf(ctx->out, "%-32s %-36s %s\n", json_string_value(json_object_get(d, "slug")),
                json_string_value(json_object_get(d, "id")), json_string_value(json_object_get(d, "name")));
    }
    json_decref(all);
    return LP_CLI_OK;
}

int lp_cli_cmd_datasets_create(lp_cli_ctx *ctx)
{
    lp_cli_error err = {0};
    json_t *answer = NULL;
    json_t *body = json_pack("{s:s, s:s*}", "name", ctx->args->operands[0], "slug", ctx->args->slug);
    int rc = body ? lp_cli_request(ctx->client, "POST", "/api/v1/datasets", body, &answer, &err)
                  : lp_cli_error_set(&err, LP_CLI_FAILED, "out of memory");
    json_decref(body);
    if (rc != 0)
        return lp_cli_fail(ctx, &err);
    if (ctx->args->json)
        lp_cli_print_json(ctx, answer);
    else
        fprintf(ctx->out, "created dataset %s (%s)\n", json_string_value(json_object_get(answer, "slug")),
                json_string_value(json_object_get(answer, "id")));
    json_decref(answer);
    return LP_CLI_OK;
}
