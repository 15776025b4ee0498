import { spawn, type ChildProcess } from 'node:child_process'
import { connect as netConnect } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { TESSERA } from './cli'

export interface Spawned {
  port: number
  /** Everything the process wrote so far, both streams. */
  output: () => string
  alive: () => boolean
  stop: () => Promise<void>
}

export interface WebProcess extends Spawned {
  token: string
}

function watch(child: ChildProcess, ready: RegExp): Promise<{ match: RegExpExecArray; output: () => string }> {
  return new Promise((resolve, reject) => {
    let out = ''
    let done = false
    const onData = (d: Buffer) => {
      out += d
      const m = ready.exec(out)
      if (m && !done) {
        done = true
        resolve({ match: m, output: () => out })
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.on('close', (code) => reject(new Error(`exited with ${code}: ${out}`)))
  })
}

function handle(child: ChildProcess, port: number, output: () => string): Spawned {
  return {
    port,
    output,
    alive: () => child.exitCode === null && child.signalCode === null,
    stop: () =>
      new Promise((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done()
        child.once('close', () => done())
        child.kill('SIGTERM')
      }),
  }
}

/** `tessera serve` on a free port, alive until stopped. */
export async function spawnServe(args: string[]): Promise<Spawned> {
  const child = spawn(process.execPath, [TESSERA, 'serve', '--port', '0', ...args])
  const { match, output } = await watch(child, /listening on https?:\/\/[^\s]+:(\d+)\n/)
  return handle(child, Number(match[1]), output)
}

/** `tessera web` on a free port, with the access token it printed. */
export async function spawnWeb(args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<WebProcess> {
  const child = spawn(process.execPath, [TESSERA, 'web', '--port', '0', ...args], { env: { ...process.env, ...env } })
  const { match, output } = await watch(child, /open http:\/\/127\.0\.0\.1:(\d+)\/#access=([A-Za-z0-9_-]+)\n/)
  return { ...handle(child, Number(match[1]), output), token: match[2]! }
}

export interface RawReply {
  /** The status code of the first response line, or null when the server sent none. */
  status: number | null
  text: string
}

/**
 * Writes bytes to the server exactly as given (no client library would send a
 * request target like `http://a:99999/`) and collects what comes back until the
 * server closes the connection or `waitMs` passes.
 */
export function rawRequest(port: number, bytes: string | Buffer, opts: { tls?: boolean; waitMs?: number } = {}): Promise<RawReply> {
  return new Promise((resolve) => {
    const socket = opts.tls
      ? tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false })
      : netConnect({ host: '127.0.0.1', port })
    let text = ''
    const finish = () => {
      clearTimeout(timer)
      socket.destroy()
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text)
      resolve({ status: m ? Number(m[1]) : null, text })
    }
    const timer = setTimeout(finish, opts.waitMs ?? 5000)
    socket.on(opts.tls ? 'secureConnect' : 'connect', () => socket.write(bytes))
    socket.on('data', (d) => (text += d.toString('latin1')))
    socket.on('error', finish)
    socket.on('close', finish)
  })
}

/** A request head as a client would write it; `Connection: close` so that the reply ends the exchange. */
export function head(method: string, target: string, headers: Record<string, string>): string {
  const lines = Object.entries({ ...headers, Connection: 'close' }).map(([k, v]) => `${k}: ${v}`)
  return `${method} ${target} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`
}
