import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { openSync, closeSync } from 'node:fs'
import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runCli, TESSERA, type CliResult } from './helpers/cli'
import { downgradeToV1, makeKeyset, mistypeAt, tempDir } from './helpers/keysets'
import { LocalEngine } from '../src-main/engine/local-engine'

// npm run build first: these run `tessera` as an operator does.
let tmp: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => {
  tmp = await tempDir()
})
afterAll(() => tmp.cleanup())

const STACK = /\n\s+at /

let dirs = 0
async function freshDir(): Promise<string> {
  const dir = join(tmp.dir, `d${dirs++}`)
  const { mkdir } = await import('node:fs/promises')
  await mkdir(dir)
  return dir
}

describe('tessera init --holders and tessera verify-share', () => {
  it('names each share by its holder, and checks a share with no ceremony', async () => {
    const dir = await freshDir()
    const keyset = join(dir, 'k.json')
    const init = await runCli(['init', '--keyset', keyset, '--shares', '3', '--threshold', '2', '--holders', 'Alice, Bob,Carol Ann'])
    expect(init.code, init.stderr).toBe(0)
    const lines = [...init.stdout.matchAll(/^Unseal Key (\d) \(([^)]+)\): (\S+)$/gm)]
    expect(lines.map((m) => [m[1], m[2]])).toEqual([['1', 'Alice'], ['2', 'Bob'], ['3', 'Carol Ann']])
    const bob = lines[1]![3]!

    const ok = await runCli(['verify-share', '--keyset', keyset], { stdin: `${bob}\n` })
    expect(ok).toEqual({ code: 0, stdout: 'share 2 of 3 (Bob): valid\n', stderr: '' })
    const shareFile = join(dir, 'share.txt')
    await writeFile(shareFile, Buffer.from(lines[2]![3]!, 'base64').toString('hex'))
    const fromFile = await runCli(['verify-share', '--keyset', keyset, '--share-file', shareFile])
    expect(fromFile.stdout).toBe('share 3 of 3 (Carol Ann): valid\n')

    const hex = Buffer.from(bob, 'base64').toString('hex')
    const typo = mistypeAt(hex, 10)
    const bad = await runCli(['verify-share', '--keyset', keyset], { stdin: typo })
    expect(bad).toEqual({ code: 1, stdout: '', stderr: 'tessera verify-share: this does not match share 2 (Bob) — probably a typing mistake\n' })
    const short = await runCli(['verify-share', '--keyset', keyset], { stdin: hex.slice(0, -4) })
    expect(short.code).toBe(1)
    expect(short.stderr).toMatch(/^tessera verify-share: this share is too short for this keyset/)
    expect(short.stderr).not.toContain(hex.slice(0, 16))
  })

  it('counts a share made by the share flow, and names its holder', async () => {
    const ks = await makeKeyset(await freshDir(), { shares: 3, threshold: 2 })
    const engine = await LocalEngine.open(ks.path)
    const { status } = await engine.start('share', { new_holder: 'Dana' })
    await engine.update('share', { key: Buffer.from(ks.keys[0]!), nonce: status.nonce })
    const { status: done, share, issued } = await engine.update('share', { key: Buffer.from(ks.keys[2]!), nonce: status.nonce })
    // The completing update says which share it took and which it made: no other call asks.
    expect(share).toEqual({ number: 3, holder: null, checked: true })
    expect(issued).toEqual({ number: 4, holder: 'Dana' })
    expect((await engine.sealStatus()).n).toBe(4)
    await engine.close()
    const fresh = await runCli(['verify-share', '--keyset', ks.path], { stdin: done.key })
    expect(fresh).toEqual({ code: 0, stdout: 'share 4 of 4 (Dana): valid\n', stderr: '' })
    expect((await runCli(['verify-share', '--keyset', ks.path], { stdin: ks.keys[1] })).stdout).toBe('share 2 of 4: valid\n')
  })

  it('exits 2 for usage mistakes', async () => {
    const ks = await makeKeyset(await freshDir(), { shares: 3, threshold: 2 })
    const cases: Array<[string[], string, RegExp]> = [
      [['verify-share'], '', /--keyset is required/],
      [['verify-share', '--keyset', ks.path], '', /no share on standard input/],
      [['init', '--keyset', join(tmp.dir, 'x.json'), '--shares', '3', '--threshold', '2', '--holders', 'a,b'], '', /2 holder names for 3 shares/],
      [['init', '--keyset', join(tmp.dir, 'x.json'), '--shares', '2', '--threshold', '2', '--holders', 'a,A'], '', /holder name 2 repeats an earlier one/],
      [['init', '--keyset', join(tmp.dir, 'x.json'), '--shares', '2', '--threshold', '2', '--holders', 'a,<b>'], '', /holder name 2 must be letters/],
    ]
    for (const [args, stdin, message] of cases) {
      const r = await runCli(args, { stdin })
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stderr).toMatch(message)
    }
    expect(await readdir(tmp.dir)).not.toContain('x.json')
  })

  it('says a format-1 keyset cannot check a share on its own', async () => {
    const ks = await makeKeyset(await freshDir(), { shares: 3, threshold: 2 })
    await downgradeToV1(ks.path)
    const r = await runCli(['verify-share', '--keyset', ks.path], { stdin: ks.keys[0] })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe('tessera verify-share: this keyset (format 1) records no check values: its shares can be checked only by a ceremony\n')
  })
})

