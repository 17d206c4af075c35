/* The loupe command line, read against one table of commands and one of options, which also
 * write the help text. See loupe/cli/args.h. */
#include "loupe/cli/args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Which commands an option belongs to. */
enum {
    C_LOGIN = 1u << 0,
    C_DS_LIST = 1u << 1,
    C_DS_CREATE = 1u << 2,
    C_PUSH = 1u << 3,
    C_PULL = 1u << 4,
    C_IMPORT = 1u << 5,
    C_WATCH = 1u << 6,
    C_ALL = 0xffu
};

typedef struct command_def {
    const char *name, *sub;
    unsigned bit;
    size_t operands;       /* exactly this many */
    const char *required;  /* options it needs, space-separated, or NULL */
    const char *usage, *summary;
} command_def;

static const command_def commands[] = {
    {"login", NULL, C_LOGIN, 0, NULL, "login [--url URL] [--key-stdin | --email EMAIL [--password-stdin]]",
     "check a key (or sign in and make one) and store it in the credentials file"},
    {"datasets", "list", C_DS_LIST, 0, NULL, "datasets list", "list the team's datasets"},
    {"datasets", "create", C_DS_CREATE, 1, NULL, "datasets create NAME [--slug SLUG]", "create a dataset"},
    {"push", NULL, C_PUSH, 1, "dataset", "push DIR --dataset SLUG [--path /FOLDER] [--parallel N] [--replace] [--dicom-series slots|items]",
     "upload a folder's media files as items, skipping those already uploaded"},
    {"pull", NULL, C_PULL, 1, "format",
     "pull DATASET --format FORMAT [--output FILE] [--variant V] [--frames F] [--include-media] [--path /FOLDER]",
     "export a dataset's annotations and download the archive"},
    {"import", NULL, C_IMPORT, 1, "dataset format",
     "import FILE --dataset SLUG --format FORMAT [--mode merge|replace] [--create-classes] [--create-items] "
     "[--skip-invalid] [--dry-run]",
     "import annotations from a file into a dataset and wait for the result"},
    {"jobs", "watch", C_WATCH, 1, NULL, "jobs watch ID", "follow a job until it ends"},
};

enum kind { FLAG, STRING, LONG };

typedef struct option_def {
    const char *name;
    char short_name;
    enum kind kind;
    size_t offset;
    unsigned commands;
    long min, max;
    const char *help;
} option_def;

#define AT(member) offsetof(lp_cli_args, member)

