import { spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { keysetFingerprint } from '../src-main/record/attempt-record'
import { verifyRecord } from '../src-main/record/verify'
import { runCli, TESSERA } from './helpers/cli'
import { tempDir } from './helpers/keysets'
import { leaks, secret } from './helpers/secret-forms'

let dir: string
let cleanup: () => Promise<void>
beforeEach(async () => {
  ;({ dir, cleanup } = await tempDir())
})
afterEach(() => cleanup())

const chain = (text: string) => {
  const v = verifyRecord(text)
  if (!v.ok) throw new Error(v.problem)
  return v
}

describe('tessera init --record', () => {
  it('records the keyset, each share and the root token as written out, the end and the wipe, and prints the final hash', async () => {
    const keyset = join(dir, 'k.json')
    const record = join(dir, 'init.jsonl')
    const r = await runCli(['init', '--keyset', keyset, '--shares', '3', '--threshold', '2', '--holders', 'Alice,Bob,Carol', '--format', 'json', '--record', record])
    expect(r.code, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as { keys: string[]; keys_base64: string[]; root_token: string }
    const text = await readFile(record, 'utf8')
    const v = chain(text)
    expect(r.stderr).toBe(`record ${record} closed, final hash ${v.finalHash}\n`)
    expect(v.lines.map((l) => l.type)).toEqual([
      'backend_opened', 'keyset_created', 'share_handed_out', 'share_handed_out', 'share_handed_out', 'root_token_revealed', 'init_finished', 'wiped', 'closed',
    ])
    const fingerprint = keysetFingerprint(await readFile(keyset, 'utf8'))
    expect(v.lines[1]!.data).toEqual({ keyset_fingerprint: fingerprint, scheme: 'vault', shares: 3, threshold: 2, holders: ['Alice', 'Bob', 'Carol'] })
    expect(v.lines[3]!.data).toEqual({ share_number: 2, holder: 'Bob', how: 'written_to_output' })
    expect(v.lines[5]!.data).toEqual({ how: 'written_to_output' })
    const secrets = [...out.keys.map((k, i) => secret(`share ${i + 1}`, k)), secret('root token', out.root_token)]
    expect(leaks(secrets, [{ name: 'record', content: text }, { name: 'stderr', content: r.stderr }])).toEqual([])
    expect((await runCli(['record', 'verify', record])).stdout).toBe(`9 events, final hash ${v.finalHash}\n`)
  })

  it('takes --transcript, the old name of --record, and refuses both at once', async () => {
    const record = join(dir, 'alias.jsonl')
    const r = await runCli(['init', '--keyset', join(dir, 'alias.json'), '--shares', '2', '--threshold', '2', '--transcript', record])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toBe(`record ${record} closed, final hash ${chain(await readFile(record, 'utf8')).finalHash}\n`)
    const both = await runCli(['init', '--keyset', join(dir, 'both.json'), '--shares', '2', '--threshold', '2', '--record', join(dir, 'b1.jsonl'), '--transcript', join(dir, 'b2.jsonl')])
    expect(both.code).toBe(2)
    expect(both.stderr).toContain('give --record once (--transcript is its old name)')
    expect(await readdir(dir)).not.toContain('both.json')
  })

  it('creates no keyset when the record cannot be created, and never overwrites one', async () => {
    const record = join(dir, 'taken.jsonl')
    await writeFile(record, 'an earlier ceremony\n')
    const r = await runCli(['init', '--keyset', join(dir, 'k.json'), '--shares', '2', '--threshold', '2', '--record', record])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toContain('a record already exists at')
    expect(await readFile(record, 'utf8')).toBe('an earlier ceremony\n')
    expect((await readdir(dir)).sort()).toEqual(['taken.jsonl'])
  })

  it('records an output that failed: no share was handed out, and no keyset exists', async () => {
    const keyset = join(dir, 'k.json')
    const record = join(dir, 'full.jsonl')
    const fd = openSync('/dev/full', 'w')
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [TESSERA, 'init', '--keyset', keyset, '--shares', '2', '--threshold', '2', '--record', record], { stdio: ['ignore', fd, 'pipe'] })
      let stderr = ''
      child.stderr!.on('data', (d) => (stderr += d))
      child.on('error', reject)
      child.on('close', (code) => resolve({ code, stderr }))
    }).finally(() => closeSync(fd))
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('no keyset was created')
    expect(await readdir(dir)).toEqual(['full.jsonl'])
    const v = chain(await readFile(record, 'utf8'))
    expect(v.lines.map((l) => l.type)).toEqual(['backend_opened', 'keyset_created', 'init_abandoned', 'wiped', 'closed'])
    expect(v.lines[2]!.data).toEqual({ reason: 'output_failed', not_handed_out: [1, 2] })
  })
})
