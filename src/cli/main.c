/* loupe: the command-line client. Parses the command line (args.c), resolves the server and key
 * (--url, LOUPE_URL and LOUPE_API_KEY, then the credentials file), and runs the command. */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "loupe/cli/commands.h"

static int terminal_columns(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
        return ws.ws_col;
    const char *c = getenv("COLUMNS");
    return c && atoi(c) >= 20 ? atoi(c) : 80;
}

static int run(lp_cli_ctx *ctx)
{
    const lp_cli_args *a = ctx->args;
    lp_cli_credentials stored;
    lp_cli_error err = {0};

    if (lp_cli_credentials_path(getenv("XDG_CONFIG_HOME"), getenv("HOME"), ctx->cred_path, sizeof ctx->cred_path,
                                err.message, sizeof err.message) != 0) {
        err.exit_code = LP_CLI_USAGE;
        return lp_cli_fail(ctx, &err);
    }
    int got = lp_cli_credentials_load(ctx->cred_path, &stored, err.message, sizeof err.message);
    if (got < 0) {
        err.exit_code = LP_CLI_AUTH;
        return lp_cli_fail(ctx, &err);
    }
    lp_cli_credentials_resolve(&stored, a->url, getenv("LOUPE_URL"), getenv("LOUPE_API_KEY"), &ctx->cred);
    if (strcmp(a->command, "login") == 0)
        return lp_cli_cmd_login(ctx);
    if (!ctx->cred.url[0] || !ctx->cred.key[0])
        return lp_cli_fail(ctx, (lp_cli_error_set(&err, LP_CLI_AUTH,
                                                  "not logged in: run loupe login --url URL (or set LOUPE_URL and "
                                                  "LOUPE_API_KEY)"),
                                 &err));
    if (!(ctx->client = lp_cli_client_new(ctx->cred.url, ctx->cred.key)))
        return lp_cli_fail(ctx, (lp_cli_error_set(&err, LP_CLI_FAILED, "out of memory"), &err));
    if (strcmp(a->command, "datasets") == 0)
        return strcmp(a->sub, "list") == 0 ? lp_cli_cmd_datasets_list(ctx) : lp_cli_cmd_datasets_create(ctx);
    if (strcmp(a->command, "push") == 0)
        return lp_cli_cmd_push(ctx);
    if (strcmp(a->command, "pull") == 0)
        return lp_cli_cmd_pull(ctx);
    if (strcmp(a->command, "import") == 0)
        return lp_cli_cmd_import(ctx);
    return lp_cli_cmd_jobs_watch(ctx);
}

int main(int argc, char **argv)
{
    lp_cli_args args;
    char err[512];
    if (lp_cli_args_parse(argc, argv, &args, err, sizeof err) != 0) {
        fprintf(stderr, "loupe: %s\n", err);
        return LP_CLI_USAGE;
    }
    if (args.version) {
        printf("loupe %s\n", LOUPE_VERSION);
        return LP_CLI_OK;
    }
    if (args.help) {
        lp_cli_args_help(stdout, args.command);
        return LP_CLI_OK;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fputs("loupe: libcurl did not start\n", stderr);
        return LP_CLI_FAILED;
    }
    lp_cli_ctx ctx = {.args = &args, .out = stdout, .err = stderr};
    ctx.live = isatty(STDERR_FILENO) && !args.quiet && !args.json;
    ctx.columns = terminal_columns();
    int rc = run(&ctx);
    lp_cli_client_free(ctx.client);
    curl_global_cleanup();
    return rc;
}
