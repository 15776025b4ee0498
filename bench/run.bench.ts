import { afterAll, describe, expect, it } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { request } from 'node:http'
import { copyFile, cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { initKeyset as initKeysetInProcess } from '../src-main/engine/init'
import { Keyset } from '../src-main/engine/keyset'
import { LocalEngine } from '../src-main/engine/local-engine'
import type { Scheme } from '../src-main/engine/schemes'
import { decodeWithPgp } from '../src-main/decode/decode'
import { readPrivateKey } from '../src-main/crypto/pgp'
import { Gpg } from '../test/helpers/gnupg'
import { callApi } from '../test/helpers/server'
import { mistypeAt } from '../test/helpers/keysets'
import { runCli, TESSERA } from '../test/helpers/cli'
import { chromium } from 'playwright-core'
import { CHROMIUM, CHROMIUM_ARGS } from '../e2e/chromium'
import { createWebHost, newAccessToken } from '../src-main/web/host'
import { sessionRouter } from '../src-main/ipc/handlers'
import { listen } from '../src-main/server/listen'
import { bareServer, loadInTurns, median, peakRssMb, printTable, startServer, timeCommand, type Load, type Row } from './measure'

const rows: Row[] = []
const ROOT = join(import.meta.dirname, '..')
let dir: string

async function initKeyset(name: string, shares: number, threshold: number, scheme: Scheme = 'vault'): Promise<{ path: string; keys: string[] }> {
  const path = join(dir, `${name}.json`)
  const init = await runCli(['init', '--keyset', path, '--shares', String(shares), '--threshold', String(threshold), '--scheme', scheme, '--format', 'json'])
  if (init.code !== 0) throw new Error(init.stderr)
  return { path, keys: (JSON.parse(init.stdout) as { keys: string[] }).keys }
}

/** Rows for one request measured in turns against its peer (the goals: ≥ 0.7× its req/s, ≤ 2× its p99). */
function loadRows(name: string, runs: Awaited<ReturnType<typeof loadInTurns>>, rounds: number): Row[] {
  const med = (loads: Load[], pick: (l: Load) => number) => median(loads.map(pick))
  const rps = [med(runs.a, (l) => l.requestsPerSecond), med(runs.b, (l) => l.requestsPerSecond)] as const
  const p99 = [med(runs.a, (l) => l.p99Ms), med(runs.b, (l) => l.p99Ms)] as const
  const cpu = [med(runs.a, (l) => l.cpuUsPerRequest), med(runs.b, (l) => l.cpuUsPerRequest)] as const
  return [
    { what: `serve: ${name}, req/s at 64 connections (median of ${rounds} turns)`, tessera: rps[0], reference: rps[1], unit: 'req/s', ratio: median(runs.ratios), spread: [Math.min(...runs.ratios), Math.max(...runs.ratios)], goal: '≥ 0.7×' },
    { what: `serve: ${name}, p99 latency at 64 connections`, tessera: p99[0], reference: p99[1], unit: 'ms', ratio: p99[0] / p99[1], goal: '≤ 2×' },
    { what: `serve: ${name}, server CPU time per request`, tessera: cpu[0], reference: cpu[1], unit: 'µs', ratio: cpu[0] / cpu[1] },
  ]
}

/**
 * Runs in the page before its own scripts: notes, in the page's clock, the
 * frame that first draws the first screen's button, and from the last click on
 * "Submit share" (the event's own time) to the frame that first draws the result
 * heading. What Playwright adds around them — its click's checks and its polling
 * for the element — is outside these two.
 */
function markFrames(): void {
  const marks: { firstScreen?: number; click?: number; result?: number } = {}
  ;(window as unknown as { __frames: typeof marks }).__frames = marks
  // The time the frame's callbacks run, not the frame's start: that may precede the click.
  const frame = (note: (t: number) => void) => requestAnimationFrame(() => note(performance.now()))
  let resultSeen = false
  new MutationObserver(() => {
    if (marks.firstScreen === undefined && Array.from(document.querySelectorAll('button')).some((b) => b.textContent?.includes('Start: root token'))) {
      marks.firstScreen = -1
      frame((t) => (marks.firstScreen = t))
    }
    const shown = Array.from(document.querySelectorAll('h2')).some((h) => /Result/.test(h.textContent ?? ''))
    if (shown && !resultSeen && marks.click !== undefined) frame((t) => (marks.result = t))
    resultSeen = shown
  }).observe(document, { subtree: true, childList: true, characterData: true })
  document.addEventListener('click', (e) => {
    if ((e.target as Element | null)?.textContent?.includes('Submit share')) {
      marks.click = e.timeStamp
      marks.result = undefined
    }
  }, true)
}

/**
 * Starts `tessera web` (over `keyset` if given) and resolves once it printed the
 * address to open (its access token in the fragment), with its origin and the
 * time from the spawn until it said it was listening.
 */
async function startWeb(keyset: string | null, configDir: string): Promise<{ child: ChildProcess; address: string; origin: string; listeningMs: number }> {
  const t0 = performance.now()
  const child = spawn(process.execPath, [TESSERA, 'web', ...(keyset ? ['--keyset', keyset] : []), '--port', '0'], { env: { ...process.env, TESSERA_CONFIG_DIR: configDir } })
  let out = ''
  let listeningMs = 0
  const address = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d
      if (!listeningMs && /listening on/.test(out)) listeningMs = performance.now() - t0
      const m = /open (\S+#access=\S+)/.exec(out)
      if (m) resolve(m[1]!)
    })
    child.on('error', reject)
    child.on('close', (code) => reject(new Error(`tessera web exited with ${code}`)))
  })
  return { child, address, origin: new URL(address).origin, listeningMs }
}

