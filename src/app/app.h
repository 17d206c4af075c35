/* louped's application layer: start-up and shutdown order of the daemon and
 * the one-shot commands. main.c only parses the command line. */
#ifndef LOUPE_APP_H
#define LOUPE_APP_H

#include <stdint.h>

#include "loupe/core/config.h"

/* Runs the daemon until SIGTERM/SIGINT. Returns the process exit code. */
int lp_app_serve(lp_config *cfg);

/* `louped migrate`: applies pending migrations. Exit code. */
int lp_app_migrate(lp_config *cfg);

/* `louped admin bootstrap`: team + owner + API key, printed as one JSON line. */
int lp_app_bootstrap(lp_config *cfg, const char *team, const char *email, const char *password);

/* sd_notify(3) without libsystemd; 0 when not under systemd. */
int lp_app_notify(const char *state);
/* Half of $WATCHDOG_USEC in ms, or 0 when no watchdog is configured. */
int64_t lp_app_watchdog_interval_ms(void);

#endif
