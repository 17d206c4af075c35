/* What louped keeps for serving slot media (src/api/slot_media.c) outside
 * requests: the node's media cache and its decoder pool. */
#ifndef LOUPE_API_SLOT_MEDIA_H
#define LOUPE_API_SLOT_MEDIA_H

/* Stops the decoder pool and frees the media cache, removing its directory
 * with the copies in it (loupe/storage/media_cache.h). Call once no request
 * runs (after the HTTP server has stopped); a later request would make
 * them again. */
void lp_api_slot_media_free(void);

#endif
