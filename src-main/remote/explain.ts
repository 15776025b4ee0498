import { TesseraError, type RaisedCode } from '../support/errors'
import { redact } from '../support/redact'

export interface RefusalContext {
  path: string
  method: string
  status: number
  /** The server's own error strings, from {"errors": [...]}. */
  errors: string[]
  hasToken: boolean
}

const CAPABILITY: Record<string, string> = { GET: 'read', PUT: 'update', POST: 'update', DELETE: 'delete' }

/**
 * What a 400 from Vault or OpenBao means, by its words (which differ between
 * versions and forks), as the engine's stable codes: the app then says the same
 * plain sentence for a remote server as for the local engine.
 */
const VAULT_400: Array<[RegExp, RaisedCode]> = [
  [/already initialized/i, 'already_initialized'],
  [/invalid seal configuration|not applicable to seal type/i, 'bad_request'],
  [/already been provided|duplicate (unseal )?key/i, 'duplicate_key'],
  [/nonce/i, 'wrong_nonce'],
  [/incorrect strategy|another type/i, 'wrong_flow'],
  [/already in progress/i, 'attempt_in_progress'],
  [/no .*(generation|operation|attempt).* in progress|not in progress/i, 'no_attempt'],
  [/already unsealed/i, 'unsealed'],
  [/aborted|failed to (compute|verify)|root key verification|invalid (unseal|root) key|unseal failed/i, 'authentication_failed'],
  [/must be specified/i, 'missing_key'],
  [/otp .*(wrong )?length/i, 'otp_length'],
  [/pgp/i, 'invalid_pgp_key'],
  [/invalid key|valid hex or base64|shorter than minimum|longer than maximum/i, 'invalid_key'],
]

/**
 * Turns a server's refusal into a sentence that names what is missing — a token,
 * a policy, a server setting — never a bare status code. The server's own words
 * travel as the error's detail (redacted and bounded by TesseraError).
 */
export function explainRefusal(r: RefusalContext): TesseraError {
  // A server may echo what it was sent (a share): its words are redacted wherever they go.
  const said = redact(r.errors.filter(Boolean).join('; '))
  const refusal = explain(r, said)
  return new TesseraError(refusal.code, refusal.message, said || `HTTP ${r.status}, no message`)
}

interface Refusal {
  message: string
  code: RaisedCode
}

const refused = (message: string, code: RaisedCode): Refusal => ({ message, code })

/** sys/rekey/* and sys/rotate/root/*: the rekey's base path, and the leaf called. */
const REKEY_PATH = /^(sys\/rekey|sys\/rotate\/root)\/(init|update|verify|backup)$/

/**
 * A rekey's refusals by their words, whatever the status (Vault answers some
 * with a 500, OpenBao's sys/rotate/root every one with a 400); the legacy and
 * the rotate API say the same things in other words (engine/rekey-words.ts).
 */
const REKEY_WORDS: Array<[RegExp, RaisedCode, string]> = [
  [/already in progress/i, 'rekey_in_progress', 'A rekey is already running on the server (started earlier, or by someone else): finish it, or cancel it, before starting another.'],
  [/verification must be performed/i, 'rekey_verify_pending', 'The new shares are made and wait for verification: enter them on the verification, under its nonce.'],
  [/incorrect nonce/i, 'wrong_nonce', "The nonce is not the one of the rekey running on the server: it was cancelled and started again, perhaps elsewhere; read the server's rekey status again."],
  [/verification failed/i, 'rekey_verify_failed', 'The new shares entered do not combine into the new key: the verification starts again under a new nonce, and the old shares still work.'],
  [/no .*verification in progress/i, 'no_rekey_verification', 'The rekey on the server has no new shares to verify yet: enter the current shares first.'],
  [/no (barrier )?rekey|no rotation|configuration found/i, 'no_rekey', 'No rekey is running on the server (it was cancelled or completed, perhaps elsewhere): start a new one.'],
  [/no backed-up keys/i, 'no_backup', 'The server keeps no backup of new shares: a rekey keeps one only when asked to, with PGP keys.'],
  [/already been provided/i, 'duplicate_key', 'This share was already entered in this rekey: progress is unchanged.'],
  [/seal configuration|pgp/i, 'rekey_config', 'The server refused the new share count, threshold or PGP keys; nothing was changed.'],
  [/failed to (read|compute|decrypt)|invalid key|authentication failed/i, 'authentication_failed', 'The shares entered do not open the server: progress was reset; the rekey and its nonce remain.'],
]

