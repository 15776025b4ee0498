import { afterAll, describe, expect, it } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { request } from 'node:http'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LocalEngine } from '../src-main/engine/local-engine'
import { Gpg } from '../test/helpers/gnupg'
import { callApi } from '../test/helpers/server'
import { runCli, startServe, TESSERA } from '../test/helpers/cli'
import { chromium } from 'playwright-core'
import { CHROMIUM, CHROMIUM_ARGS } from '../e2e/chromium'
import { load, median, peakRssMb, printTable, timeCommand, type Row } from './measure'

const rows: Row[] = []
const ROOT = join(import.meta.dirname, '..')
let dir: string

async function initKeyset(name: string, shares: number, threshold: number): Promise<{ path: string; keys: string[] }> {
  const path = join(dir, `${name}.json`)
  const init = await runCli(['init', '--keyset', path, '--shares', String(shares), '--threshold', String(threshold), '--format', 'json'])
  if (init.code !== 0) throw new Error(init.stderr)
  return { path, keys: (JSON.parse(init.stdout) as { keys: string[] }).keys }
}

/** A bare node:http server in its own process, answering one fixed reply per method. */
function bareServer(replies: Record<string, { status: number; body: string }>): Promise<{ url: string; child: ChildProcess }> {
  const script = `
    const replies = JSON.parse(process.env.REPLIES)
    const server = require('node:http').createServer((req, res) => {
      const chunks = []
      req.on('data', (c) => chunks.push(c))
      req.on('end', () => {
        const r = replies[req.method] ?? { status: 405, body: '{"errors":[]}' }
        res.writeHead(r.status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(r.body) })
        res.end(r.body)
      })
    })
    server.listen(0, '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + server.address().port))`
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { env: { ...process.env, REPLIES: JSON.stringify(replies) } })
    child.stdout.on('data', (d: Buffer) => {
      const m = /listening on (\S+)/.exec(d.toString())
      if (m) resolve({ url: m[1]!, child })
    })
    child.on('error', reject)
  })
}

