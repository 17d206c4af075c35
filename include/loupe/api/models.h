/* Housekeeping of the models API (src/api/models.c) that louped runs
 * outside requests. */
#ifndef LOUPE_API_MODELS_H
#define LOUPE_API_MODELS_H

#include "loupe/core/config.h"
#include "loupe/core/error.h"
#include "loupe/db/db.h"
#include "loupe/storage/storage.h"

/* Deletes from st the images of live inference that a louped stopped in
 * the middle of a request left behind — those noted more than
 * model_input_max_age ago — and forgets them: up to 500, in one transaction
 * on db (borrowed, none open), safe on several nodes at once. An object
 * that cannot be deleted is kept for the next sweep. The number swept, or
 * -1 with err. */
int lp_api_models_sweep_inputs(const lp_config *cfg, lp_db *db, lp_storage *st, lp_error *err);

#endif
