import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runInNewContext } from 'node:vm'
import { resolveConfig } from 'electron-vite'
import { build } from 'vite'
import { schemas } from '../src-main/ipc/schemas'

// The sandboxed preload bundles everything it imports. Built here from the
// project's own electron-vite configuration (into a temporary directory, so
// that nothing else reading out/ is disturbed), it must carry the channel list
// and nothing of the schema library, and expose window.tessera as before.

const ROOT = join(import.meta.dirname, '..')
let dir: string
let code: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-preload-'))
  const { config } = await resolveConfig({ root: ROOT, logLevel: 'silent' }, 'build', 'production')
  const preload = config!.preload!
  await build({ ...preload, logLevel: 'silent', build: { ...preload.build, outDir: dir, emptyOutDir: true } })
  code = await readFile(join(dir, 'index.cjs'), 'utf8')
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Runs the bundle as Electron's sandbox would, with a stand-in `electron` that records what it is given. */
function runPreload() {
  const exposed = new Map<string, unknown>()
  const invoked: Array<[string, unknown]> = []
  const electron = {
    contextBridge: { exposeInMainWorld: (name: string, value: unknown) => exposed.set(name, value) },
    ipcRenderer: { invoke: async (channel: string, input: unknown) => (invoked.push([channel, input]), { ok: true, value: channel }) },
  }
  const required: string[] = []
  const require = (name: string) => {
    required.push(name)
    if (name !== 'electron') throw new Error('a sandboxed preload can require only electron')
    return electron
  }
  runInNewContext(code, { require, module: { exports: {} }, exports: {} })
  return { exposed, invoked, required }
}

describe('the preload bundle', () => {
  it('carries no schema library and no Proxy, and requires only electron', () => {
    expect(code).not.toMatch(/valibot/i)
    for (const name of ['strictObject', 'safeParse', 'picklist', 'getGlobalConfig']) expect(code, name).not.toContain(name)
    expect(code).not.toMatch(/\bProxy\b/)
    expect([...code.matchAll(/require\(\s*["'`]([^"'`]+)["'`]\s*\)/g)].map((m) => m[1])).toEqual(['electron'])
    // The channel list and a loop over it; the schemas alone were over 20 kB.
    expect(code.length).toBeLessThan(8 * 1024)
  })

  it('exposes window.tessera with exactly the channels main serves, as plain functions', async () => {
    const { exposed, invoked, required } = runPreload()
    expect(required).toEqual(['electron'])
    expect([...exposed.keys()]).toEqual(['tessera'])
    const tessera = exposed.get('tessera') as Record<string, Record<string, (input?: unknown) => Promise<unknown>>>
    const methods = Object.entries(tessera).flatMap(([group, calls]) => Object.keys(calls).map((method) => `${group}.${method}`))
    expect(methods.sort()).toEqual(Object.keys(schemas).sort())

    await expect(tessera.attempt!.update!({ flow: 'root', key: 'k', nonce: 'n' })).resolves.toEqual({ ok: true, value: 'attempt.update' })
    await tessera.app!.info!()
    expect(invoked).toEqual([
      ['attempt.update', { flow: 'root', key: 'k', nonce: 'n' }],
      ['app.info', undefined],
    ])
    expect(tessera.attempt!.updat).toBeUndefined()
    expect(tessera.attempts).toBeUndefined()
  })
})
