import type { SealStatus } from '../backend'
import { wipe } from '../crypto/wipe'
import type { LocalEngine } from '../engine/local-engine'
import { missingUnsealKey } from '../engine/seal'
import { codecFor, isKeyBoundsError } from '../engine/share-codec'
import { TesseraError } from '../support/errors'
import { VERSION } from '../version'
import { boolField, permissionDenied, secretField, tokenOf, whileSealed, type Handler, type Json, type Routes } from './vault-http'

/**
 * Vault's raw seal endpoints: sys/seal-status, sys/health, sys/unseal and
 * sys/seal. They answer whether the barrier is sealed or not, and before init
 * (see sys-init).
 */

/** What the seal endpoints show of a server: the fields of Vault's seal status that vary. */
export type SealFacts = Pick<SealStatus, 'initialized' | 'sealed' | 't' | 'n' | 'progress' | 'nonce'>

/** A server whose keyset does not exist yet: sealed, no threshold, as Vault before init. */
export const UNINITIALIZED: SealFacts = { initialized: false, sealed: true, t: 0, n: 0, progress: 0, nonce: '' }

/** Vault's seal status JSON (sys/seal-status, and the reply of sys/unseal). */
export function sealStatusBody(s: SealFacts): Json {
  return {
    type: 'shamir',
    initialized: s.initialized,
    sealed: s.sealed,
    t: s.t,
    n: s.n,
    progress: s.progress,
    nonce: s.nonce,
    version: VERSION,
    build_date: '',
    migration: false,
    recovery_seal: false,
    storage_type: 'tessera-keyset',
  }
}

/** sys/health: 200 active, 503 sealed, 501 uninitialized, each overridable by Vault's query parameters. */
function health(facts: () => Promise<SealFacts>): Handler {
  return async (_req, _body, search) => {
    const s = await facts()
    const query = new URLSearchParams(search)
    // Vault's status overrides (load balancers and monitors set them).
    const code = (name: string, fallback: number) => {
      const value = Number(query.get(name))
      return query.has(name) && Number.isInteger(value) && value >= 100 && value <= 599 ? value : fallback
    }
    const status = !s.initialized ? code('uninitcode', 501) : s.sealed ? code('sealedcode', 503) : code('activecode', 200)
    return [
      status,
      {
        initialized: s.initialized,
        sealed: s.sealed,
        standby: false,
        performance_standby: false,
        replication_performance_mode: 'disabled',
        replication_dr_mode: 'disabled',
        server_time_utc: Math.floor(Date.now() / 1000),
        version: VERSION,
      },
    ]
  }
}

/**
 * A sys/unseal body in Vault's order: `reset` wins over a key; then the key
 * must be there, and a seal migration is refused (a keyset has no other seal).
 * Returns the key as bytes, which the caller wipes; null for a reset.
 */
export function unsealRequest(b: Json): Buffer | null {
  if (boolField(b, 'reset')) return null
  const migrate = boolField(b, 'migrate')
  const key = secretField(b, 'key')
  if (!key) throw missingUnsealKey()
  if (migrate) {
    wipe(key)
    throw new TesseraError('seal_migration', "can't perform a seal migration, no migration seal found")
  }
  return key
}

/** The seal endpoints of a server over `engine`. */
export function sealRoutes(engine: LocalEngine): Routes {
  const facts = async (): Promise<SealFacts> => engine.sealStatus()
  const status = async () => sealStatusBody(await facts())

  const unseal: Handler = async (_req, body) => {
    const key = unsealRequest(await body())
    if (key === null) await engine.resetUnseal()
    else {
      try {
        await engine.unseal(key)
      } finally {
        wipe(key)
      }
    }
    return [200, await status()]
  }

  // Sealing a sealed server is a no-op that needs no token, as in Vault.
  const seal: Handler = async (req) => {
    if (engine.sealed) return [204]
    const token = tokenOf(req)
    const info = token ? await engine.lookupToken(token) : undefined
    if (info?.type !== 'root') throw permissionDenied()
    await engine.sealBarrier()
    return [204]
  }

  return new Map([
    ['sys/seal-status', whileSealed({ GET: async () => [200, await status()] })],
    ['sys/health', whileSealed({ GET: health(facts) })],
    ['sys/unseal', whileSealed({ PUT: unseal, POST: unseal })],
    ['sys/seal', whileSealed({ PUT: seal, POST: seal })],
  ])
}

/** Vault decodes an unseal key (hex, else base64) before it finds there is nothing to unseal; the length comes later. */
function checkDecodes(key: Buffer): void {
  try {
    wipe(codecFor('vault', 2).parse(key))
  } catch (err) {
    if (!isKeyBoundsError(err)) throw err
  }
}

/** The seal endpoints before init: nothing to unseal yet. */
export function uninitializedSealRoutes(): Routes {
  const status = async () => [200, sealStatusBody(UNINITIALIZED)] as [number, Json]
  const unseal: Handler = async (_req, body) => {
    const key = unsealRequest(await body())
    if (key === null) return status()
    try {
      checkDecodes(key)
    } finally {
      wipe(key)
    }
    throw new TesseraError('uninitialized', 'Vault is not initialized')
  }
  return new Map([
    ['sys/seal-status', whileSealed({ GET: status })],
    ['sys/health', whileSealed({ GET: health(async () => UNINITIALIZED) })],
    ['sys/unseal', whileSealed({ PUT: unseal, POST: unseal })],
    ['sys/seal', whileSealed({ PUT: async () => [204], POST: async () => [204] })],
  ])
}
