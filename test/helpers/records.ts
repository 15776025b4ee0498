import { expect } from 'vitest'
import { createHash, randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { LocalEngine } from '../../src-main/engine/local-engine'
import { decodeWithOtp } from '../../src-main/decode/decode'
import { lineHash } from '../../src-main/record/chain'
import { AttemptRecord, keysetFingerprint } from '../../src-main/record/attempt-record'
import { recording } from '../../src-main/record/recording-backend'
import { RecordWriter } from '../../src-main/record/writer'
import { secret, type Secret } from './secret-forms'

export const HOLDERS = ['Alice Martin', 'Bob Okafor', 'Chloé Dubois']

/** A local keyset's facts, as the first line records them. */
export const FACTS = { backend: 'local', keyset_fingerprint: lineHash('keyring'), scheme: 'vault', shares: 5, threshold: 3, recovery_mode: false } as const

/** A realistic local root-token ceremony, with a refusal and a reset on the way, closed in order. */
export async function syntheticCeremony(path: string): Promise<RecordWriter> {
  const t = await RecordWriter.create(path, FACTS)
  const nonce = randomUUID()
  await t.append({ type: 'attempt_started', data: { flow: 'root', nonce, protection: { kind: 'otp', length: 28 }, required: 3 } })
  for (const [i, holder] of HOLDERS.entries()) {
    await t.append({ type: 'nonce_confirmed', data: { holder, nonce } })
    await t.append({ type: 'share_accepted', data: { holder, share_number: i + 2, progress: i + 1, required: 3 } })
    if (i === 0) await t.append({ type: 'share_refused', data: { holder, reason: 'duplicate_key', progress: 1 } })
  }
  await t.append({ type: 'completed', data: { flow: 'root', nonce, result_sha256: lineHash('result') } })
  await t.append({ type: 'decoded', data: { kind: 'root token', checksum: '0a1b2c3d' } })
  await t.append({ type: 'wiped', data: {} })
  await t.close()
  return t
}

/**
 * A root-token ceremony against the local engine, recorded as the app records
 * one: a duplicate share, a foreign last share that resets the progress, then
 * three good shares, the decode and the wipe. Returns the record's text and
 * every secret that went through, for the scans.
 */
export async function recordedCeremony(opts: { keysetPath: string; keys: string[]; foreignKeys: string[]; path: string }) {
  const { keys } = opts
  const secrets: Secret[] = []
  const engine = await LocalEngine.open(opts.keysetPath)
  const seal = await engine.sealStatus()
  const t = await RecordWriter.create(opts.path, {
    backend: 'local',
    keyset_fingerprint: keysetFingerprint(await readFile(opts.keysetPath, 'utf8')),
    scheme: engine.keyset.scheme,
    shares: seal.n,
    threshold: seal.t,
    recovery_mode: false,
  })
  const rec = new AttemptRecord(t, engine)
  const recorded = recording(engine, rec)
  const started = await recorded.start('root', {})
  secrets.push(secret('otp', started.otp!.toString('ascii')))
  const nonce = started.status.nonce
  const give = async (name: string, key: string) => (await recorded.update('root', { key: Buffer.from(key), nonce, holder: name })).status
  await rec.nonceConfirmed(HOLDERS[0]!, nonce)
  await give(HOLDERS[0]!, keys[0]!)
  await expect(give(HOLDERS[0]!, keys[0]!)).rejects.toMatchObject({ code: 'duplicate_key' })
  await rec.nonceConfirmed(HOLDERS[1]!, nonce)
  await give(HOLDERS[1]!, keys[1]!)
  // A foreign share: refused as it is entered, and the progress is kept.
  await rec.nonceConfirmed('Eve Intruder', nonce)
  // One whose number this keyset never issued (a foreign share's number may be one it did).
  const foreignKey = await firstAsync(opts.foreignKeys, async (k) => (await engine.keyset.check(Buffer.from(k))).code === 'share_unknown')
  await expect(give('Eve Intruder', foreignKey)).rejects.toMatchObject({ code: 'share_unknown' })
  const last = HOLDERS[2]!
  await rec.nonceConfirmed(last, nonce)
  const s = await give(last, keys[2]!)
  expect(s.complete).toBe(true)
  secrets.push(secret('encoded token', s.encoded_token))
  const resultSha = createHash('sha256').update(s.encoded_token).digest('hex')
  const decoded = decodeWithOtp(s.encoded_token, started.otp!)
  secrets.push(secret('new root token', decoded.value.toString('utf8')))
  await rec.decoded('root token', createHash('sha256').update(decoded.value).digest('hex').slice(0, 8))
  decoded.value.fill(0)
  await rec.wiped()
  return { secrets, resultSha, text: await readFile(t.path, 'utf8'), finalHash: t.finalHash }
}

async function firstAsync<T>(items: T[], test: (item: T) => Promise<boolean>): Promise<T> {
  for (const item of items) if (await test(item)) return item
  throw new Error('no item passes')
}