describe('npm run bench', () => {
  it('prepares', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-bench-'))
  })

  it('tessera serve against a bare node:http server answering the same JSON', async () => {
    const { path, keys } = await initKeyset('serve', 5, 3)
    const serve = await startServe(['--keyset', path])
    try {
      const statusPath = '/v1/sys/generate-root/attempt'
      const started = await callApi(serve.url, 'PUT', 'sys/generate-root/attempt', {})
      const nonce = started.json.nonce as string
      await callApi(serve.url, 'PUT', 'sys/generate-root/update', { key: keys[0], nonce })
      const status = await callApi(serve.url, 'GET', 'sys/generate-root/attempt')
      const updateBody = JSON.stringify({ key: keys[0], nonce })
      const refused = await callApi(serve.url, 'PUT', 'sys/generate-root/update', updateBody)
      expect(refused.status).toBe(400)
      const bare = await bareServer({ GET: { status: 200, body: status.text }, PUT: { status: 400, body: refused.text } })
      try {
        const ourStatus = await load(`${serve.url}${statusPath}`)
        const bareStatus = await load(`${bare.url}${statusPath}`)
        const ourUpdate = await load(`${serve.url}/v1/sys/generate-root/update`, { method: 'PUT', body: updateBody })
        const bareUpdate = await load(`${bare.url}/v1/sys/generate-root/update`, { method: 'PUT', body: updateBody })
        expect(ourStatus.errors + ourUpdate.errors).toBe(0)
        rows.push(
          { what: 'serve: status, req/s at 64 connections', tessera: ourStatus.requestsPerSecond, reference: bareStatus.requestsPerSecond, unit: 'req/s', ratio: ourStatus.requestsPerSecond / bareStatus.requestsPerSecond, goal: '≥ 0.8×' },
          { what: 'serve: status, p99 latency at 64 connections', tessera: ourStatus.p99Ms, reference: bareStatus.p99Ms, unit: 'ms', ratio: ourStatus.p99Ms / bareStatus.p99Ms },
          { what: 'serve: update (a repeated share, refused), req/s', tessera: ourUpdate.requestsPerSecond, reference: bareUpdate.requestsPerSecond, unit: 'req/s', ratio: ourUpdate.requestsPerSecond / bareUpdate.requestsPerSecond, goal: '≥ 0.8×' },
          { what: 'serve: update, p99 latency at 64 connections', tessera: ourUpdate.p99Ms, reference: bareUpdate.p99Ms, unit: 'ms', ratio: ourUpdate.p99Ms / bareUpdate.p99Ms },
          { what: 'serve: peak memory over the throughput runs', tessera: await peakRssMb(serve.pid), unit: 'MB' },
        )
      } finally {
        bare.child.kill()
      }
    } finally {
      await serve.stop()
    }
  })

  it('tessera decode of a PGP result against gpg -dq', async () => {
    const gpg = new Gpg()
    try {
      gpg.generate('bench@tessera.example')
      const message = gpg.encryptTo('bench@tessera.example', 'hvs.0123456789abcdefABCDEFgh')
      await writeFile(join(dir, 'result.gpg'), message)
      await writeFile(join(dir, 'private.asc'), gpg.exportSecret('bench@tessera.example', { armor: true }))
      const encoded = message.toString('base64')
      const env = { GNUPGHOME: gpg.home }
      const runs = 9
      const ours: number[] = []
      const theirs: number[] = []
      // Warm both (the gpg agent starts on first use), then alternate.
      await timeCommand(process.execPath, [TESSERA, 'decode', '--encoded', '-', '--pgp-key', join(dir, 'private.asc')], { stdin: encoded })
      await timeCommand('gpg', ['--batch', '-dq', join(dir, 'result.gpg')], { env })
      for (let i = 0; i < runs; i++) {
        ours.push(await timeCommand(process.execPath, [TESSERA, 'decode', '--encoded', '-', '--pgp-key', join(dir, 'private.asc')], { stdin: encoded }))
        theirs.push(await timeCommand('gpg', ['--batch', '-dq', join(dir, 'result.gpg')], { env }))
      }
      rows.push({ what: 'decode a PGP result (curve25519), median wall time', tessera: median(ours), reference: median(theirs), unit: 'ms', ratio: median(ours) / median(theirs), goal: '≤ 0.6×' })
    } finally {
      gpg.close()
    }
  })

  for (const [shares, threshold] of [[5, 3], [255, 255]] as const) {
    it(`last share → result in the engine, ${threshold}-of-${shares}`, async () => {
      const { path, keys } = await initKeyset(`engine-${threshold}-of-${shares}`, shares, threshold)
      const engine = await LocalEngine.open(path)
      const times: number[] = []
      for (let round = 0; round < 5; round++) {
        const { status: { nonce } } = await engine.start('root', {})
        for (const key of keys.slice(0, threshold - 1)) await engine.update('root', { key: Buffer.from(key), nonce })
        const t0 = performance.now()
        const done = await engine.update('root', { key: Buffer.from(keys[threshold - 1]!), nonce })
        times.push(performance.now() - t0)
        expect(done.complete).toBe(true)
      }
      rows.push({ what: `engine: last share → result, ${threshold}-of-${shares} (median of 5)`, tessera: median(times), unit: 'ms', goal: threshold === 255 ? '< 50 ms' : undefined })
    })
  }

  it('tessera web: start to listening', async () => {
    const times: number[] = []
    const config = join(dir, 'config')
    await mkdir(config, { recursive: true })
    for (let i = 0; i < 5; i++) {
      times.push(
        await new Promise<number>((resolve, reject) => {
          const t0 = performance.now()
          const child = spawn(process.execPath, [TESSERA, 'web', '--port', '0'], { env: { ...process.env, TESSERA_CONFIG_DIR: config } })
          child.stdout.on('data', (d: Buffer) => {
            if (/listening on/.test(d.toString())) {
              const t = performance.now() - t0
              child.kill('SIGTERM')
              resolve(t)
            }
          })
          child.on('error', reject)
        }),
      )
    }
    rows.push({ what: 'web: start to listening (median of 5)', tessera: median(times), unit: 'ms' })
  })

  it('tessera web: the initial JS as sent to a browser', async () => {
    const config = join(dir, 'config-size')
    await mkdir(config, { recursive: true })
    const child = spawn(process.execPath, [TESSERA, 'web', '--port', '0'], { env: { ...process.env, TESSERA_CONFIG_DIR: config } })
    try {
      const base = await new Promise<string>((resolve) => {
        child.stdout.on('data', (d: Buffer) => {
          const m = /listening on (\S+)/.exec(d.toString())
          if (m) resolve(m[1]!)
        })
      })
      const html = await (await fetch(`${base}/`)).text()
      const scripts = [...html.matchAll(/<script[^>]+src="([^"]+)"/g)].map((m) => m[1]!)
      const sizes = async (encoding: string) => {
        let total = 0
        for (const src of scripts) {
          // fetch() decodes bodies; node:http reports the bytes on the wire.
          total += await new Promise<number>((resolve, reject) => {
            const url = new URL(src, base)
            request({ host: url.hostname, port: url.port, path: url.pathname, headers: { 'Accept-Encoding': encoding } }, (res) => {
              let n = 0
              res.on('data', (c: Buffer) => (n += c.length))
              res.on('end', () => resolve(n))
            })
              .on('error', reject)
              .end()
          })
        }
        return total / 1024
      }
      rows.push(
        { what: 'web: initial JS, brotli', tessera: await sizes('br'), reference: await sizes('identity'), unit: 'kB', goal: '< 40 kB' },
        { what: 'web: initial JS, gzip', tessera: await sizes('gzip'), reference: await sizes('identity'), unit: 'kB', goal: '< 40 kB' },
      )
    } finally {
      child.kill('SIGTERM')
    }
  })

  it('tessera web in Chromium: first interactive screen, and last share → result on screen', async () => {
    const { path, keys } = await initKeyset('web-ui', 3, 2)
    const config = join(dir, 'config-ui')
    await mkdir(config, { recursive: true })
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
    const firstScreen: number[] = []
    const lastShare: number[] = []
    try {
      for (let round = 0; round < 3; round++) {
        const child = spawn(process.execPath, [TESSERA, 'web', '--keyset', path, '--port', '0'], { env: { ...process.env, TESSERA_CONFIG_DIR: config } })
        try {
          const address = await new Promise<string>((resolve) => {
            child.stdout.on('data', (d: Buffer) => {
              const m = /open (\S+#access=\S+)/.exec(d.toString())
              if (m) resolve(m[1]!)
            })
          })
          const page = await browser.newPage()
          const t0 = performance.now()
          await page.goto(address)
          const start = page.getByRole('button', { name: 'Start: root token' })
          await start.waitFor()
          firstScreen.push(performance.now() - t0)
          await start.click()
          await page.getByRole('button', { name: 'Start the attempt' }).click()
          const enter = async (name: string, share: string) => {
            await page.getByLabel(/Your name or role/).fill(name)
            await page.getByTestId('confirm-nonce').check()
            await page.getByLabel('Key share').fill(share)
          }
          await enter('Alice', keys[0]!)
          await page.getByRole('button', { name: 'Submit share' }).click()
          await page.getByTestId('progress').getByText('1 of 2').waitFor()
          await enter('Bob', keys[1]!)
          const t1 = performance.now()
          await page.getByRole('button', { name: 'Submit share' }).click()
          await page.getByRole('heading', { name: /Result/ }).first().waitFor()
          lastShare.push(performance.now() - t1)
          await page.close()
        } finally {
          child.kill('SIGTERM')
        }
      }
    } finally {
      await browser.close()
    }
    rows.push(
      { what: 'web in Chromium: address → first interactive screen (median of 3)', tessera: median(firstScreen), unit: 'ms' },
      { what: 'web in Chromium: last share submitted → result on screen (median of 3)', tessera: median(lastShare), unit: 'ms' },
    )
  })

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
    const table = printTable(rows)
    console.log(`\n${table}\n`)
    await mkdir(join(ROOT, 'test-results'), { recursive: true })
    await writeFile(
      join(ROOT, 'test-results', 'bench.json'),
      `${JSON.stringify({ when: new Date().toISOString(), node: process.version, cpus: (await import('node:os')).cpus().length, rows }, null, 2)}\n`,
    )
  })
})
