import { describe, expect, it } from 'vitest'
import { CHANNEL_GROUPS, CHANNELS, type Channel, type IpcResult } from '../src-main/ipc/channels'
import { schemas } from '../src-main/ipc/schemas'
import { createApi } from '../src-renderer/src/lib/api-client'
import { ApiError } from '../src-renderer/src/lib/api-error'

// The IPC contract has two halves: the channel list (no run-time dependency;
// the preload and the renderer build their calls from it) and main's input
// schemas (what the router serves). They must name the same channels, and the
// renderer's client must offer exactly those.

const served = Object.keys(schemas).sort()

/** Every call the client makes, answered as `answer` says. */
function recordingInvoke(answer: (channel: Channel, input: unknown) => IpcResult<unknown>) {
  const calls: Array<{ channel: Channel; input: unknown }> = []
  const invoke = async (channel: Channel, input: unknown) => {
    calls.push({ channel, input })
    return answer(channel, input)
  }
  return { invoke, calls }
}

describe('the IPC contract in two parts', () => {
  it('the channel list and the schema map name the same channels', () => {
    expect([...CHANNELS].sort()).toEqual(served)
    expect(new Set(CHANNELS).size).toBe(CHANNELS.length)
    for (const channel of CHANNELS) expect(channel).toMatch(/^[a-z]+\.[A-Za-z]+$/)
  })

  it('the renderer\'s api has exactly the served channels, grouped as window.tessera is', () => {
    const api = createApi(recordingInvoke(() => ({ ok: true, value: null })).invoke)
    const methods = Object.entries(api).flatMap(([group, calls]) => Object.keys(calls).map((method) => `${group}.${method}`))
    expect(methods.sort()).toEqual(served)
    expect(Object.keys(api)).toEqual(Object.keys(CHANNEL_GROUPS))
    for (const calls of Object.values(api)) {
      for (const call of Object.values(calls)) expect(typeof call).toBe('function')
    }
  })

  it('each method calls its own channel with the input and resolves the value', async () => {
    const { invoke, calls } = recordingInvoke((channel) => ({ ok: true, value: { from: channel } }))
    const api = createApi(invoke)
    for (const [group, methods] of Object.entries(api)) {
      for (const [method, call] of Object.entries(methods)) {
        const input = { marker: `${group}/${method}` }
        await expect((call as (i: unknown) => Promise<unknown>)(input)).resolves.toEqual({ from: `${group}.${method}` })
        expect(calls.at(-1)).toEqual({ channel: `${group}.${method}`, input })
      }
    }
    expect(calls).toHaveLength(served.length)
    await api.app.info()
    expect(calls.at(-1)).toEqual({ channel: 'app.info', input: undefined })
  })

  it('tells the page after every answered call that may add a record line, refused or not, and never after a read', async () => {
    let told = 0
    const api = createApi(
      recordingInvoke((channel) => (channel === 'attempt.update' ? { ok: false, error: { code: 'invalid_key', message: 'refused' } } : { ok: true, value: null })).invoke,
      () => void told++,
    )
    await api.decode.held({ flow: 'root', encoded: 'x' })
    expect(told).toBe(1)
    await api.attempt.update({ flow: 'root', key: 'k', nonce: 'n' }).catch(() => undefined)
    expect(told).toBe(2)
    await api.handout.cardPrinted({ index: 0 })
    expect(told).toBe(3)
    // Reading the record back must not set off another read.
    await api.session.state()
    await api.attempt.status({ flow: 'root' })
    expect(told).toBe(3)
  })

  it('a refusal is thrown as an ApiError with main\'s code and message', async () => {
    const api = createApi(recordingInvoke(() => ({ ok: false, error: { code: 'wrong_nonce', message: 'the nonce does not match' } })).invoke)
    const refused = await api.attempt.update({ flow: 'root', key: 'k', nonce: 'n' }).catch((err: unknown) => err)
    expect(refused).toBeInstanceOf(ApiError)
    expect(refused).toMatchObject({ code: 'wrong_nonce', message: 'the nonce does not match' })
  })

  it('a method the list does not name does not exist: undefined, never a channel call', () => {
    const { invoke, calls } = recordingInvoke(() => ({ ok: true, value: null }))
    const api = createApi(invoke)
    // @ts-expect-error: not a channel, so not a method
    expect(api.attempt.updat).toBeUndefined()
    // @ts-expect-error: not a group
    expect(api.attempts).toBeUndefined()
    expect('updat' in api.attempt).toBe(false)
    expect(() => {
      ;(api.attempt as Record<string, unknown>).updat = () => undefined
    }).toThrow(TypeError)
    expect(() => {
      ;(api as Record<string, unknown>).attempts = {}
    }).toThrow(TypeError)
    expect(calls).toEqual([])
  })
})
