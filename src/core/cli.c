/* Shared command line parsing. See cli.h. */
#include "loupe/core/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <unistd.h>

#include "loupe/core/log.h"

extern char **environ;

void lp_cli_print_options(FILE *out)
{
    fputs("Options:\n"
          "  -c, --config FILE             read settings from FILE (name = value lines)\n"
          "  -s, --set NAME=VALUE          set one setting (repeatable; wins over file and environment)\n"
          "  -h, --help                    show this help\n"
          "      --version                 show the version\n",
          out);
}

static void print_usage(void (*usage)(FILE *), FILE *out)
{
    usage(out);
    fputc('\n', out);
    lp_cli_print_options(out);
    fputc('\n', out);
    lp_config_print_help(out);
}

lp_cli_result lp_cli_load(int argc, char **argv, const char *program, const char *version, void (*usage)(FILE *out),
                          lp_config *cfg, int *first_operand)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"set", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"version", no_argument, NULL, 'V'},
                                         {NULL, 0, NULL, 0}};
    const char *config_path = NULL;
    char **sets = calloc((size_t)argc + 1, sizeof(char *));
    size_t nsets = 0;
    int c;
    if (!sets)
        return LP_CLI_EXIT_USAGE;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+c:s:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config_path = optarg; break;
        case 's': sets[nsets++] = optarg; break;
        case 'h': print_usage(usage, stdout); free(sets); return LP_CLI_EXIT_OK;
        case 'V': printf("%s %s\n", program, version); free(sets); return LP_CLI_EXIT_OK;
        default: print_usage(usage, stderr); free(sets); return LP_CLI_EXIT_USAGE;
        }
    }
    lp_error err;
    lp_error_clear(&err);
    int rc = lp_config_load(cfg, config_path, environ, &err);
    for (size_t i = 0; rc == 0 && i < nsets; i++)
        rc = lp_config_set_pair(cfg, sets[i], "--set", &err);
    free(sets);
    lp_log_level level = LP_LOG_INFO;
    if (rc == 0 && lp_log_level_parse(cfg->log_level, &level) != 0)
        rc = lp_error_set(&err, LP_E_INVALID, "log_level: \"%s\" is not one of debug, info, warn, error, off",
                          cfg->log_level);
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", program, err.message);
        if (err.hint[0])
            fprintf(stderr, "hint: %s\n", err.hint);
        lp_config_free(cfg);
        return LP_CLI_EXIT_USAGE;
    }
    lp_log_init(level, STDERR_FILENO);
    *first_operand = optind;
    return LP_CLI_RUN;
}