/**
 * Resolves once an animation frame of the page finds `test` true. A locator's
 * waitFor polls at Playwright's backoff instead — checks 0, 20, 50, 100, 100
 * and 500 ms apart — so that an element drawn just after a check was timed up
 * to 100 ms (or 500 ms) late.
 */
async function seenInAFrame(page: import('playwright-core').Page, test: () => boolean): Promise<void> {
  await page.waitForFunction(test, undefined, { polling: 'raf' })
}

/** The first screen's button, drawn and enabled. */
function startShown(): boolean {
  return Array.from(document.querySelectorAll('button')).some((b) => b.textContent?.includes('Start: root token') && !b.disabled && b.getClientRects().length > 0)
}

/** The result's heading, drawn. */
function resultShown(): boolean {
  return Array.from(document.querySelectorAll('h2')).some((h) => /Result/.test(h.textContent ?? '') && h.getClientRects().length > 0)
}

interface TraceEvent {
  name: string
  ph: string
  pid: number
  tid: number
  tdur?: number
  args?: { name?: string; beginData?: { url?: string }; data?: { url?: string } }
}

/**
 * The renderer main thread that loaded a URL containing `marker`: a thread
 * named CrRendererMain with an event naming that URL. The page's ParseHTML
 * alone is not enough: a trace sometimes lacks it, and then its script and
 * style events still name the URL.
 */
function pageMainThread(events: readonly TraceEvent[], marker: string): { pid: number; tid: number } {
  const key = (e: { pid: number; tid: number }) => `${e.pid}/${e.tid}`
  const mains = new Set(events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map(key))
  const named = events.find((e) => mains.has(key(e)) && (e.args?.beginData?.url ?? e.args?.data?.url ?? '').includes(marker))
  if (!named) throw new Error(`no renderer main thread in the trace names a URL with ${marker}`)
  return { pid: named.pid, tid: named.tid }
}

/**
 * Opens `address` in a new page under a Chromium trace and returns the CPU time
 * (the trace's thread time) of the tasks its renderer's main thread ran until
 * the first screen was seen in a frame, Playwright's own polling included.
 */
async function rendererCpuToFirstScreen(browser: import('playwright-core').Browser, address: string): Promise<number> {
  const page = await browser.newPage()
  try {
    await browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline'] })
    await page.goto(address)
    await seenInAFrame(page, startShown)
    const { traceEvents } = JSON.parse((await browser.stopTracing()).toString()) as { traceEvents: TraceEvent[] }
    const main = pageMainThread(traceEvents, `:${new URL(address).port}/`)
    const tasks = traceEvents.filter((e) => e.name === 'RunTask' && e.ph === 'X' && e.pid === main.pid && e.tid === main.tid)
    if (!tasks.some((e) => e.tdur !== undefined)) throw new Error('no thread times for the page in the trace')
    return tasks.reduce((sum, e) => sum + (e.tdur ?? 0), 0) / 1000
  } finally {
    await page.close()
  }
}