static const option_def options[] = {
    {"json", 0, FLAG, AT(json), C_ALL, 0, 0, "print results as JSON on stdout (errors as problem JSON on stderr)"},
    {"quiet", 'q', FLAG, AT(quiet), C_ALL, 0, 0, "print no progress"},
    {"url", 0, STRING, AT(url), C_ALL, 0, 0, "the server (default: LOUPE_URL, else the stored login)"},
    {"help", 'h', FLAG, AT(help), C_ALL, 0, 0, "show this help"},
    {"key-stdin", 0, FLAG, AT(key_stdin), C_LOGIN, 0, 0, "read the API key from standard input"},
    {"email", 0, STRING, AT(email), C_LOGIN, 0, 0, "sign in with this email and make an API key"},
    {"password-stdin", 0, FLAG, AT(password_stdin), C_LOGIN, 0, 0, "read the password from standard input"},
    {"slug", 0, STRING, AT(slug), C_DS_CREATE, 0, 0, "the dataset's slug (default: from the name)"},
    {"dataset", 'd', STRING, AT(dataset), C_PUSH | C_IMPORT, 0, 0, "the dataset: its slug or id"},
    {"path", 0, STRING, AT(path), C_PUSH | C_PULL, 0, 0, "push: the folder the files go under; pull: only it"},
    {"parallel", 'j', LONG, AT(parallel), C_PUSH, 1, 32, "uploads at once (1 … 32, default 4)"},
    {"replace", 0, FLAG, AT(replace), C_PUSH, 0, 0, "upload a file whose item holds other content"},
    {"dicom-series", 0, STRING, AT(dicom_series), C_PUSH, 0, 0,
     "a DICOM folder of several series: slots (default, a volume slot each) or items (an item each)"},
    {"format", 'f', STRING, AT(format), C_PULL | C_IMPORT, 0, 0, "coco, darwin, voc, yolo, cvat, mask, …"},
    {"output", 'o', STRING, AT(output), C_PULL, 0, 0, "where the archive goes (default: DATASET-FORMAT.zip)"},
    {"variant", 0, STRING, AT(variant), C_PULL | C_IMPORT, 0, 0, "yolo: detect|segment|pose; mask: semantic|instance"},
    {"frames", 0, STRING, AT(frames), C_PULL, 0, 0, "video items: all, keyframes or annotated"},
    {"include-media", 0, FLAG, AT(include_media), C_PULL, 0, 0, "put the items' files into the archive"},
    {"mode", 0, STRING, AT(mode), C_IMPORT, 0, 0, "merge (default) or replace the items' annotations"},
    {"create-classes", 0, FLAG, AT(create_classes), C_IMPORT, 0, 0, "create the classes the file names"},
    {"create-items", 0, FLAG, AT(create_items), C_IMPORT, 0, 0, "register the items the dataset lacks"},
    {"skip-invalid", 0, FLAG, AT(skip_invalid), C_IMPORT, 0, 0, "write what is valid, leave out the rest"},
    {"dry-run", 0, FLAG, AT(dry_run), C_IMPORT, 0, 0, "check and count, write nothing"},
    {"interval", 0, LONG, AT(interval_ms), C_PULL | C_IMPORT | C_WATCH, 100, 60000,
     "milliseconds between polls while waiting (default 500)"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

int lp_cli_errf(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return -1;
}

static const option_def *find_long(const char *name, size_t len)
{
    for (size_t i = 0; i < COUNT(options); i++)
        if (strlen(options[i].name) == len && strncmp(options[i].name, name, len) == 0)
            return &options[i];
    return NULL;
}

static const option_def *find_short(char c)
{
    for (size_t i = 0; i < COUNT(options); i++)
        if (options[i].short_name == c)
            return &options[i];
    return NULL;
}

static int store(lp_cli_args *out, const option_def *o, const char *value, char *err, size_t cap)
{
    char *at = (char *)out + o->offset;
    if (o->kind == FLAG) {
        *(int *)at = 1;
        return 0;
    }
    if (o->kind == STRING) {
        if (!*value)
            return lp_cli_errf(err, cap, "--%s needs a value", o->name);
        *(const char **)at = value;
        return 0;
    }
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (errno || end == value || *end || v < o->min || v > o->max)
        return lp_cli_errf(err, cap, "--%s must be a whole number from %ld to %ld, not \"%s\"", o->name, o->min, o->max,
                    value);
    *(long *)at = v;
    return 0;
}

/* Reads one option at argv[*i]; may consume the next argument as its value. */
static int read_option(int argc, char **argv, int *i, lp_cli_args *out, const option_def **seen, size_t *nseen,
                       char *err, size_t cap)
{
    const char *arg = argv[*i], *value = NULL;
    const option_def *o;
    if (arg[1] == '-') {
        const char *name = arg + 2, *eq = strchr(name, '=');
        o = find_long(name, eq ? (size_t)(eq - name) : strlen(name));
        if (!o)
            return lp_cli_errf(err, cap, "unknown option %.*s", eq ? (int)(eq - arg) : (int)strlen(arg), arg);
        if (eq) {
            if (o->kind == FLAG)
                return lp_cli_errf(err, cap, "--%s takes no value", o->name);
            value = eq + 1;
        }
    } else {
        if (arg[2])
            return lp_cli_errf(err, cap, "unknown option %s (write options one at a time)", arg);
        o = find_short(arg[1]);
        if (!o)
            return lp_cli_errf(err, cap, "unknown option %s", arg);
    }
    if (o->kind != FLAG && !value) {
        if (*i + 1 >= argc)
            return lp_cli_errf(err, cap, "--%s needs a value", o->name);
        value = argv[++*i];
    }
    seen[(*nseen)++] = o;
    return store(out, o, value, err, cap);
}

static const command_def *find_command(const char *name, const char *sub)
{
    for (size_t i = 0; i < COUNT(commands); i++)
        if (strcmp(commands[i].name, name) == 0 && (!commands[i].sub || (sub && strcmp(commands[i].sub, sub) == 0)))
            return &commands[i];
    return NULL;
}

static int has_subcommands(const char *name)
{
    for (size_t i = 0; i < COUNT(commands); i++)
        if (strcmp(commands[i].name, name) == 0 && commands[i].sub)
            return 1;
    return 0;
}

static int known_name(const char *name)
{
    for (size_t i = 0; i < COUNT(commands); i++)
        if (strcmp(commands[i].name, name) == 0)
            return 1;
    return 0;
}

/* A required option (named in cmd->required) that is missing, or NULL. */
static const char *missing_required(const command_def *cmd, const lp_cli_args *out)
{
    static char name[32];
    for (const char *p = cmd->required; p && *p;) {
        size_t n = strcspn(p, " ");
        const option_def *o = find_long(p, n);
        if (o && !*(const char *const *)((const char *)out + o->offset)) {
            snprintf(name, sizeof name, "%s", o->name);
            return name;
        }
        p += n + (p[n] == ' ');
    }
    return NULL;
}

int lp_cli_args_parse(int argc, char **argv, lp_cli_args *out, char *err, size_t cap)
{
    const option_def *seen[64];
    const char *words[8];
    size_t nseen = 0, nwords = 0;
    int options_done = 0;

    memset(out, 0, sizeof *out);
    out->parallel = 4;
    out->interval_ms = 500;
    err[0] = '\0';
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!options_done && strcmp(arg, "--") == 0) {
            options_done = 1;
        } else if (!options_done && arg[0] == '-' && arg[1]) {
            if (strcmp(arg, "--version") == 0) {
                out->version = 1;
                continue;
            }
            if (nseen == COUNT(seen))
                return lp_cli_errf(err, cap, "too many options");
            if (read_option(argc, argv, &i, out, seen, &nseen, err, cap) != 0)
                return -1;
        } else {
            if (nwords == COUNT(words))
                return lp_cli_errf(err, cap, "too many arguments");
            words[nwords++] = arg;
        }
    }
    if (out->version || (out->help && nwords == 0))
        return 0;
    if (nwords == 0)
        return lp_cli_errf(err, cap, "no command given (try loupe --help)");
    if (!known_name(words[0]))
        return lp_cli_errf(err, cap, "unknown command \"%s\" (try loupe --help)", words[0]);
    size_t first = 1;
    const char *sub = NULL;
    if (has_subcommands(words[0])) {
        if (nwords < 2) {
            if (out->help) {
                out->command = words[0];
                return 0;
            }
            return lp_cli_errf(err, cap, "%s needs a sub-command (try loupe %s --help)", words[0], words[0]);
        }
        sub = words[1];
        first = 2;
    }
    const command_def *cmd = find_command(words[0], sub);
    if (!cmd)
        return lp_cli_errf(err, cap, "unknown sub-command \"%s %s\" (try loupe %s --help)", words[0], sub, words[0]);
    out->command = cmd->name;
    out->sub = cmd->sub;
    if (out->help)
        return 0;
    for (size_t k = 0; k < nseen; k++)
        if (!(seen[k]->commands & cmd->bit))
            return lp_cli_errf(err, cap, "--%s does not apply to %s%s%s", seen[k]->name, cmd->name, cmd->sub ? " " : "",
                        cmd->sub ? cmd->sub : "");
    if (nwords - first != cmd->operands)
        return lp_cli_errf(err, cap, "usage: loupe %s", cmd->usage);
    for (size_t k = first; k < nwords; k++) {
        if (!*words[k])
            return lp_cli_errf(err, cap, "an empty argument is not a valid operand (usage: loupe %s)", cmd->usage);
        out->operands[out->noperands++] = words[k];
    }
    const char *missing = missing_required(cmd, out);
    if (missing)
        return lp_cli_errf(err, cap, "%s needs --%s (usage: loupe %s)", cmd->name, missing, cmd->usage);
    if (out->key_stdin && out->email)
        return lp_cli_errf(err, cap, "--key-stdin and --email exclude each other");
    if (out->password_stdin && !out->email)
        return lp_cli_errf(err, cap, "--password-stdin needs --email");
    if (out->path && out->path[0] != '/')
        return lp_cli_errf(err, cap, "--path must start with \"/\", not \"%s\"", out->path);
    return 0;
}

