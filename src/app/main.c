/* louped: the Loupe daemon. Parses the command line and hands over to app.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "loupe/core/cli.h"
#include "loupe/jobs/model_stage.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: louped [OPTIONS] [COMMAND]\n"
            "\n"
            "Commands:\n"
            "  serve                         run the daemon (default)\n"
            "  migrate                       apply pending database migrations and exit\n"
            "  admin bootstrap --team NAME --email EMAIL [--password-stdin]\n"
            "                                create a team, its owner and an API key; prints JSON\n"
            "  config [--markdown]           print the effective settings (or the settings table)\n");
}

static int read_password_stdin(char *out, size_t cap)
{
    if (!fgets(out, (int)cap, stdin))
        return -1;
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

static int cmd_config(lp_config *cfg, int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--markdown") == 0) {
        lp_config_print_markdown(stdout);
        return 0;
    }
    size_t n;
    const lp_cfg_entry *t = lp_config_table(&n);
    for (size_t i = 0; i < n; i++) {
        char v[1024];
        lp_config_format(cfg, &t[i], v, sizeof(v));
        printf("%s = %s\n", t[i].name, v);
    }
    return 0;
}

static int cmd_admin(lp_config *cfg, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "bootstrap") != 0) {
        fprintf(stderr, "louped admin: expected `bootstrap`\n");
        return 2;
    }
    const char *team = NULL, *email = NULL;
    int pw_stdin = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--team") == 0 && i + 1 < argc)
            team = argv[++i];
        else if (strcmp(argv[i], "--email") == 0 && i + 1 < argc)
            email = argv[++i];
        else if (strcmp(argv[i], "--password-stdin") == 0)
            pw_stdin = 1;
        else {
            fprintf(stderr, "louped admin bootstrap: unexpected argument %s\n", argv[i]);
            return 2;
        }
    }
    if (!team || !email) {
        fprintf(stderr, "louped admin bootstrap: --team NAME and --email EMAIL are required\n");
        return 2;
    }
    char password[1024] = "";
    if (pw_stdin && read_password_stdin(password, sizeof(password)) != 0) {
        fprintf(stderr, "louped admin bootstrap: no password on standard input\n");
        return 2;
    }
    return lp_app_bootstrap(cfg, team, email, pw_stdin ? password : NULL);
}

int main(int argc, char **argv)
{
    lp_config cfg;
    int first, rc;
    switch (lp_cli_load(argc, argv, "louped", LOUPE_VERSION, usage, &cfg, &first)) {
    case LP_CLI_EXIT_OK: return 0;
    case LP_CLI_EXIT_USAGE: return 2;
    default: break;
    }
    int cargc = argc - first;
    char **cargv = argv + first;
    const char *cmd = cargc > 0 ? cargv[0] : "serve";
    lp_wf_set_model_starter(lp_model_stage_start); /* tasks arriving on a model stage start its run */
    if (strcmp(cmd, "serve") == 0)
        rc = lp_app_serve(&cfg);
    else if (strcmp(cmd, "migrate") == 0)
        rc = lp_app_migrate(&cfg);
    else if (strcmp(cmd, "admin") == 0)
        rc = cmd_admin(&cfg, cargc, cargv);
    else if (strcmp(cmd, "config") == 0)
        rc = cmd_config(&cfg, cargc, cargv);
    else {
        fprintf(stderr, "louped: unknown command \"%s\" (see louped --help)\n", cmd);
        rc = 2;
    }
    lp_config_free(&cfg);
    return rc;
}
