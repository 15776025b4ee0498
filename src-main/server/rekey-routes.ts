import type { LocalEngine } from '../engine/local-engine'
import { wipe } from '../crypto/wipe'
import { TesseraError } from '../support/errors'
import { assertToken, assertUnsealed, boolField, field, intField, secretField, secretResponse, stringField, stringsField, type Handler, type Json, type Routes, whileSealed } from './vault-http'

/**
 * Vault's legacy rekey endpoints over the engine's rekey: sys/rekey/{init,
 * update,verify} (raw handlers: no token, checks in Vault's order, sealed
 * among them) and sys/rekey/backup (a logical path: sealed, then a token).
 * Tessera's extensions: `tessera_holders` on init names the new shares'
 * holders, `tessera_verify_all` asks that every new share be entered back.
 * With `requireToken`, the unauthenticated ones are refused as OpenBao 2.5
 * refuses them by default.
 */
export function registerRekeyRoutes(routes: Routes, engine: LocalEngine, opts: { requireToken: boolean }): void {
  const rekey = engine.rekey
  const unsealed = () => assertUnsealed(engine)

  const start: Handler = async (_req, body) => {
    const b = await body()
    const checked = await rekey.check({
      shares: intField(b, 'secret_shares'),
      threshold: intField(b, 'secret_threshold'),
      pgpKeys: stringsField(b, 'pgp_keys'),
      backup: boolField(b, 'backup'),
      requireVerification: boolField(b, 'require_verification'),
      verifyAll: boolField(b, 'tessera_verify_all'),
      ...(field(b, 'tessera_holders') == null ? {} : { holders: stringsField(b, 'tessera_holders') }),
    })
    unsealed()
    return [200, await rekey.start(checked)]
  }
  /** update and verify: the key decoded, then sealed, then the engine's checks. */
  const keyed =
    (call: (key: Buffer, nonce: string) => Promise<unknown>): Handler =>
    async (_req, body) => {
      const b = await body()
      const nonce = stringField(b, 'nonce') ?? ''
      const typed = secretField(b, 'key') ?? Buffer.alloc(0)
      try {
        const key = rekey.parse(typed)
        try {
          unsealed()
        } catch (err) {
          wipe(key)
          throw err
        }
        return [200, await call(key, nonce)]
      } finally {
        wipe(typed)
      }
    }
  const legacy: Record<string, Record<string, Handler>> = {
    'sys/rekey/init': {
      GET: async () => (unsealed(), [200, rekey.status()]),
      PUT: start,
      POST: start,
      DELETE: async () => {
        unsealed()
        await rekey.cancel()
        return [204]
      },
    },
    'sys/rekey/update': { PUT: keyed((key, nonce) => rekey.update(key, nonce)), POST: keyed((key, nonce) => rekey.update(key, nonce)) },
    'sys/rekey/verify': {
      GET: async () => (unsealed(), [200, rekey.verifyStatus()]),
      PUT: keyed((key, nonce) => rekey.verify(key, nonce)),
      POST: keyed((key, nonce) => rekey.verify(key, nonce)),
      DELETE: async () => (unsealed(), [200, await rekey.restartVerification()]),
    },
  }
  // Vault's raw handlers check sealed in their own order; disabled, they are logical paths again.
  for (const [path, handlers] of Object.entries(legacy)) routes.set(path, opts.requireToken ? disabled(engine, handlers) : whileSealed(handlers))

  // A Shamir-sealed server has no recovery keys: Vault's words for each path.
  const noRecovery = () => new TesseraError('recovery_unsupported', 'recovery rekeying not supported')
  const refuseRecovery: Handler = async () => {
    throw noRecovery()
  }
  const recoveryUpdate = keyed(async () => {
    throw new TesseraError('recovery_unsupported', 'failed to fetch existing recovery config: recovery not supported')
  })
  if (!opts.requireToken) {
    const every = { GET: refuseRecovery, PUT: refuseRecovery, POST: refuseRecovery, DELETE: refuseRecovery }
    routes.set('sys/rekey-recovery-key/init', whileSealed(every))
    routes.set('sys/rekey-recovery-key/verify', whileSealed({ ...every }))
    routes.set('sys/rekey-recovery-key/update', whileSealed({ PUT: recoveryUpdate, POST: recoveryUpdate }))
  }

  const authenticated = (handler: (req: Parameters<Handler>[0]) => Promise<[number, unknown?]>): Handler => async (req) => {
    unsealed()
    await assertToken(engine, req)
    return handler(req)
  }
  const noBackup = () => new TesseraError('no_backup', 'no backed-up keys found')
  routes.set('sys/rekey/backup', {
    GET: authenticated(async () => {
      const backup = rekey.readBackup()
      if (!backup) throw noBackup()
      return [200, secretResponse(backup as unknown as Json)]
    }),
    DELETE: authenticated(async () => {
      rekey.deleteBackup()
      return [204]
    }),
  })
  routes.set('sys/rekey/recovery-key-backup', {
    GET: authenticated(async () => {
      throw noBackup()
    }),
    DELETE: authenticated(async () => [204]),
  })
}

/**
 * OpenBao 2.5's default (disable_unauthed_rekey_endpoints): the path reaches
 * the logical backend, which answers sealed first, then 405, token or not.
 */
function disabled(engine: LocalEngine, handlers: Record<string, Handler>): Record<string, Handler> {
  const refuse: Handler = async () => {
    assertUnsealed(engine)
    throw new TesseraError('method', 'unsupported operation')
  }
  return Object.fromEntries(Object.keys(handlers).map((method) => [method, refuse]))
}
