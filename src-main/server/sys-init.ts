import { encryptTo, readPublicKey, type PublicKeyInfo } from '../crypto/pgp'
import { initKeyset } from '../engine/init'
import type { Keyset } from '../engine/keyset'
import type { LocalEngine } from '../engine/local-engine'
import { Serial } from '../engine/serial'
import { sealConfigProblem } from '../engine/seal-config'
import { initFacts, type InitFacts, type InitRecord } from '../record/init-record'
import { hasCode, TesseraError } from '../support/errors'
import { uninitializedSealRoutes } from './sys-seal'
import { boolField, field, intField, sealedError, stringField, stringsField, whileSealed, type Handler, type Json, type Routes } from './vault-http'

/**
 * sys/init over HTTP (`tessera serve --uninitialized`): Vault's request and
 * reply, through the one init function the CLI and the app use, so the keyset
 * is durable before the reply and a second init is refused.
 */

/** A server whose keyset PUT sys/init creates. */
export interface InitTarget {
  readonly uninitialized: true
  /** The keyset file to create; it must not exist. */
  readonly path: string
  /** Opens the init's record, with the keyset prepared and before any share leaves; absent when nothing is recorded. */
  record?(facts: InitFacts): Promise<InitRecord>
  /**
   * The engine over the keyset just written, sealed as Vault is after init,
   * which serves every request from then on. It does not throw: a record that
   * can no longer be written refuses the calls that follow, not this reply.
   */
  opened(keyset: Keyset, record: InitRecord | undefined): Promise<LocalEngine>
}

/** Tessera's extensions to the body (Vault clients never send them). */
export const HOLDERS_FIELD = 'tessera_holders'
export const SHARED_KEY_FIELD = 'tessera_allow_shared_key'

interface InitParams {
  shares: number
  threshold: number
  recipients: PublicKeyInfo[]
  /** root_token_pgp_key as sent: read after the already-initialized check, as Vault does. */
  rootTokenKey: string | undefined
  holders: string[] | undefined
  allowSharedKey: boolean
}

const invalidConfig = (reason: string) => new TesseraError('bad_request', `invalid seal configuration: ${reason}`)
const alreadyInitialized = () => new TesseraError('already_initialized', 'Vault is already initialized')

async function readKey(key: string, wrap: (reason: string) => TesseraError): Promise<PublicKeyInfo> {
  try {
    return await readPublicKey(key)
  } catch (err) {
    throw wrap(`error parsing given PGP key: ${hasCode(err, 'pgp') ? err.message : 'unreadable key'}`)
  }
}

/** A PUT sys/init body, checked in Vault's order: types, recovery fields (a Shamir seal has none), the seal config, each PGP key. */
export async function readInitRequest(b: Json): Promise<InitParams> {
  const shares = intField(b, 'secret_shares')
  const threshold = intField(b, 'secret_threshold')
  const pgpKeys = stringsField(b, 'pgp_keys')
  const rootTokenKey = stringField(b, 'root_token_pgp_key') || undefined
  const recovery = [
    ['recovery_shares', intField(b, 'recovery_shares') !== 0],
    ['recovery_threshold', intField(b, 'recovery_threshold') !== 0],
    ['recovery_pgp_keys', stringsField(b, 'recovery_pgp_keys').length > 0],
  ].filter(([, given]) => given)
  if (recovery.length > 0) {
    throw new TesseraError('bad_request', `parameters ${recovery.map(([name]) => name).join(',')} not applicable to seal type shamir`)
  }
  const problem = sealConfigProblem(shares, threshold, pgpKeys.length)
  if (problem) throw invalidConfig(problem)
  const recipients: PublicKeyInfo[] = []
  for (const key of pgpKeys) recipients.push(await readKey(key, invalidConfig))
  const holders = field(b, HOLDERS_FIELD) == null ? undefined : stringsField(b, HOLDERS_FIELD)
  return { shares, threshold, recipients, rootTokenKey, holders, allowSharedKey: boolField(b, SHARED_KEY_FIELD) }
}

/** GET sys/init, and a PUT to a server already initialized: the body is checked first, as Vault does. */
export function initializedInitRoute(): Record<string, Handler> {
  const put: Handler = async (_req, body) => {
    await readInitRequest(await body())
    throw alreadyInitialized()
  }
  return whileSealed({ GET: async () => [200, { initialized: true }], PUT: put, POST: put })
}

/**
 * The routes of a server before init: sys/init and the seal endpoints. A PUT
 * sys/init that creates the keyset hands its engine to `serve`, which answers
 * every later request; inits are run one at a time, so of two sent together
 * exactly one creates the keyset and the other is told it is initialized.
 */
export function uninitializedRoutes(target: InitTarget, serve: (engine: LocalEngine) => void): Routes {
  const serial = new Serial()
  let initialized = false
  const put: Handler = async (_req, body) => {
    const params = await readInitRequest(await body())
    return serial.run(async () => {
      if (initialized) throw alreadyInitialized()
      const { reply, keyset, record } = await createKeyset(target, params)
      initialized = true
      serve(await target.opened(keyset, record))
      return [200, reply]
    })
  }
  const routes = uninitializedSealRoutes()
  routes.set('sys/init', whileSealed({ GET: async () => [200, { initialized }], PUT: put, POST: put }))
  // Vault's rekey status says there is nothing to rekey yet; its other calls find the server sealed.
  const notYet: Handler = async () => {
    throw new TesseraError('uninitialized', 'server is not yet initialized')
  }
  const sealed: Handler = async () => {
    throw sealedError()
  }
  for (const path of ['sys/rekey/init', 'sys/rekey/verify']) {
    routes.set(path, whileSealed({ GET: notYet, PUT: sealed, POST: sealed, DELETE: sealed }))
  }
  return routes
}

async function createKeyset(target: InitTarget, params: InitParams) {
  const rootKey = params.rootTokenKey ? await readKey(params.rootTokenKey, (reason) => new TesseraError('bad_request', reason)) : undefined
  const { shares, threshold, recipients, holders, allowSharedKey } = params
  let record: InitRecord | undefined
  let handedOut = false
  try {
    const { keyset, handedOut: reply } = await initKeyset(
      { path: target.path, shares, threshold, scheme: 'vault', holders, recipients, allowSharedKey },
      async (handed, rootToken, prepared) => {
        // Opened before any share leaves: a keyset whose creation cannot be recorded is not created.
        record = await target.record?.(initFacts(prepared, handed, recipients))
        const forms = handed.map((s) => s.forms())
        // As Vault: base64 of the PGP message whose plaintext is the token.
        const token = rootKey ? Buffer.from(await encryptTo(rootKey.key, rootToken)).toString('base64') : rootToken.toString('ascii')
        for (const s of handed) await record?.shareHandedOut(s.number, 'sent_in_reply')
        await record?.rootTokenRevealed('sent_in_reply')
        handedOut = true
        return { keys: forms.map((f) => f.key), keys_base64: forms.map((f) => f.key_base64), root_token: token }
      },
    )
    return { reply, keyset, record }
  } catch (err) {
    await record?.ended(handedOut ? 'keyset_not_written' : 'output_failed').catch(() => record?.writer.abandon())
    // Another process created the file meanwhile: to a Vault client, that is an initialized server.
    if (hasCode(err, 'keyset_exists')) throw alreadyInitialized()
    throw err
  }
}
