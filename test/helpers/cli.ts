import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const TESSERA = fileURLToPath(new URL('../../bin/tessera.js', import.meta.url))

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Which `tessera` to run: the checkout's built one, or an installed command. */
export interface Command {
  bin?: string
}

function spawnTessera(bin: string | undefined, args: string[], env?: NodeJS.ProcessEnv) {
  const [file, argv] = bin ? [bin, args] : [process.execPath, [TESSERA, ...args]]
  return spawn(file, argv, { env: { ...process.env, ...env } })
}

/** Runs the built `tessera` command as a user would (npm run build first). */
export function runCli(args: string[], opts: { stdin?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } & Command = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnTessera(opts.bin, args, opts.env)
    // A command that never answers is killed, and its result (code null) fails the test instead of hanging it.
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined
    child.on('close', () => clearTimeout(timer))
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    // A command that exits before reading its input must not fail the test with EPIPE.
    child.stdin.on('error', () => undefined)
    child.stdin.end(opts.stdin ?? '')
  })
}

export interface ServeProcess {
  url: string
  pid: number
  output: () => string
  stop: () => Promise<void>
}

/** Starts `tessera serve` on a free port and waits for its "listening on" line. */
export function startServe(args: string[], opts: Command = {}): Promise<ServeProcess> {
  return new Promise((resolve, reject) => {
    const child = spawnTessera(opts.bin, ['serve', '--port', '0', ...args])
    let out = ''
    const onData = (d: Buffer) => {
      out += d
      const m = /listening on (https?:\/\/\S+)/.exec(out)
      if (m) {
        child.stdout.off('data', onData)
        child.stdout.on('data', (more) => (out += more))
        resolve({
          url: m[1]!,
          pid: child.pid!,
          output: () => out,
          stop: () =>
            new Promise((done) => {
              if (child.exitCode !== null) return done()
              child.once('close', () => done())
              child.kill('SIGTERM')
            }),
        })
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', (d) => (out += d))
    child.on('close', (code) => reject(new Error(`tessera serve exited with ${code}: ${out}`)))
  })
}

/**
 * Where a child's standard output or error goes: read by the test; a pipe whose
 * reader has gone before anything was written (`| head -c1` once it took its
 * byte and left); or /dev/full, a disk with no space left.
 */
export type Sink = 'read' | 'gone' | 'full'

export interface SinkedChild {
  child: ChildProcess
  /** What the 'read' streams carried so far. */
  output: () => string
  exited: Promise<number | null>
}

/** Starts the built `tessera` with its standard output and error sent to the given sinks. */
export function spawnWithSinks(args: string[], sinks: { stdout: Sink; stderr: Sink }, env?: NodeJS.ProcessEnv): SinkedChild {
  const full = openSync('/dev/full', 'w')
  const stdio = (s: Sink) => (s === 'full' ? full : 'pipe')
  const child = spawn(process.execPath, [TESSERA, ...args], { stdio: ['pipe', stdio(sinks.stdout), stdio(sinks.stderr)], env: { ...process.env, ...env } })
  closeSync(full)
  let out = ''
  for (const [stream, sink] of [[child.stdout, sinks.stdout], [child.stderr, sinks.stderr]] as const) {
    if (sink === 'gone') stream!.destroy()
    else if (sink === 'read') stream!.on('data', (d) => (out += d))
  }
  child.stdin!.on('error', () => undefined)
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  return { child, output: () => out, exited }
}

/** Runs a command to its end with its outputs sent to the given sinks. */
export async function runWithSinks(args: string[], sinks: { stdout: Sink; stderr: Sink }, stdin = ''): Promise<{ code: number | null; output: string }> {
  const run = spawnWithSinks(args, sinks)
  run.child.stdin!.end(stdin)
  const code = await run.exited
  return { code, output: run.output() }
}

/** Waits until `pattern` shows in what the child wrote to the streams read. */
export async function waitForOutput(run: SinkedChild, pattern: RegExp): Promise<RegExpExecArray> {
  for (let i = 0; i < 400; i++) {
    const m = pattern.exec(run.output())
    if (m) return m
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`never printed ${pattern}: ${run.output()}`)
}
