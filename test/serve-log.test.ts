import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { open, readFile } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { TESSERA } from './helpers/cli'
import { makeKeyset, tempDir } from './helpers/keysets'

let tmp: Awaited<ReturnType<typeof tempDir>>
let keyset: string

beforeAll(async () => {
  tmp = await tempDir()
  keyset = (await makeKeyset(tmp.dir)).path
})
afterAll(() => tmp.cleanup())

function get(url: string, agent: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: agent ? undefined : false }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode!))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('the request log of tessera serve', () => {
  it('holds every request answered, in a file, when SIGTERM comes right after a burst', async () => {
    // Standard error to a file, as a service manager keeps it.
    const logFile = join(tmp.dir, 'serve.log')
    const log = await open(logFile, 'w')
    const child = spawn(process.execPath, [TESSERA, 'serve', '--port', '0', '--keyset', keyset], { stdio: ['ignore', 'pipe', log.fd] })
    await log.close()
    const url = await new Promise<string>((resolve, reject) => {
      let out = ''
      child.stdout!.on('data', (d: Buffer) => {
        out += d
        const m = /listening on (\S+)/.exec(out)
        if (m) resolve(m[1]!)
      })
      child.on('close', (code) => reject(new Error(`tessera serve exited with ${code}`)))
    })
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
    const burst = 400
    const statuses = await Promise.all(
      Array.from({ length: burst }, (_, i) => get(`${url}/v1/sys/${i % 2 ? 'health' : 'generate-root/attempt'}`, i % 4 < 2)),
    )
    expect(statuses.every((s) => s === 200)).toBe(true)
    child.kill('SIGTERM')
    expect(await exited).toBe(0)

    const lines = (await readFile(logFile, 'utf8')).split('\n')
    expect(lines.filter((l) => l === 'GET /v1/sys/health 200')).toHaveLength(burst / 2)
    expect(lines.filter((l) => l === 'GET /v1/sys/generate-root/attempt 200')).toHaveLength(burst / 2)
  })
})
