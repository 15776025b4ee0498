import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFile } from 'node:fs/promises'
import { runCli, runWithSinks, spawnWithSinks, waitForOutput } from './helpers/cli'
import { makeKeyset, mistypeAt, tempDir, keysOpen } from './helpers/keysets'

let tmp: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => {
  tmp = await tempDir()
})
afterAll(() => tmp.cleanup())

const newKeys = (stdout: string) => [...stdout.matchAll(/^New Unseal Key \d+(?: \([^)]*\))?: (\S+)$/gm)].map((m) => m[1]!)

describe('tessera rekey', () => {
  it('takes the current shares on standard input, prints the new ones with their holders, and the keyset moves on', async () => {
    const ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    const r = await runCli(['rekey', '--keyset', ks.path, '--shares', '3', '--threshold', '2', '--holders', 'Ada,Bo,Cy'], {
      stdin: `${mistypeAt(ks.keys[0]!, 8)}\n\n${ks.keys[0]}\n${ks.keys_base64[2]}\n`,
    })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/refused: this does not match share 1 — probably a typing mistake/)
    expect(r.stdout).toMatch(/^New Unseal Key 1 \(Ada\): /m)
    const fresh = newKeys(r.stdout)
    expect(fresh).toHaveLength(3)
    expect(r.stderr).toMatch(/rekeyed: generation 2, 3 key shares, threshold 2/)
    expect(await keysOpen(ks.path, fresh.slice(1))).toBe(true)
    expect(await keysOpen(ks.path, ks.keys.slice(0, 2))).toBe(false)
    expect(JSON.parse(await readFile(ks.path, 'utf8')).issued_shares.map((s: { holder: string }) => s.holder)).toEqual(['Ada', 'Bo', 'Cy'])
  })

  it('--verify all: the new shares take effect only once every one was entered back', async () => {
    const ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    const before = await readFile(ks.path, 'utf8')
    const run = spawnWithSinks(['rekey', '--keyset', ks.path, '--shares', '3', '--threshold', '2', '--verify', 'all'], { stdout: 'read', stderr: 'read' })
    run.child.stdin!.write(`${ks.keys[1]}\n${ks.keys[2]}\n`)
    await waitForOutput(run, /Enter 3 of the new shares/)
    const fresh = newKeys(run.output())
    expect(fresh).toHaveLength(3)
    expect(await readFile(ks.path, 'utf8')).toBe(before)
    run.child.stdin!.write(`${fresh[0]}\n${fresh[0]}\n${fresh[2]}\n`)
    await waitForOutput(run, /verified: 2 of 3/)
    expect(run.output()).toMatch(/refused: given key has already been provided during this verify operation/)
    expect(await readFile(ks.path, 'utf8')).toBe(before)
    run.child.stdin!.end(`${fresh[1]}\n`)
    expect(await run.exited).toBe(0)
    expect(await keysOpen(ks.path, fresh.slice(0, 2))).toBe(true)
  })

  it('changes nothing when the new shares cannot be written out, when input ends early, or before verification', async () => {
    const ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    const before = await readFile(ks.path, 'utf8')
    const args = ['rekey', '--keyset', ks.path, '--shares', '2', '--threshold', '2']
    const full = await runWithSinks(args, { stdout: 'full', stderr: 'read' }, `${ks.keys[0]}\n${ks.keys[1]}\n`)
    expect(full.code).toBe(1)
    expect(full.output).toMatch(/could not print the new shares \(standard output: no space left on device\); nothing was changed/)
    const short = await runCli(args, { stdin: `${ks.keys[0]}\n` })
    expect(short.code).toBe(1)
    expect(short.stderr).toMatch(/standard input ended after 1 of 2 current shares: nothing was changed/)
    const unverified = await runCli([...args, '--verify', 'threshold'], { stdin: `${ks.keys[0]}\n${ks.keys[1]}\n` })
    expect(unverified.code).toBe(1)
    expect(newKeys(unverified.stdout)).toHaveLength(2)
    expect(unverified.stderr).toMatch(/standard input ended before the new shares were verified: nothing was changed/)
    expect(await readFile(ks.path, 'utf8')).toBe(before)
    const bad = await runCli(['rekey', '--keyset', ks.path, '--shares', '3', '--threshold', '1'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/threshold must be greater than one for multiple shares/)
  })
})
