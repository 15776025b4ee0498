import { describe, expect, it } from 'vitest'
import { copyFile, mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { callApi } from '../test/helpers/server'
import { runCli } from '../test/helpers/cli'
import { bareServer, load, median, startServer, type Load } from './measure'

/**
 * Two or more builds of `tessera serve` side by side, for deciding whether a
 * change earns its place (docs/benchmarks.md, "Kept for speed"). Each entry of
 * TESSERA_BUILDS is a directory holding a copy of `bin/` and `out/` made by
 * `npm run build`; the first is the reference. Every round loads each build
 * and the bare HMAC peer once, in a shuffled order, with a status and with a
 * refused update; a build's figure is the median over the rounds of its value
 * divided by the reference's in the same round, so that what else the machine
 * does falls on both alike.
 */
const builds = (process.env.TESSERA_BUILDS ?? '').split(',').filter(Boolean).map((b) => resolve(b))
const rounds = Number(process.env.BUILDS_ROUNDS ?? 12)
const seconds = Number(process.env.BUILDS_SECONDS ?? 1.5)

interface Served {
  name: string
  url: string
  pid: number
  child: { kill(): void }
  /** The refused update's body: a share this server's attempt already holds. */
  body: string
}

describe.skipIf(builds.length < 2)('builds of tessera serve side by side (TESSERA_BUILDS)', () => {
  it('CPU per request and req/s of each build against the first', { timeout: 3_600_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tessera-builds-'))
    const keyset = join(dir, 'keyset.json')
    const init = await runCli(['init', '--keyset', keyset, '--shares', '5', '--threshold', '3', '--format', 'json'])
    expect(init.code, init.stderr).toBe(0)
    const keys = (JSON.parse(init.stdout) as { keys: string[] }).keys
    const served: Served[] = []
    try {
      for (const [i, build] of builds.entries()) {
        const copy = join(dir, `keyset-${i}.json`)
        await copyFile(keyset, copy)
        const server = await startServer([join(build, 'bin/tessera.js'), 'serve', '--port', '0', '--keyset', copy], join(dir, `serve-${i}.log`))
        const nonce = (await callApi(server.url, 'PUT', 'sys/generate-root/attempt', {})).json.nonce as string
        await callApi(server.url, 'PUT', 'sys/generate-root/update', { key: keys[0], nonce })
        served.push({ ...server, name: build, body: JSON.stringify({ key: keys[0], nonce }) })
      }
      const status = await callApi(served[0]!.url, 'GET', 'sys/generate-root/attempt')
      const refused = await callApi(served[0]!.url, 'PUT', 'sys/generate-root/update', served[0]!.body)
      const peer = await bareServer({ GET: { status: 200, body: status.text }, PUT: { status: 400, body: refused.text } }, join(dir, 'bare.log'), true)
      served.push({ ...peer, name: 'bare node:http server (HMAC of each body)', body: served[0]!.body })

      for (const kind of ['status', 'update, a repeated share'] as const) {
        const run = (s: Served, duration: number) =>
          kind === 'status'
            ? load(`${s.url}/v1/sys/generate-root/attempt`, s.pid, { seconds: duration })
            : load(`${s.url}/v1/sys/generate-root/update`, s.pid, { method: 'PUT', body: s.body, seconds: duration })
        // Warm each process up first: its first second is mostly the JIT compiling.
        for (const s of served) await run(s, 1)
        const loads: Load[][] = served.map(() => [])
        for (let round = 0; round < rounds; round++) {
          const order = served.map((_, i) => i).sort(() => Math.random() - 0.5)
          for (const i of order) loads[i]!.push(await run(served[i]!, seconds))
        }
        const loadAverage = (await readFile('/proc/loadavg', 'utf8')).split(' ')[0]
        console.log(`${kind}: ${rounds} rounds of ${seconds} s at 64 connections, load average ${loadAverage}`)
        for (const [i, s] of served.entries()) {
          const ratio = (pick: (l: Load) => number) => median(loads[i]!.map((l, round) => pick(l) / pick(loads[0]![round]!))).toFixed(2)
          const cpu = median(loads[i]!.map((l) => l.cpuUsPerRequest)).toFixed(1)
          console.log(`  ${s.name}: CPU per request ${cpu} µs, ÷ the first ${ratio((l) => l.cpuUsPerRequest)}×; req/s ÷ the first ${ratio((l) => l.requestsPerSecond)}×`)
        }
      }
    } finally {
      for (const s of served) s.child.kill()
    }
  })
})
