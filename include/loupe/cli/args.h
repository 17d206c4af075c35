/* The loupe command line: a command (and for some a sub-command), its operands and its options,
 * read against one table of options (args.c) that also writes the help text. Pure: no I/O
 * besides the help printer. */
#ifndef LOUPE_CLI_ARGS_H
#define LOUPE_CLI_ARGS_H

#include <stddef.h>
#include <stdio.h>

/* Exit statuses of loupe (docs/CLI.md). */
enum {
    LP_CLI_OK = 0,          /* done */
    LP_CLI_FAILED = 1,      /* the server refused, a job failed, some files were not uploaded */
    LP_CLI_USAGE = 2,       /* bad command line */
    LP_CLI_AUTH = 3,        /* no credentials, or the server refused them (401, 403) */
    LP_CLI_UNREACHABLE = 4  /* no answer from the server, or a server error (5xx) */
};

#define LP_CLI_OPERANDS_MAX 2

typedef struct lp_cli_args {
    const char *command;   /* login, datasets, push, pull, import, jobs; NULL with --help/--version alone */
    const char *sub;       /* datasets: list | create; jobs: watch; else NULL */
    const char *operands[LP_CLI_OPERANDS_MAX];
    size_t noperands;
    /* options; strings are borrowed from argv, NULL when not given */
    int json, help, version, quiet, replace;
    int include_media, create_classes, create_items, skip_invalid, dry_run;
    int key_stdin, password_stdin;
    const char *url, *email, *dataset, *format, *output, *slug, *path, *variant, *frames, *mode;
    const char *dicom_series; /* push: what a DICOM folder of several series becomes (slots | items) */
    long parallel;         /* push: uploads at once (1 … 32), default 4 */
    long interval_ms;      /* how often a wait polls (100 … 60000), default 500 */
} lp_cli_args;

/* Reads argv[1 …] into out. 0 on success (also for --help and --version, which set out->help /
 * out->version); -1 on a usage error, with a sentence naming the option or operand in err. */
int lp_cli_args_parse(int argc, char **argv, lp_cli_args *out, char *err, size_t errcap);

/* Writes a sentence into err (cap bytes) and returns -1: the error convention of the pure parts. */
int lp_cli_errf(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The help text: the command list when command is NULL (or unknown), else that command's
 * usage and options. */
void lp_cli_args_help(FILE *out, const char *command);

#endif
