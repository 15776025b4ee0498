import { spawn, type ChildProcess } from 'node:child_process'
import { open, readFile } from 'node:fs/promises'
import autocannon from 'autocannon'

export interface Row {
  what: string
  tessera: number
  reference?: number
  unit: string
  /** tessera ÷ reference where a reference was measured side by side. */
  ratio?: number
  /** The lowest and highest ratio of the rounds the ratio is the median of. */
  spread?: [number, number]
  goal?: string
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Wall time of one command, from spawn to exit, in milliseconds. */
export function timeCommand(file: string, args: string[], opts: { stdin?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(file, args, { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'ignore', 'pipe'] })
    let err = ''
    child.stderr.on('data', (d) => (err += d))
    child.on('close', (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`${file} exited ${code}: ${err}`))))
    // gpg reads a file, not its input: it may exit before the empty input is written.
    child.stdin.on('error', () => undefined)
    child.stdin.end(opts.stdin ?? '')
  })
}

/** Starts a server process and resolves once it prints its address; its standard error goes to `logFile`. */
export async function startServer(args: string[], logFile: string, env: NodeJS.ProcessEnv = {}): Promise<{ url: string; pid: number; child: ChildProcess }> {
  const log = await open(logFile, 'w')
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', log.fd] })
  await log.close()
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += d
      const m = /listening on (\S+)/.exec(out)
      if (m) resolve({ url: m[1]!, pid: child.pid!, child })
    })
    child.on('error', reject)
    child.on('close', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)))
  })
}

/**
 * The peer: a bare node:http server in its own process, answering one fixed
 * reply per method. It does the transport work `tessera serve` does — the same
 * keep-alive defaults, the same headers and JSON bytes, the request body read
 * to its end — and nothing else; with `hmac`, it also computes one HMAC-SHA256
 * of each body, the least an update must do.
 */
export function bareServer(replies: Record<string, { status: number; body: string }>, logFile: string, hmac = false) {
  const script = `
    const replies = JSON.parse(process.env.REPLIES)
    const hmac = process.env.HMAC === '1'
    const { createHmac } = require('node:crypto')
    const server = require('node:http').createServer((req, res) => {
      const chunks = []
      req.on('data', (c) => chunks.push(c))
      req.on('end', () => {
        if (hmac) createHmac('sha256', 'bench').update(Buffer.concat(chunks)).digest()
        const r = replies[req.method] ?? { status: 405, body: '{"errors":[]}' }
        res.writeHead(r.status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(r.body) })
        res.end(r.body)
      })
    })
    server.listen(0, '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + server.address().port))`
  return startServer(['-e', script], logFile, { REPLIES: JSON.stringify(replies), HMAC: hmac ? '1' : '0' })
}

export interface Load {
  requestsPerSecond: number
  p99Ms: number
  requests: number
  non2xx: number
  errors: number
  /** CPU time (user + system) the server process spent per request answered, in microseconds. */
  cpuUsPerRequest: number
}

/** CPU time a process has used so far, in milliseconds (Linux: /proc/PID/stat, in clock ticks of 10 ms). */
async function cpuMs(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}

/** 64 connections for a few seconds against one request to the server process `pid`. */
export async function load(
  url: string,
  pid: number,
  opts: { method?: 'GET' | 'PUT'; body?: string; seconds?: number; connections?: number } = {},
): Promise<Load> {
  const cpuBefore = await cpuMs(pid)
  const result = await autocannon({
    url,
    method: opts.method ?? 'GET',
    body: opts.body,
    headers: opts.body ? { 'content-type': 'application/json' } : {},
    connections: opts.connections ?? 64,
    duration: opts.seconds ?? 5,
  })
  const requests = result.requests.total
  return {
    requestsPerSecond: result.requests.average,
    p99Ms: result.latency.p99,
    requests,
    non2xx: result.non2xx,
    errors: result.errors,
    cpuUsPerRequest: ((await cpuMs(pid)) - cpuBefore) * 1000 / requests,
  }
}

/**
 * Loads two servers in turns, so that whatever else the machine does meanwhile
 * falls on both alike; the ratio is the median of each round's A ÷ B. Each is
 * first loaded for a second unmeasured (its first requests are mostly the JIT
 * compiling, and Tessera has far more code to compile than a bare server),
 * and the order alternates each round (A B, B A, …), so neither always runs
 * just after the other.
 */
export async function loadInTurns(
  a: { url: string; pid: number },
  b: { url: string; pid: number },
  opts: { method?: 'GET' | 'PUT'; body?: string; rounds: number; seconds: number },
): Promise<{ a: Load[]; b: Load[]; ratios: number[] }> {
  const runs = { a: [] as Load[], b: [] as Load[], ratios: [] as number[] }
  const loadOf = (s: { url: string; pid: number }, seconds = opts.seconds) => load(s.url, s.pid, { ...opts, seconds })
  await loadOf(a, 1)
  await loadOf(b, 1)
  for (let round = 0; round < opts.rounds; round++) {
    let ours: Load, theirs: Load
    if (round % 2 === 0) {
      ours = await loadOf(a)
      theirs = await loadOf(b)
    } else {
      theirs = await loadOf(b)
      ours = await loadOf(a)
    }
    runs.a.push(ours)
    runs.b.push(theirs)
    runs.ratios.push(ours.requestsPerSecond / theirs.requestsPerSecond)
  }
  return runs
}

/** Peak resident memory of a process so far (VmHWM), in MB. */
export async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN)
  return kb / 1024
}

export function printTable(rows: Row[]): string {
  const fmt = (n: number | undefined) => (n === undefined ? '' : n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2))
  const ratio = (r: Row) =>
    r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}×${r.spread ? ` (${r.spread[0].toFixed(2)}–${r.spread[1].toFixed(2)})` : ''}`
  const cells = rows.map((r) => [r.what, `${fmt(r.tessera)} ${r.unit}`, r.reference === undefined ? '' : `${fmt(r.reference)} ${r.unit}`, ratio(r), r.goal ?? ''])
  const head = ['measurement', 'tessera', 'reference', 'ratio', 'goal']
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)))
  const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i]!)).join(' | ')
  return [line(head), widths.map((w) => '-'.repeat(w)).join('-|-'), ...cells.map(line)].join('\n')
}
