import { describe, expect, it } from 'vitest'
import type { BackendInfo, TesseraApi, UnsealView } from '../src-main/ipc/channels'
import { Unseal } from '../src-renderer/src/lib/unseal.svelte'

/** A view of one node whose progress is `progress`. */
const view = (progress: number): UnsealView => ({
  nodes: [{ number: 1, address: 'https://vault-1:8200', seal: { initialized: true, sealed: true, t: 2, n: 3, progress, nonce: '', version: '1.15.0' }, error: null, last: null }],
  unsealed: false,
  running: progress > 0,
  log: [],
})

/** A promise the test settles when it chooses, as a slow main answers. */
function later<T>() {
  let settle!: (value: T) => void
  const promise = new Promise<T>((resolve) => (settle = resolve))
  return { promise, settle }
}

describe('the unseal screen\'s state', () => {
  it('keeps a share\'s answer over a read made before it, and stays locked while the share is on its way', async () => {
    const read = later<UnsealView>()
    const sent = later<UnsealView>()
    const api = { unseal: { status: () => read.promise, submit: () => sent.promise } } as unknown as TesseraApi
    const u = new Unseal(api, { serverChanged: (_: BackendInfo) => undefined, goTo: () => undefined })

    const reading = u.read()
    const submitting = u.submit('Alice', 'share')
    expect(u.busy).toBe(true)
    sent.settle(view(1))
    await submitting
    expect(u.view?.nodes[0]?.seal?.progress).toBe(1)
    // The read started before the share answers last, with the nodes as they were: it is dropped.
    read.settle(view(0))
    await reading
    expect(u.view?.nodes[0]?.seal?.progress).toBe(1)

    // A read answering while a share is on its way leaves the form locked.
    const again = later<UnsealView>()
    const api2 = { unseal: { status: async () => view(1), submit: () => again.promise } } as unknown as TesseraApi
    const u2 = new Unseal(api2, { serverChanged: () => undefined, goTo: () => undefined })
    const pending = u2.submit('Bob', 'share')
    await u2.read()
    expect(u2.busy).toBe(true)
    again.settle(view(2))
    await pending
    expect(u2.busy).toBe(false)
    expect(u2.needed).toBe(true)
  })
})