/** Runs `tessera init` with its standard output on `stdout` (a file descriptor, or a pipe closed at once). */
function initWithOutput(keyset: string, stdout: number | 'closed-pipe'): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TESSERA, 'init', '--keyset', keyset, '--shares', '3', '--threshold', '2'], {
      stdio: ['ignore', stdout === 'closed-pipe' ? 'pipe' : stdout, 'pipe'],
    })
    if (stdout === 'closed-pipe') child.stdout!.destroy()
    let stderr = ''
    child.stderr!.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout: '', stderr }))
  })
}

describe('tessera init creates no keyset whose shares nobody received', () => {
  it.each([
    ['a full device (/dev/full)', 'full', 'no space left on device'],
    ['a closed pipe', 'pipe', 'the reading end was closed'],
  ])('when standard output is %s', async (_name, kind, reason) => {
    const dir = await freshDir()
    const keyset = join(dir, 'k.json')
    let fd: number | undefined
    try {
      if (kind === 'full') fd = openSync('/dev/full', 'w')
      const r = await initWithOutput(keyset, fd ?? 'closed-pipe')
      expect(r.code).toBe(1)
      expect(r.stderr).toBe(`tessera init: could not print the shares (standard output: ${reason}); no keyset was created\n`)
      expect(r.stderr).not.toMatch(STACK)
    } finally {
      if (fd !== undefined) closeSync(fd)
    }
    expect(await readdir(dir)).toEqual([])
    // Nothing is left to refuse a second run.
    const again = await runCli(['init', '--keyset', keyset, '--shares', '3', '--threshold', '2'])
    expect(again.code, again.stderr).toBe(0)
  })

  it('lets exactly one of two simultaneous inits have the path', async () => {
    const dir = await freshDir()
    const keyset = join(dir, 'k.json')
    const runs = await Promise.all([1, 2].map(() => runCli(['init', '--keyset', keyset, '--shares', '3', '--threshold', '2', '--format', 'json'])))
    const won = runs.filter((r) => r.code === 0)
    expect(won).toHaveLength(1)
    const lost = runs.find((r) => r.code !== 0)!
    expect(lost.code).toBe(1)
    expect(lost.stdout).toBe('')
    expect(lost.stderr).toMatch(/already exists; Tessera never overwrites a keyset/)
    // The winner's shares are this keyset's.
    const keys = JSON.parse(won[0]!.stdout).keys as string[]
    const check = await runCli(['verify-share', '--keyset', keyset], { stdin: keys[1] })
    expect(check.stdout).toBe('share 2 of 3: valid\n')
    expect(await readdir(dir)).toEqual(['k.json'])
  })
})
