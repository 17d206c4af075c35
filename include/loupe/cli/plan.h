/* What `loupe push` does with each file of a folder, decided before anything is sent: a file's
 * item is the one at the same path and name in the dataset, and a file whose item's slot already
 * holds the same bytes (by SHA-256) is skipped, so a push that stopped half-way resumes where it
 * was. Pure. */
#ifndef LOUPE_CLI_PLAN_H
#define LOUPE_CLI_PLAN_H

#include <stddef.h>
#include <stdint.h>

#define LP_CLI_SHA256_HEX 65

typedef enum lp_cli_action {
    LP_CLI_CREATE,   /* no item at its path and name: register one, then upload */
    LP_CLI_UPLOAD,   /* its item exists without this file (never stored, or --replace): upload */
    LP_CLI_SKIP,     /* its item's slot holds the same bytes */
    LP_CLI_CONFLICT  /* its item's slot holds other bytes and replacing was not asked for */
} lp_cli_action;

typedef struct lp_cli_local_file {
    const char *rel;                 /* borrowed: the path under the folder, "a/b/c.jpg" */
    char sha256[LP_CLI_SHA256_HEX];  /* lower-case hex */
    int64_t size;
} lp_cli_local_file;

typedef struct lp_cli_remote_item {
    const char *path, *name;         /* borrowed: "/a/b", "c.jpg" */
    const char *item_id;             /* borrowed */
    const char *slot;                /* borrowed: the item's first slot's name */
    const char *sha256;              /* borrowed: that slot's stored original, NULL = none */
} lp_cli_remote_item;

typedef struct lp_cli_plan_entry {
    lp_cli_action action;
    const lp_cli_remote_item *item;  /* borrowed from remote: UPLOAD, SKIP, CONFLICT; else NULL */
} lp_cli_plan_entry;

/* The media type of a file by its extension (case-insensitive): "image", "video", "volume", or
 * NULL for a file push leaves alone. */
const char *lp_cli_media_type(const char *filename);

/* Where rel goes under folder ("/" or "/x", no trailing "/"): path "/x/a/b" into path (cap
 * bytes) and *name pointing into rel at "c.jpg". 0, or -1 when it does not fit. */
int lp_cli_remote_location(const char *folder, const char *rel, char *path, size_t cap, const char **name);

/* Decides every file: out[i] for files[i] (out holds nfiles). remote may be reordered (it is
 * sorted for the look-up). 0, or -1 when memory ran out. */
int lp_cli_plan_push(const lp_cli_local_file *files, size_t nfiles, lp_cli_remote_item *remote, size_t nremote,
                     const char *folder, int replace, lp_cli_plan_entry *out);

#endif
