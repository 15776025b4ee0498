import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect } from 'node:net'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { verifyRecord } from '../src-main/record/verify'
import { runCli, runWithSinks, spawnWithSinks, waitForOutput, type Sink } from './helpers/cli'
import { callApi } from './helpers/server'
import { makeKeyset, tempDir, type TestKeyset } from './helpers/keysets'

// npm run build first: these run the built `tessera` as child processes, with
// standard output and error sent where a careless pipe or a full disk sends them.

const VAULT_VECTOR = { encoded: 'Bxg9JQQqOCNKBRICNwMIRzo2J3cWCBRi', otp: '3JhHkONiyiaNYj14nnD9xZQS' }
const STACK = /\n\s+at |Unhandled 'error' event/

let tmp: Awaited<ReturnType<typeof tempDir>>
let ks: TestKeyset
let record: string
beforeAll(async () => {
  tmp = await tempDir('tessera-output-')
  ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
  record = join(tmp.dir, 'init.jsonl')
  const made = await runCli(['init', '--keyset', join(tmp.dir, 'recorded.json'), '--shares', '1', '--threshold', '1', '--record', record])
  expect(made.code, made.stderr).toBe(0)
})
afterAll(() => tmp.cleanup())

const WHY: Record<Exclude<Sink, 'read'>, string> = { gone: 'the reading end was closed', full: 'no space left on device' }

describe('a command whose standard output cannot be written', () => {
  /** What is run, the name its sentence starts with, and its standard input. */
  const commands: Array<[string, () => string[], string, (() => string)?]> = [
    ['generate-otp', () => ['generate-otp'], 'tessera generate-otp'],
    ['verify-share', () => ['verify-share', '--keyset', ks.path], 'tessera verify-share', () => `${ks.keys[1]}\n`],
    ['decode', () => ['decode', '--encoded', VAULT_VECTOR.encoded, '--otp', VAULT_VECTOR.otp], 'tessera decode'],
    ['record verify', () => ['record', 'verify', record], 'tessera record'],
    ['record print', () => ['record', 'print', record, '--out', join(tmp.dir, `r${Math.random()}.html`)], 'tessera record'],
    ['--version', () => ['--version'], 'tessera'],
    ['a command\'s --help', () => ['generate-otp', '--help'], 'tessera generate-otp'],
  ]
  for (const sink of ['gone', 'full'] as const) {
    it.concurrent.for(commands)(`%s (output ${sink}) exits 1 with one sentence on standard error, no stack`, async ([, args, shown, stdin], { expect }) => {
      const r = await runWithSinks(args(), { stdout: sink, stderr: 'read' }, stdin?.() ?? '')
      expect(r.output).not.toMatch(STACK)
      // decode's note on an unverified value goes to standard error before the value would have been printed.
      expect(r.output.replace(/^note: .*\n/m, '')).toBe(`${shown}: could not write to standard output: ${WHY[sink]}\n`)
      expect(r.code).toBe(1)
    })
  }

  it('init: no keyset is created when its shares cannot be printed', async () => {
    for (const sink of ['gone', 'full'] as const) {
      const path = join(tmp.dir, `init-${sink}.json`)
      const r = await runWithSinks(['init', '--keyset', path, '--shares', '3', '--threshold', '2'], { stdout: sink, stderr: 'read' })
      expect(r.output).toBe(`tessera init: could not print the shares (standard output: ${WHY[sink]}); no keyset was created\n`)
      expect(r.code).toBe(1)
      await expect(readFile(path)).rejects.toMatchObject({ code: 'ENOENT' })
    }
  })

  it('with standard error gone too, still exits 1 and prints nothing', async () => {
    const r = await runWithSinks(['generate-otp'], { stdout: 'gone', stderr: 'gone' })
    expect(r.code).toBe(1)
  })
})

