// How an editor's saver (editor/saver.ts) reaches an item's annotations: each batch goes to
// POST …/annotations/batch with If-Match (the version the edits were made on) and its
// Idempotency-Key. A 412 is a conflict; no answer, or a 5xx, is "offline" (the saver keeps the
// edits and tries again); anything else refuses the batch as it is.
import { api, ApiError, NetworkError } from '../api/client'
import type { Shape } from '../editor/geometry'
import { SaveConflict, SaveOffline, type Batch, type SaveTransport } from '../editor/saver'

export function annotationTransport(itemId: string, load: () => Promise<{ version: number; shapes: Shape[] }>): SaveTransport {
  return {
    async save(batch: Batch, version: number, key: string): Promise<number> {
      try {
        const body: Record<string, unknown> = {}
        if (batch.create.length) body.create = batch.create
        if (batch.update.length) body.update = batch.update
        if (batch.delete.length) body.delete = batch.delete
        return (await api.saveAnnotations(itemId, body, version, key)).version
      } catch (e) {
        if (e instanceof ApiError && e.status === 412) throw new SaveConflict(e.message)
        if (e instanceof NetworkError || (e instanceof ApiError && e.status >= 500)) throw new SaveOffline(e.message)
        throw e
      }
    },
    load,
  }
}
