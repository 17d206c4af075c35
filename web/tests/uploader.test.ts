import { describe, expect, it } from 'vitest'
import { Uploader, UploadError, type UploadTransport } from '../src/lib/uploader'

function blob(n: number): Blob {
  return new Blob([new Uint8Array(n)])
}

describe('Uploader', () => {
  it('runs at most 4 files at a time and registers each file once', async () => {
    let running = 0
    let most = 0
    const created: string[] = []
    const transport: UploadTransport = {
      createItem: async (name, path) => {
        created.push(`${path}/${name}`)
        return { id: name }
      },
      put: async (_id, body, onProgress) => {
        running++
        most = Math.max(most, running)
        await new Promise((r) => setTimeout(r, 5))
        onProgress(body.size)
        running--
      },
    }
    const up = new Uploader(transport)
    up.add(Array.from({ length: 10 }, (_, i) => ({ file: blob(10), name: `f${i}.jpg`, path: '/a' })))
    await up.whenIdle()
    expect(most).toBe(4)
    expect(created).toHaveLength(10)
    expect(up.entries.every((e) => e.state === 'processing')).toBe(true)
    expect(up.progress).toBe(1)
  })

  it('retries a network error without registering the item again, and resumes failures', async () => {
    let puts = 0
    let creates = 0
    let online = false
    const transport: UploadTransport = {
      createItem: async () => ({ id: `item${++creates}` }),
      put: async () => {
        puts++
        if (!online) throw new UploadError('offline', true)
      },
    }
    const up = new Uploader(transport, { maxAttempts: 3, sleep: async () => undefined })
    up.add([{ file: blob(5), name: 'a.jpg', path: '/' }])
    await up.whenIdle()
    expect(up.entries[0]!.state).toBe('failed')
    expect(puts).toBe(3)
    online = true
    up.resume()
    await up.whenIdle()
    expect(up.entries[0]!.state).toBe('processing')
    expect(creates).toBe(1)
    up.markProcessed('item1')
    expect(up.entries[0]!.state).toBe('done')
    up.clearDone()
    expect(up.entries).toHaveLength(0)
  })

  it('does not retry a refusal', async () => {
    let puts = 0
    const up = new Uploader(
      {
        createItem: async () => ({ id: 'x' }),
        put: async () => {
          puts++
          throw new UploadError('413 too large', false)
        },
      },
      { sleep: async () => undefined },
    )
    up.add([{ file: blob(5), name: 'a.jpg', path: '/' }])
    await up.whenIdle()
    expect(puts).toBe(1)
    expect(up.entries[0]!.error).toContain('413')
  })
})