describe('tessera serve whose log cannot be written', () => {
  /** Runs a whole attempt and a refused update against `url`; every request is logged. */
  async function ceremony(url: string): Promise<void> {
    const start = (await callApi(url, 'PUT', 'sys/generate-root/attempt', {})).json
    expect(start.otp).toMatch(/^[0-9A-Za-z]{28}$/)
    expect((await callApi(url, 'PUT', 'sys/generate-root/update', { key: ks.keys[0], nonce: start.nonce })).json.progress).toBe(1)
    expect((await callApi(url, 'PUT', 'sys/generate-root/update', { key: 'ab', nonce: start.nonce })).status).toBe(400)
    const done = (await callApi(url, 'PUT', 'sys/generate-root/update', { key: ks.keys[1], nonce: start.nonce })).json
    expect(done.complete).toBe(true)
    for (let i = 0; i < 20; i++) expect((await callApi(url, 'GET', 'sys/seal-status')).status).toBe(200)
  }

  it('keeps serving once its reader has gone (2>&1 | head -c 40), and closes its record on stop', async () => {
    const file = join(tmp.dir, `serve-gone-${Math.random()}.jsonl`)
    const run = spawnWithSinks(['serve', '--keyset', ks.path, '--port', '0', '--record', file], { stdout: 'read', stderr: 'read' })
    const url = (await waitForOutput(run, /listening on (http:\/\/\S+)\n/))[1]!
    run.child.stdout!.destroy()
    run.child.stderr!.destroy()
    await ceremony(url)
    expect(run.child.exitCode).toBe(null)
    run.child.kill('SIGTERM')
    expect(await run.exited).toBe(0)
    const record = verifyRecord(await readFile(file, 'utf8'))
    expect(record.ok && record.closed).toBe(true)
    if (record.ok) expect(record.lines.map((l) => l.type)).toEqual(['backend_opened', 'attempt_started', 'share_accepted', 'share_refused', 'share_accepted', 'completed', 'closed'])
  })

  it('with its log on a full disk, keeps serving and says so once on standard output', async () => {
    const run = spawnWithSinks(['serve', '--keyset', ks.path, '--port', '0'], { stdout: 'read', stderr: 'full' })
    const url = (await waitForOutput(run, /listening on (http:\/\/\S+)\n/))[1]!
    await ceremony(url)
    await ceremony(url)
    run.child.kill('SIGTERM')
    expect(await run.exited).toBe(0)
    const said = run.output().split('\n').filter((l) => l.includes('can no longer be written'))
    expect(said).toEqual(['tessera serve: standard error can no longer be written (no space left on device); its messages are dropped from now on'])
  })

  it('with standard output on a full disk, serves and says so on standard error', async () => {
    const run = spawnWithSinks(['serve', '--keyset', ks.path, '--port', '0'], { stdout: 'full', stderr: 'read' })
    await waitForOutput(run, /standard output can no longer be written \(no space left on device\)/)
    run.child.kill('SIGTERM')
    expect(await run.exited).toBe(0)
    expect(run.output()).not.toMatch(STACK)
  })
})

describe('tessera web whose log cannot be written', () => {
  it('keeps serving with its log on a full disk, and with its reader gone', async () => {
    const run = spawnWithSinks(['web', '--port', '0', '--keyset', ks.path], { stdout: 'read', stderr: 'full' }, { TESSERA_CONFIG_DIR: join(tmp.dir, 'config') })
    const [, port, token] = await waitForOutput(run, /open http:\/\/127\.0\.0\.1:(\d+)\/#access=([A-Za-z0-9_-]+)\n/)
    run.child.stdout!.destroy()
    const rpc = async (channel: string, input: unknown) => {
      const res = await fetch(`http://127.0.0.1:${port}/rpc/${channel}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(input),
      })
      expect(res.status).toBe(200)
      return (await res.json()) as Record<string, unknown>
    }
    // A malformed request target is logged: each one is a failed write.
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve) => {
        const socket = connect(Number(port), '127.0.0.1', () => socket.end('GET http://a:99999/ HTTP/1.1\r\nHost: x\r\n\r\n'))
        socket.on('close', () => resolve())
        socket.on('error', () => resolve())
        socket.resume()
      })
    }
    const start = await rpc('attempt.start', { flow: 'root' })
    expect((await rpc('attempt.update', { flow: 'root', key: ks.keys[0], nonce: start.nonce })).progress).toBe(1)
    expect(run.child.exitCode).toBe(null)
    // Stopping says the attempt was cancelled, to a stream that takes nothing: still a clean stop.
    run.child.kill('SIGTERM')
    expect(await run.exited).toBe(0)
  })
})