async function frameMarks(page: import('playwright-core').Page): Promise<{ firstScreen: number; lastShare: number }> {
  type Marks = { firstScreen: number; click: number; result?: number }
  // The frame callbacks may still be due when Playwright has seen the element.
  await page.waitForFunction(() => {
    const m = (window as unknown as { __frames: Marks }).__frames
    return m.firstScreen > 0 && m.result !== undefined
  })
  const m = await page.evaluate(() => (window as unknown as { __frames: Required<Marks> }).__frames)
  return { firstScreen: m.firstScreen, lastShare: m.result - m.click }
}

/** One page's round of the first screen and the last share: what Playwright waits, and what the page's own frames say. */
interface PageRound {
  firstScreen: number
  lastShare: number
  firstScreenInPage: number
  lastShareInPage: number
}

/**
 * Opens `address` in a new page and times page.goto → the first screen seen in
 * a frame; then `toLastShare` brings the page to its last share, and the click
 * on "Submit share" → the result seen in a frame is timed.
 */
async function timePageRound(browser: import('playwright-core').Browser, address: string, toLastShare: (page: import('playwright-core').Page) => Promise<void>): Promise<PageRound> {
  const page = await browser.newPage()
  try {
    await page.addInitScript(markFrames)
    const t0 = performance.now()
    await page.goto(address)
    await seenInAFrame(page, startShown)
    const firstScreen = performance.now() - t0
    await toLastShare(page)
    const t1 = performance.now()
    await page.getByRole('button', { name: 'Submit share' }).click()
    await seenInAFrame(page, resultShown)
    const lastShare = performance.now() - t1
    const marks = await frameMarks(page)
    return { firstScreen, lastShare, firstScreenInPage: marks.firstScreen, lastShareInPage: marks.lastShare }
  } finally {
    await page.close()
  }
}