function explainRekey(r: RefusalContext, said: string, base: string): Refusal | undefined {
  if (r.status === 400 || r.status === 500) {
    const found = REKEY_WORDS.find(([words]) => words.test(said))
    return found ? refused(found[2], found[1]) : undefined
  }
  if ((r.status === 401 || r.status === 403) && !r.hasToken) {
    if (base === 'sys/rotate/root') {
      return refused('This server offers sys/rotate/root (OpenBao 2.4 and later), which needs a Vault token: add a token to the profile (its policy must allow read, update and delete on sys/rotate/root/*).', 'rekey_token_required')
    }
    return refused(`The server refuses ${r.path} without a token (Vault 2.x asks one for a rekey, and a backup always needs one): add a token to the profile.`, 'rekey_token_required')
  }
  if (r.status === 401 || r.status === 403) {
    return refused(`The server refused the profile's token for ${r.path}: the token has expired or its policy does not allow ${CAPABILITY[r.method] ?? r.method} on ${base}/*.`, 'rekey_permission_denied')
  }
  if (r.status === 405 && base === 'sys/rekey') {
    return refused('The server has the unauthenticated sys/rekey/* switched off ("unsupported operation"; OpenBao 2.5 and later: disable_unauthed_rekey_endpoints): add a token to the profile, and Tessera rekeys through the authenticated sys/rotate/root/*.', 'rekey_disabled')
  }
  if (r.status === 503 && /sealed/i.test(said)) return refused('The server is sealed: a rekey needs an unsealed server; unseal it first.', 'sealed')
  return undefined
}

function explain(r: RefusalContext, said: string): Refusal {
  const rekey = REKEY_PATH.exec(r.path)
  const known = rekey ? explainRekey(r, said, rekey[1]!) : undefined
  if (known) return known
  const endpoint = r.path.replace(/\/(attempt|update)$/, '')
  if (/disabled/i.test(said) && r.status >= 400 && r.status < 500) {
    return refused(
      `The server has ${endpoint} switched off ("${said}"): on OpenBao, disable_unauthed_generate_root_endpoints turns it off on listeners (use a token with sys/generate-root-token on 2.6+); on Vault, enable_unauthenticated_access must list "generate-root".`,
      'disabled',
    )
  }
  switch (r.status) {
    case 400:
      if (/not yet initialized/i.test(said)) return refused('The server is not initialized yet: run its init first.', 'uninitialized')
      return refused(said || `The server rejected the request to ${r.path}.`, VAULT_400.find(([words]) => words.test(said))?.[1] ?? 'server_refused')
    case 401:
    case 403:
      if (!r.hasToken) {
        if (endpoint === 'sys/generate-root-token') {
          return refused('This server offers sys/generate-root-token, which needs a Vault token: add a token to the profile (its policy must allow read, update and delete on sys/generate-root-token/*).', 'token_required')
        }
        return refused(
          `The server refuses unauthenticated ${endpoint}: Vault 2.x needs a token unless its enable_unauthenticated_access setting lists "generate-root", and OpenBao 2.5.3+ turns these endpoints off on listeners (disable_unauthed_generate_root_endpoints). Add a token to the profile.`,
          'token_required',
        )
      }
      return refused(
        `The server refused the profile's token for ${r.path}: the token has expired or its policy does not allow ${CAPABILITY[r.method] ?? r.method} on ${endpoint}/*.`,
        'permission_denied',
      )
    case 404:
      if (endpoint === 'sys/generate-share') return refused('This server does not support sys/generate-share: only some Vault forks offer it.', 'unsupported_flow')
      if (endpoint === 'sys/generate-recovery-token') {
        return refused('This server does not offer sys/generate-recovery-token: only a server started in recovery mode does.', 'unsupported_flow')
      }
      if (endpoint === 'sys/generate-root-token') return refused('This server does not offer sys/generate-root-token (OpenBao 2.6 and later do).', 'unsupported_flow')
      return refused(`This server has no ${r.path}.`, 'not_found')
    case 405:
      return refused(
        `The server does not allow ${r.method} on ${r.path}: the endpoint is switched off on this listener (OpenBao: disable_unauthed_generate_root_endpoints; Vault: enable_unauthenticated_access).`,
        'disabled',
      )
    case 429:
    case 472:
    case 473:
      return refused('The server is a standby and did not redirect to the active node: point the profile at the active node.', 'standby')
    case 503:
      if (/sealed/i.test(said)) {
        return refused('The server is sealed: generate-root needs an unsealed server (a recovery token needs a server in recovery mode).', 'sealed')
      }
      return refused(`The server is unavailable${said ? `: ${said}` : ''}.`, 'unavailable')
    default:
      return refused(`The server failed on ${r.path} (HTTP ${r.status})${said ? `: ${said}` : ''}.`, 'server_error')
  }
}
