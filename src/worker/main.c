/* loupe-worker: consumes job queues and runs jobs. Parses the command line,
 * loads the settings and hands over to dispatch.c. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "loupe/core/config.h"
#include "loupe/core/log.h"
#include "worker.h"

extern char **environ;

static void usage(FILE *out)
{
    fprintf(out, "Usage: loupe-worker [OPTIONS]\n"
                 "\n"
                 "Consumes the job queues named by worker_queues and runs their jobs.\n"
                 "SIGTERM or SIGINT: finish the job in hand, then exit.\n"
                 "\n"
                 "Options:\n"
                 "  -c, --config FILE             read settings from FILE (name = value lines)\n"
                 "  -s, --set NAME=VALUE          set one setting (repeatable; wins over file and environment)\n"
                 "  -h, --help                    show this help\n"
                 "      --version                 show the version\n"
                 "\n");
    lp_config_print_help(out);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"set", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"version", no_argument, NULL, 'V'},
                                         {NULL, 0, NULL, 0}};
    const char *config_path = NULL;
    char **sets = calloc((size_t)argc + 1, sizeof(char *));
    size_t nsets = 0;
    lp_config cfg;
    lp_error err;
    lp_log_level level = LP_LOG_INFO;
    int c, rc;

    if (!sets)
        return 1;
    while ((c = getopt_long(argc, argv, "c:s:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config_path = optarg; break;
        case 's': sets[nsets++] = optarg; break;
        case 'h': usage(stdout); free(sets); return 0;
        case 'V': printf("loupe-worker %s\n", LOUPE_VERSION); free(sets); return 0;
        default: usage(stderr); free(sets); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "loupe-worker: unexpected argument \"%s\" (see loupe-worker --help)\n", argv[optind]);
        free(sets);
        return 2;
    }
    lp_error_clear(&err);
    rc = lp_config_load(&cfg, config_path, environ, &err);
    for (size_t i = 0; rc == 0 && i < nsets; i++)
        rc = lp_config_set_pair(&cfg, sets[i], "--set", &err);
    free(sets);
    if (rc == 0 && lp_log_level_parse(cfg.log_level, &level) != 0)
        rc = lp_error_set(&err, LP_E_INVALID, "log_level: \"%s\" is not one of debug, info, warn, error, off",
                          cfg.log_level);
    if (rc != 0) {
        fprintf(stderr, "loupe-worker: %s\n", err.message);
        if (err.hint[0])
            fprintf(stderr, "hint: %s\n", err.hint);
        lp_config_free(&cfg);
        return 2;
    }
    lp_log_init(level, STDERR_FILENO);
    rc = lp_worker_run(&cfg);
    lp_config_free(&cfg);
    return rc;
}
