/* loupe's commands, each over a run's context: the parsed command line, the client of the
 * resolved server, and where output goes (results on stdout — JSON with --json —, progress and
 * errors on stderr). Each returns an exit status (loupe/cli/args.h). */
#ifndef LOUPE_CLI_COMMANDS_H
#define LOUPE_CLI_COMMANDS_H

#include <jansson.h>
#include <stdio.h>

#include "loupe/cli/args.h"
#include "loupe/cli/client.h"
#include "loupe/cli/credentials.h"

typedef struct lp_cli_ctx {
    const lp_cli_args *args;
    lp_cli_credentials cred;     /* the resolved server and key */
    char cred_path[LP_CLI_URL_MAX * 4]; /* the credentials file */
    lp_cli_client *client;       /* NULL until a command needs the server (login makes its own) */
    int live;                    /* draw progress in place: stderr is a terminal and not --quiet */
    int columns;                 /* the terminal's width */
    FILE *out, *err;
} lp_cli_ctx;

int lp_cli_cmd_login(lp_cli_ctx *ctx);
int lp_cli_cmd_datasets_list(lp_cli_ctx *ctx);
int lp_cli_cmd_datasets_create(lp_cli_ctx *ctx);
int lp_cli_cmd_push(lp_cli_ctx *ctx);
int lp_cli_cmd_pull(lp_cli_ctx *ctx);
int lp_cli_cmd_import(lp_cli_ctx *ctx);
int lp_cli_cmd_jobs_watch(lp_cli_ctx *ctx);

/* ---- Shared by the commands (output.c) ---- */

/* Prints doc (borrowed) on stdout as one JSON document and a newline. Returns LP_CLI_OK. */
int lp_cli_print_json(lp_cli_ctx *ctx, const json_t *doc);

/* Reports err on stderr — "loupe: message", or with --json the problem (or {"error": message})
 * as JSON — clears it and returns its exit status. */
int lp_cli_fail(lp_cli_ctx *ctx, lp_cli_error *err);

/* Draws text as the live progress line (only when ctx->live); NULL clears the line. */
void lp_cli_live(lp_cli_ctx *ctx, const char *text);

/* The dataset named by slug or id: *dataset (new) or -1 (err; 404 names it). */
int lp_cli_find_dataset(lp_cli_ctx *ctx, const char *name, json_t **dataset, lp_cli_error *err);

/* Polls GET path (a job, export or import) every --interval until its status is succeeded,
 * failed or cancelled, drawing its progress live, else printing each new status on stderr
 * (unless --quiet or --json). 0 with *final (new), or -1 (err). */
int lp_cli_wait(lp_cli_ctx *ctx, const char *path, const char *what, json_t **final, lp_cli_error *err);

/* The SHA-256 of the file at path in lower-case hex (65 bytes with the NUL): 0 or -1 (err). */
int lp_cli_file_sha256(const char *path, char hex[65], lp_cli_error *err);

#endif
