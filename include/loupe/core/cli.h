/* The command line louped and loupe-worker share:
 *   -c, --config FILE   -s, --set NAME=VALUE (repeatable)   -h, --help   --version
 * Options stop at the first operand (a command such as `migrate`). */
#ifndef LOUPE_CORE_CLI_H
#define LOUPE_CORE_CLI_H

#include <stdio.h>

#include "loupe/core/config.h"

typedef enum lp_cli_result {
    LP_CLI_RUN = 0,    /* settings loaded, logging set up: go on */
    LP_CLI_EXIT_OK,    /* help or version printed: exit 0 */
    LP_CLI_EXIT_USAGE  /* bad option or bad setting, reported on stderr: exit 2 */
} lp_cli_result;

/* Parses argv, loads cfg (defaults < file < LOUPE_* environment < --set) and
 * initialises logging from log_level. usage(out) prints what is the program's
 * own (usage line, commands); --help appends the shared options
 * (lp_cli_print_options) and the settings list. On LP_CLI_RUN, *first_operand indexes the
 * first non-option argument (== argc when none) and cfg must be freed with
 * lp_config_free; otherwise cfg holds nothing. */
/* Prints the "Options:" block above, the one text of the shared options. */
void lp_cli_print_options(FILE *out);

lp_cli_result lp_cli_load(int argc, char **argv, const char *program, const char *version, void (*usage)(FILE *out),
                          lp_config *cfg, int *first_operand);

#endif
