/* loupe-worker: consumes job queues and runs jobs. Parses the command line,
 * loads the settings and hands over to dispatch.c. */
#include <stdio.h>

#include "loupe/core/cli.h"
#include "loupe/jobs/model_stage.h"
#include "worker_int.h"

static void usage(FILE *out)
{
    fprintf(out, "Usage: loupe-worker [OPTIONS]\n"
                 "\n"
                 "Consumes the job queues named by worker_queues and runs their jobs.\n"
                 "SIGTERM or SIGINT: finish the job in hand, then exit.\n");
}

int main(int argc, char **argv)
{
    lp_config cfg;
    int first;
    switch (lp_cli_load(argc, argv, "loupe-worker", LOUPE_VERSION, usage, &cfg, &first)) {
    case LP_CLI_EXIT_OK: return 0;
    case LP_CLI_EXIT_USAGE: return 2;
    default: break;
    }
    if (first < argc) {
        fprintf(stderr, "loupe-worker: unexpected argument \"%s\" (see loupe-worker --help)\n", argv[first]);
        lp_config_free(&cfg);
        return 2;
    }
    lp_wf_set_model_starter(lp_model_stage_start); /* a run's tasks may move on to another model stage */
    int rc = lp_worker_run(&cfg);
    lp_config_free(&cfg);
    return rc;
}
