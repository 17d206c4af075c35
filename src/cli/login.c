/* loupe login: a key given (standard input, LOUPE_API_KEY or typed at the prompt) or made by
 * signing in with an email and password, checked with GET /api/v1/me, then stored in the
 * credentials file. See loupe/cli/commands.h. */
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "loupe/cli/commands.h"
#include "loupe/core/util.h"

/* Reads one line from standard input into out (no line break), prompting without echo when
 * stdin is a terminal. 0, or -1 when nothing was read. */
static int read_secret(lp_cli_ctx *ctx, const char *prompt, char *out, size_t cap)
{
    struct termios old, quiet;
    int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
    if (tty) {
        fprintf(ctx->err, "%s", prompt);
        fflush(ctx->err);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    char *got = fgets(out, (int)cap, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', ctx->err);
    }
    if (!got)
        return -1;
    out[strcspn(out, "\r\n")] = '\0';
    return out[0] ? 0 : -1;
}

/* Signs in with email and password and makes an API key named after this host: key filled. */
static int key_from_password(lp_cli_ctx *ctx, const char *password, char *key, size_t cap, lp_cli_error *err)
{
    char host[128] = "", name[200];
    json_t *login = NULL, *made = NULL;
    json_t *body = json_pack("{s:s, s:s}", "email", ctx->args->email, "password", password);
    lp_cli_client *c = lp_cli_client_new(ctx->cred.url, NULL);
    int rc = -1;
    if (!body || !c) {
        lp_cli_error_set(err, LP_CLI_FAILED, "out of memory");
        goto cleanup;
    }
    if (lp_cli_request(c, "POST", "/api/v1/auth/login", body, &login, err) != 0)
        goto cleanup;
    if (lp_cli_client_session(c, json_string_value(json_object_get(login, "csrf_token"))) != 0) {
        lp_cli_error_set(err, LP_CLI_FAILED, "out of memory");
        goto cleanup;
    }
    gethostname(host, sizeof host - 1);
    snprintf(name, sizeof name, "loupe on %s", host[0] ? host : "this computer");
    json_decref(body);
    body = json_pack("{s:s}", "name", name);
    if (!body || lp_cli_request(c, "POST", "/api/v1/api-keys", body, &made, err) != 0)
        goto cleanup;
    const char *k = json_string_value(json_object_get(made, "key"));
    if (!k || strlen(k) >= cap) {
        lp_cli_error_set(err, LP_CLI_FAILED, "the server made no usable API key");
        goto cleanup;
    }
    lp_strlcpy(key, k, cap);
    lp_cli_error err2 = {0};
    lp_cli_request(c, "POST", "/api/v1/auth/logout", NULL, NULL, &err2); /* the session is no longer needed */
    lp_cli_error_clear(&err2);
    rc = 0;
cleanup:
    json_decref(body);
    json_decref(login);
    json_decref(made);
    lp_cli_client_free(c);
    return rc;
}

int lp_cli_cmd_login(lp_cli_ctx *ctx)
{
    const lp_cli_args *a = ctx->args;
    lp_cli_error err = {0};
    char secret[1024];
    json_t *me = NULL;

    if (!ctx->cred.url[0])
        return lp_cli_fail(ctx, (lp_cli_error_set(&err, LP_CLI_USAGE,
                                                  "which server? give --url URL (or set LOUPE_URL)"),
                                 &err));
    if (a->email) {
        if (read_secret(ctx, "Password: ", secret, sizeof secret) != 0)
            return lp_cli_fail(ctx, (lp_cli_error_set(&err, LP_CLI_USAGE, "no password on standard input"), &err));
        int rc = key_from_password(ctx, secret, ctx->cred.key, sizeof ctx->cred.key, &err);
        memset(secret, 0, sizeof secret);
        if (rc != 0)
            return lp_cli_fail(ctx, &err);
    } else if (a->key_stdin || !getenv("LOUPE_API_KEY")) {
        if (read_secret(ctx, "API key: ", secret, sizeof secret) != 0 || strlen(secret) >= sizeof ctx->cred.key)
            return lp_cli_fail(ctx, (lp_cli_error_set(&err, LP_CLI_USAGE,
                                                      "no API key on standard input (or give --email EMAIL)"),
                                     &err));
        lp_strlcpy(ctx->cred.key, secret, sizeof ctx->cred.key);
        memset(secret, 0, sizeof secret);
    }
    ctx->client = lp_cli_client_new(ctx->cred.url, ctx->cred.key);
    if (!ctx->client)
        return lp_cli_fail(ctx, (lp_cli_error_set(&err, LP_CLI_FAILED, "out of memory"), &err));
    if (lp_cli_request(ctx->client, "GET", "/api/v1/me", NULL, &me, &err) != 0)
        return lp_cli_fail(ctx, &err);
    if (lp_cli_credentials_save(ctx->cred_path, &ctx->cred, err.message, sizeof err.message) != 0) {
        json_decref(me);
        err.exit_code = LP_CLI_FAILED;
        return lp_cli_fail(ctx, &err);
    }
    json_t *user = json_object_get(me, "user"), *team = json_object_get(me, "team");
    if (a->json) {
        json_t *doc = json_pack("{s:s, s:O, s:O, s:O, s:s}", "url", ctx->cred.url, "user", user, "team", team, "role",
                                json_object_get(me, "role"), "credentials", ctx->cred_path);
        lp_cli_print_json(ctx, doc);
        json_decref(doc);
    } else {
        fprintf(ctx->out, "logged in to %s as %s (team %s, %s); key stored in %s\n", ctx->cred.url,
                json_string_value(json_object_get(user, "email")), json_string_value(json_object_get(team, "slug")),
                json_string_value(json_object_get(me, "role")), ctx->cred_path);
    }
    json_decref(me);
    return LP_CLI_OK;
}