/* The options of the commands in bit; with only_shared, those every command has. */
static void print_options(FILE *f, unsigned bit, int only_shared)
{
    for (size_t i = 0; i < COUNT(options); i++) {
        const option_def *o = &options[i];
        if (!(o->commands & bit) || (only_shared && o->commands != C_ALL))
            continue;
        char left[40];
        snprintf(left, sizeof left, "%s%c%s--%s%s", o->short_name ? "-" : "", o->short_name ? o->short_name : ' ',
                 o->short_name ? ", " : " ", o->name,
                 o->kind == FLAG ? "" : o->kind == LONG ? " N" : " VALUE");
        fprintf(f, "  %-26s %s\n", o->short_name ? left : left + 2, o->help);
    }
}

void lp_cli_args_help(FILE *f, const char *command)
{
    int any = 0;
    for (size_t i = 0; command && i < COUNT(commands); i++) {
        if (strcmp(commands[i].name, command) != 0)
            continue;
        fprintf(f, "%sUsage: loupe %s\n%s.\n\nOptions:\n", any ? "\n" : "", commands[i].usage, commands[i].summary);
        print_options(f, commands[i].bit, 0);
        any = 1;
    }
    if (any)
        return;
    fputs("Usage: loupe COMMAND [OPTIONS]\nThe Loupe command-line client.\n\nCommands:\n", f);
    for (size_t i = 0; i < COUNT(commands); i++) {
        char name[32];
        snprintf(name, sizeof name, "%s%s%s", commands[i].name, commands[i].sub ? " " : "",
                 commands[i].sub ? commands[i].sub : "");
        fprintf(f, "  %-16s %s\n", name, commands[i].summary);
    }
    fputs("\nOptions for every command:\n", f);
    print_options(f, C_ALL, 1);
    fputs("\nLOUPE_URL and LOUPE_API_KEY override the stored login. Exit status: 0 done, 1 failed,\n"
          "2 bad command line, 3 no or refused credentials, 4 server unreachable or failing.\n",
          f);
}