describe('npm run bench', () => {
  it('prepares', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-bench-'))
  })

  it('tessera serve against bare node:http servers answering the same JSON', async () => {
    const { path, keys } = await initKeyset('serve', 5, 3)
    // The request log goes to a file, as a service manager keeps it: were it piped
    // into this process, the load generator would also be the log's reader.
    const logFile = join(dir, 'serve.log')
    const serve = await startServer([TESSERA, 'serve', '--port', '0', '--keyset', path], logFile)
    const rounds = 3
    const seconds = 4
    let served = 0
    try {
      const statusPath = '/v1/sys/generate-root/attempt'
      const started = await callApi(serve.url, 'PUT', 'sys/generate-root/attempt', {})
      const nonce = started.json.nonce as string
      await callApi(serve.url, 'PUT', 'sys/generate-root/update', { key: keys[0], nonce })
      const status = await callApi(serve.url, 'GET', 'sys/generate-root/attempt')
      // The updates measured are refused, so that they can be sent again and
      // again; an accepted share cannot, and the one reaching the threshold is a
      // combine and a keyset write, not request handling. Both read and parse the
      // body and the share. A share already given is refused as Vault refuses it,
      // before its check; a mistyped share (one character changed) is refused by
      // its check against the keyset, a deliberately slow scrypt: its latency,
      // one request at a time, is that check's cost, not request handling.
      const repeated = JSON.stringify({ key: keys[0], nonce })
      const mistyped = JSON.stringify({ key: mistypeAt(keys[1]!, 0), nonce })
      const refusedRepeat = await callApi(serve.url, 'PUT', 'sys/generate-root/update', repeated)
      expect(refusedRepeat.json.errors).toEqual(['given key has already been provided during this generation operation'])
      const refusedTypo = await callApi(serve.url, 'PUT', 'sys/generate-root/update', mistyped)
      expect(refusedTypo.json.errors[0]).toMatch(/probably a typing mistake/)
      const replies = { GET: { status: 200, body: status.text }, PUT: { status: 400, body: refusedRepeat.text } }
      const bare = await bareServer(replies, join(dir, 'bare.log'))
      const hmac = await bareServer(replies, join(dir, 'bare-hmac.log'), true)
      try {
        const update = `${serve.url}/v1/sys/generate-root/update`
        const statusRuns = await loadInTurns({ url: `${serve.url}${statusPath}`, pid: serve.pid }, { url: `${bare.url}${statusPath}`, pid: bare.pid }, { rounds, seconds })
        const repeatRuns = await loadInTurns(
          { url: update, pid: serve.pid },
          { url: `${hmac.url}/v1/sys/generate-root/update`, pid: hmac.pid },
          { method: 'PUT', body: repeated, rounds, seconds },
        )
        for (const l of [...statusRuns.a, ...repeatRuns.a]) {
          expect(l.errors).toBe(0)
          served += l.requests
        }
        const typoMs: number[] = []
        for (let i = 0; i < 20; i++) {
          const t0 = performance.now()
          expect((await callApi(serve.url, 'PUT', 'sys/generate-root/update', mistyped)).status).toBe(400)
          typoMs.push(performance.now() - t0)
          served++
        }
        rows.push(
          ...loadRows('status', statusRuns, rounds),
          ...loadRows('update, a repeated share (refused before its check)', repeatRuns, rounds),
          { what: 'serve: update, a mistyped share (refused by its scrypt check), one at a time (median of 20)', tessera: median(typoMs), unit: 'ms' },
        )
        rows.push({ what: 'serve: peak memory over the throughput runs', tessera: await peakRssMb(serve.pid), unit: 'MB' })
      } finally {
        bare.child.kill()
        hmac.child.kill()
      }
    } finally {
      const exited = new Promise((resolve) => serve.child.once('close', resolve))
      serve.child.kill('SIGTERM')
      await exited
    }
    // Every request answered was logged, one line each.
    const logged = (await readFile(logFile, 'utf8')).split('\n').filter((l) => /^(GET|PUT) \/v1\/sys\/generate-root\/(attempt|update) (200|400)$/.test(l))
    expect(logged.length).toBeGreaterThanOrEqual(served)
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
      // What no Node.js command can go below, and the command's own start-up.
      const node: number[] = []
      const version: number[] = []
      for (let i = 0; i < runs; i++) {
        ours.push(await timeCommand(process.execPath, [TESSERA, 'decode', '--encoded', '-', '--pgp-key', join(dir, 'private.asc')], { stdin: encoded }))
        theirs.push(await timeCommand('gpg', ['--batch', '-dq', join(dir, 'result.gpg')], { env }))
        node.push(await timeCommand(process.execPath, ['-e', '0']))
        version.push(await timeCommand(process.execPath, [TESSERA, '--version']))
      }
      // Node.js reads the CA file named by NODE_EXTRA_CA_CERTS at every start, a
      // cost of the machine rather than of the command: measured without it too.
      // (Node.js treats it set empty as unset.)
      const withoutCaFile = process.env.NODE_EXTRA_CA_CERTS ? { NODE_EXTRA_CA_CERTS: '' } : undefined
      const bare: number[] = []
      // In the app, decoding runs in the main process already running: the key
      // read and the message decrypted, OpenPGP loaded once before.
      const inProcess: number[] = []
      const keyText = await readFile(join(dir, 'private.asc'))
      await decodeWithPgp(encoded, await readPrivateKey(keyText))
      for (let i = 0; i < runs; i++) {
        if (withoutCaFile) bare.push(await timeCommand(process.execPath, [TESSERA, 'decode', '--encoded', '-', '--pgp-key', join(dir, 'private.asc')], { stdin: encoded, env: withoutCaFile }))
        const t0 = performance.now()
        const decoded = await decodeWithPgp(encoded, await readPrivateKey(keyText))
        inProcess.push(performance.now() - t0)
        decoded.value.fill(0)
      }
      const gpgMs = median(theirs)
      rows.push(
        { what: `decode a PGP result (curve25519), the command, median wall time of ${runs}`, tessera: median(ours), reference: gpgMs, unit: 'ms', ratio: median(ours) / gpgMs, goal: '≤ 0.6×' },
        ...(withoutCaFile
          ? [{ what: 'decode, the command, NODE_EXTRA_CA_CERTS unset (this machine sets it)', tessera: median(bare), reference: gpgMs, unit: 'ms', ratio: median(bare) / gpgMs }]
          : []),
        { what: 'decode in the running process, as the app decodes (key read, message decrypted)', tessera: median(inProcess), reference: gpgMs, unit: 'ms', ratio: median(inProcess) / gpgMs, goal: '≤ 0.6×' },
        { what: 'reference: Node.js starting and exiting (node -e 0)', tessera: median(node), reference: gpgMs, unit: 'ms', ratio: median(node) / gpgMs },
        { what: 'tessera --version (the command starting, no work)', tessera: median(version), reference: gpgMs, unit: 'ms', ratio: median(version) / gpgMs },
      )
    } finally {
      gpg.close()
    }
  })

  // What a holder waits for: the last share (its check, the combine, the root
  // key verified, the token made and the keyset's locked write with its fsyncs).
  for (const [scheme, shares, threshold] of [['vault', 5, 3], ['vault', 255, 255], ['secretsjs', 255, 255]] as const) {
    it(`last share → result in the engine, ${threshold}-of-${shares}, ${scheme} shares`, async () => {
      const { path, keys } = await initKeyset(`engine-${scheme}-${threshold}-of-${shares}`, shares, threshold, scheme)
      const engine = await LocalEngine.open(path)
      try {
        // Each share entered is checked (scrypt): 255 of them take seconds, so fewer rounds there.
        const rounds = shares === 255 ? 3 : 5
        const times: number[] = []
        for (let round = 0; round < rounds; round++) {
          const { status: { nonce } } = await engine.start('root', {})
          for (const key of keys.slice(0, threshold - 1)) await engine.update('root', { key: Buffer.from(key), nonce })
          const t0 = performance.now()
          const { status: done } = await engine.update('root', { key: Buffer.from(keys[threshold - 1]!), nonce })
          times.push(performance.now() - t0)
          expect(done.complete).toBe(true)
        }
        rows.push({ what: `engine: last share → result, ${threshold}-of-${shares}, ${scheme} shares, its check included (median of ${rounds})`, tessera: median(times), unit: 'ms' })
      } finally {
        await engine.close()
      }
    })
  }

  // What a share check costs a holder (once) and a brute force (once per candidate):
  // format 3's scrypt against format 2's HMAC, on a keyset of each.
  it('a share check, format 3 against format 2, and a brute force\'s cost', async () => {
    const v3 = await initKeyset('check-v3', 5, 3)
    const v2Path = join(dir, 'check-v2.json')
    await copyFile(join(ROOT, 'test', 'fixtures', 'keyset-v2-vault.json'), v2Path)
    const v2Keys = (JSON.parse(await readFile(join(ROOT, 'test', 'fixtures', 'keyset-v2-vault.handed-out.json'), 'utf8')) as { keys: string[] }).keys
    const measure = async (path: string, keys: string[], n: number) => {
      const keyset = await Keyset.open(path)
      const wall: number[] = []
      // process.cpuUsage counts every thread of the process: scrypt runs on the thread pool.
      const cpu0 = process.cpuUsage()
      for (let i = 0; i < n; i++) {
        const t0 = performance.now()
        expect((await keyset.check(Buffer.from(keys[i % keys.length]!))).valid).toBe(true)
        wall.push(performance.now() - t0)
      }
      const cpu = process.cpuUsage(cpu0)
      return { wallMs: median(wall), cpuMs: (cpu.user + cpu.system) / 1000 / n }
    }
    const scrypt = await measure(v3.path, v3.keys, 20)
    const hmac = await measure(v2Path, v2Keys, 2000)
    rows.push(
      { what: 'share check, format 3 (scrypt N=2^14, r=8, p=1), wall time (median of 20; reference: format 2\'s HMAC)', tessera: scrypt.wallMs, reference: hmac.wallMs, unit: 'ms', ratio: scrypt.wallMs / hmac.wallMs, goal: '≥ 10 ms' },
      { what: 'share check, format 3, CPU time of one check (all threads)', tessera: scrypt.cpuMs, reference: hmac.cpuMs, unit: 'ms', ratio: scrypt.cpuMs / hmac.cpuMs },
    )
    // 16^k candidates for k smudged hex digits, one check each, on one core of this machine.
    for (const k of [3, 4, 5, 6, 7, 8]) {
      rows.push({ what: `brute force: a share with ${k} unknown hex digits (16^${k} checks), one core`, tessera: (16 ** k * scrypt.cpuMs) / 3_600_000, reference: (16 ** k * hmac.cpuMs) / 3_600_000, unit: 'h', goal: k === 5 ? '≥ hours' : undefined })
    }
  })

  it('init of a 255-share keyset: the command, and the event loop of a process that runs it', async () => {
    // 255 scrypt derivations each: one run of each is seconds of both cores.
    const command = await timeCommand(process.execPath, [TESSERA, 'init', '--keyset', join(dir, 'init-255.json'), '--shares', '255', '--threshold', '3', '--format', 'json'])
    // In process, as the app and tessera web run it: how long the event loop is held at most meanwhile.
    const delay = monitorEventLoopDelay({ resolution: 10 })
    delay.enable()
    const t0 = performance.now()
    await initKeysetInProcess({ path: join(dir, 'init-255-app.json'), shares: 255, threshold: 3, scheme: 'vault' }, async () => undefined)
    const inProcess = performance.now() - t0
    delay.disable()
    rows.push(
      { what: 'tessera init --shares 255, the command', tessera: command, unit: 'ms' },
      { what: 'init of 255 shares in process (as the app runs it)', tessera: inProcess, unit: 'ms' },
      { what: 'init of 255 shares: the event loop\'s longest stall meanwhile', tessera: delay.max / 1e6, unit: 'ms', goal: '< 100 ms' },
    )
  }, 600_000)

  it('tessera web: start to listening', async () => {
    const times: number[] = []
    const config = join(dir, 'config')
    await mkdir(config, { recursive: true })
    for (let i = 0; i < 5; i++) {
      const { child, listeningMs } = await startWeb(null, config)
      child.kill('SIGTERM')
      times.push(listeningMs)
    }
    rows.push({ what: 'web: start to listening (median of 5)', tessera: median(times), unit: 'ms' })
  })

  it('tessera web: the initial JS as sent to a browser', async () => {
    const config = join(dir, 'config-size')
    await mkdir(config, { recursive: true })
    const { child, origin: base } = await startWeb(null, config)
    try {
      const html = await (await fetch(`${base}/`)).text()
      const scripts = [...html.matchAll(/<script[^>]+src="([^"]+)"/g)].map((m) => m[1]!)
      // The bytes on the wire, as a browser that accepts every encoding is sent them.
      let total = 0
      for (const src of scripts) {
        total += await new Promise<number>((resolve, reject) => {
          const url = new URL(src, base)
          request({ host: url.hostname, port: url.port, path: url.pathname, headers: { 'Accept-Encoding': 'gzip, deflate, br, zstd' } }, (res) => {
            let n = 0
            res.on('data', (c: Buffer) => (n += c.length))
            res.on('end', () => resolve(n))
          })
            .on('error', reject)
            .end()
        })
      }
      rows.push({ what: 'web: initial JS, as sent (loopback: not compressed)', tessera: total / 1024, unit: 'kB' })
    } finally {
      child.kill('SIGTERM')
    }
  })

  it('tessera web in Chromium: first interactive screen, and last share → result on screen', async () => {
    const { path, keys } = await initKeyset('web-ui', 3, 2)
    const config = join(dir, 'config-ui')
    await mkdir(config, { recursive: true })
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
    // The floor: a page holding nothing but the same button, served by the same host.
    const floorDir = join(dir, 'floor')
    await mkdir(floorDir, { recursive: true })
    await writeFile(join(floorDir, 'index.html'), '<!doctype html><html lang="en"><title>Tessera</title><button type="button">Start: root token</button><button type="button">Submit share</button><script src="floor.js"></script></html>\n')
    // The last share's floor: a button whose second click draws the result heading
    // at once (the first stands for the first share, as on Tessera's page).
    await writeFile(
      join(floorDir, 'floor.js'),
      "let clicks = 0\ndocument.querySelectorAll('button')[1].onclick = () => { if (++clicks === 2) document.body.insertAdjacentHTML('beforeend', '<h2>5. Result</h2>') }\n",
    )
    let floorPort = 0
    const floor = createWebHost({ rendererDir: floorDir, dispatch: async () => ({ ok: true, value: null }), token: newAccessToken(), port: () => floorPort })
    floorPort = (await listen(floor, '127.0.0.1', 0)).port
    const floorRounds: PageRound[] = []
    const rounds: PageRound[] = []
    const rendererCpu: number[] = []
    const floorRendererCpu: number[] = []
    // Kept for speed: Chromium's compile hint on the page's module. The built page
    // is served beside a copy without it, both by one in-process host over the keyset.
    const hinted: number[] = []
    const unhinted: number[] = []
    const built = join(ROOT, 'out', 'renderer')
    const noHintDir = join(dir, 'renderer-without-hint')
    await cp(built, noHintDir, { recursive: true })
    const assets = join(noHintDir, 'assets')
    for (const name of (await readdir(assets)).filter((n) => n.endsWith('.js'))) {
      const js = await readFile(join(assets, name), 'utf8')
      await writeFile(join(assets, name), js.replace(/^\/\/# allFunctionsCalledOnLoad\n/, ''))
    }
    const { session, dispatch } = sessionRouter()
    await session.ceremony.openKeyset(path)
    const hosts = await Promise.all(
      [built, noHintDir].map(async (rendererDir) => {
        let bound = 0
        const token = newAccessToken()
        const host = createWebHost({ rendererDir, dispatch, token, port: () => bound })
        bound = (await listen(host, '127.0.0.1', 0)).port
        return { host, address: `http://127.0.0.1:${bound}/#access=${token}` }
      }),
    )
    try {
      for (let round = 0; round < 3; round++) {
        // The floor's first click stands for the first share.
        floorRounds.push(await timePageRound(browser, `http://127.0.0.1:${floorPort}/`, (page) => page.getByRole('button', { name: 'Submit share' }).click()))
        const { child, address } = await startWeb(path, config)
        try {
          rounds.push(
            await timePageRound(browser, address, async (page) => {
              await page.getByRole('button', { name: 'Start: root token' }).click()
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
            }),
          )
        } finally {
          child.kill('SIGTERM')
        }
      }
      // The renderer's main thread CPU until the first screen is seen, from a
      // Chromium trace's thread times: steadier than wall time on a busy machine.
      for (let round = 0; round < 5; round++) {
        floorRendererCpu.push(await rendererCpuToFirstScreen(browser, `http://127.0.0.1:${floorPort}/`))
        const { child, address } = await startWeb(path, config)
        try {
          rendererCpu.push(await rendererCpuToFirstScreen(browser, address))
        } finally {
          child.kill('SIGTERM')
        }
        hinted.push(await rendererCpuToFirstScreen(browser, hosts[0]!.address))
        unhinted.push(await rendererCpuToFirstScreen(browser, hosts[1]!.address))
      }
    } finally {
      await browser.close()
      floor.close()
      for (const { host } of hosts) host.close()
      await session.close()
    }
    // Each row beside the floor page's, as a ratio.
    const row = (what: string, tessera: number[], floor: number[], goal?: string): Row => {
      const [t, f] = [median(tessera), median(floor)]
      return { what, tessera: t, reference: f, unit: 'ms', ratio: t / f, goal }
    }
    const roundRow = (what: string, key: keyof PageRound, goal?: string) => row(what, rounds.map((r) => r[key]), floorRounds.map((r) => r[key]), goal)
    rows.push(
      row('web in Chromium: first screen, the renderer main thread\'s CPU until it is seen (median of 5 traces; reference: the floor page)', rendererCpu, floorRendererCpu),
      row('kept for speed: the compile hint on the page\'s module; first screen\'s renderer CPU with it (reference: without it; median of 5 traces)', hinted, unhinted, '≤ 0.9×'),
      roundRow('web in Chromium: page.goto → first interactive screen seen in a frame (median of 3; reference: a page of that one button, same host)', 'firstScreen', '≤ 300 ms'),
      roundRow('web in Chromium: first screen, in the page: navigation start → the frame that draws its button (median of 3)', 'firstScreenInPage'),
      roundRow('web in Chromium: last share: click() → result seen in a frame (median of 3; reference: a button drawing a heading)', 'lastShare', '≤ 50 ms'),
      roundRow('web in Chromium: last share, in the page: the click → the frame that draws the result (median of 3)', 'lastShareInPage'),
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
