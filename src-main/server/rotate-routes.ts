import type { LocalEngine } from '../engine/local-engine'
import type { RekeyStatus } from '../engine/rekey'
import { wipe } from '../crypto/wipe'
import { TesseraError } from '../support/errors'
import { assertToken, assertUnsealed, boolField, field, secretField, secretResponse, stringField, type Handler, type Json, type Routes } from './vault-http'

/**
 * OpenBao's authenticated rekey, sys/rotate/root/{init,update,verify,backup}
 * (2.4 and later): the engine's second rekey, with its own state and words.
 * Logical paths: sealed first, then a token; answers in the `data` envelope;
 * every refusal a 400, as OpenBao's logical layer answers them. The recovery
 * twins answer as a Shamir-sealed server does.
 */
export function registerRotateRoutes(routes: Routes, engine: LocalEngine): void {
  const rotation = engine.rotation
  const logical =
    (handler: (body: Json) => Promise<[number, Json?]>): Handler =>
    async (req, body) => {
      assertUnsealed(engine)
      await assertToken(engine, req)
      try {
        const [status, data] = await handler(await body())
        return data === undefined ? [status] : [status, secretResponse(data)]
      } catch (err) {
        // OpenBao's logical layer rebuilds the error from its text and answers 400.
        if (err instanceof TesseraError && err.status === 500 && err.code !== 'keyset_write') throw new TesseraError('logical_refusal', err.message)
        throw err
      }
    }
  const status = (): Json => rotateStatus(rotation.status())
  /** update and verify: both fields required, the key decoded, then the engine's checks. */
  const keyed = (call: (key: Buffer, nonce: string) => Promise<Json>) =>
    logical(async (b) => {
      const typed = secretField(b, 'key')
      try {
        if (!typed) throw new TesseraError('missing_key', "missing required field 'key'")
        const nonce = stringField(b, 'nonce')
        if (!nonce) throw new TesseraError('invalid_input', "missing required field 'nonce'")
        return [200, await call(rotation.parse(typed), nonce)]
      } finally {
        wipe(typed)
      }
    })
  const start = logical(async (b) => {
    if (rotation.status().started) throw new TesseraError('rekey_in_progress', rotation.words.inProgress)
    const checked = await rotation.check({
      shares: frameworkInt(b, 'secret_shares'),
      threshold: frameworkInt(b, 'secret_threshold'),
      pgpKeys: frameworkStrings(b, 'pgp_keys'),
      backup: boolField(b, 'backup'),
      requireVerification: boolField(b, 'require_verification'),
      verifyAll: boolField(b, 'tessera_verify_all'),
      ...(field(b, 'tessera_holders') == null ? {} : { holders: frameworkStrings(b, 'tessera_holders') }),
    })
    return [200, rotateStatus(await rotation.start(checked))]
  })
  routes.set('sys/rotate/root/init', {
    GET: logical(async () => [200, status()]),
    PUT: start,
    POST: start,
    DELETE: logical(async () => {
      await rotation.cancel()
      return [204]
    }),
  })
  const update = keyed(async (key, nonce) => {
    const answer = await rotation.update(key, nonce)
    return 'keys' in answer ? { ...answer, verification_nonce: answer.verification_nonce ?? '' } : rotateStatus(answer)
  })
  routes.set('sys/rotate/root/update', { PUT: update, POST: update })
  const verify = keyed(async (key, nonce) => ({ ...(await rotation.verify(key, nonce)) }))
  routes.set('sys/rotate/root/verify', {
    GET: logical(async () => [200, { ...rotation.verifyStatus() }]),
    PUT: verify,
    POST: verify,
    DELETE: logical(async () => [200, { ...(await rotation.restartVerification()) }]),
  })
  routes.set('sys/rotate/root/backup', {
    GET: logical(async () => {
      const backup = rotation.readBackup()
      if (!backup) throw new TesseraError('no_backup', 'no backed-up keys found')
      return [200, { ...backup }]
    }),
    DELETE: logical(async () => {
      rotation.deleteBackup()
      return [204]
    }),
  })

  const refuse = (message: string) =>
    logical(async () => {
      throw new TesseraError('recovery_unsupported', message)
    })
  const noRecovery = refuse('recovery keys not supported')
  routes.set('sys/rotate/recovery/init', { GET: refuse('unable to look up config: recovery not supported'), PUT: noRecovery, POST: noRecovery, DELETE: logical(async () => [204]) })
  const recoveryUpdate = keyed(async () => {
    throw new TesseraError('recovery_unsupported', 'failed to fetch existing config: recovery not supported')
  })
  routes.set('sys/rotate/recovery/update', { PUT: recoveryUpdate, POST: recoveryUpdate })
  const noRotation = refuse('no rotation in progress')
  routes.set('sys/rotate/recovery/verify', { GET: refuse('no rotation configuration found'), PUT: noRotation, POST: noRotation, DELETE: refuse('no rotation configuration found') })
  routes.set('sys/rotate/recovery/backup', { GET: refuse('no backed-up keys found'), DELETE: logical(async () => [204]) })
}

/** OpenBao's GET sys/rotate/root/init: idle, only what is known; started, the rest (PGP fields only with PGP). */
function rotateStatus(s: RekeyStatus): Json {
  if (!s.started) return { started: false, t: 0, n: 0, required: s.required }
  return {
    nonce: s.nonce,
    started: true,
    t: s.t,
    n: s.n,
    progress: s.progress,
    required: s.required,
    verification_required: s.verification_required,
    verification_nonce: s.verification_nonce ?? '',
    ...(s.pgp_fingerprints ? { pgp_fingerprints: s.pgp_fingerprints, backup: s.backup } : {}),
    ...(s.tessera_verify_all ? { tessera_verify_all: true } : {}),
  }
}

/** OpenBao's framework takes an int as a number or a numeric string. */
function frameworkInt(body: Json, name: string): number {
  const value = field(body, name) ?? 0
  const n = typeof value === 'string' && /^-?\d{1,9}$/.test(value) ? Number(value) : value
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new TesseraError('invalid_input', `failed to parse JSON input: '${name}' must be a whole number`)
  return n
}

/** OpenBao's framework takes a string slice as a list or as one comma-separated string. */
function frameworkStrings(body: Json, name: string): string[] {
  const value = field(body, name) ?? []
  if (typeof value === 'string') return value === '' ? [] : value.split(',')
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new TesseraError('invalid_input', `failed to parse JSON input: '${name}' must be a list of strings`)
  return value
}
