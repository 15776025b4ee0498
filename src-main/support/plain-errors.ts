import { publicError } from './errors'

/**
 * The one place that says, per stable error code, what an operator reads in
 * the app: a plain sentence of what happened and what to do. The engine keeps
 * Vault's exact wording in its messages (`tessera serve` must answer as Vault
 * does) and a remote server has its own; those words travel beside the
 * sentence as the detail, never as the headline.
 *
 * `AS_WRITTEN` marks codes whose message Tessera already writes for operators
 * where it is raised, because it names what only the throw site knows (a file,
 * a host, a holder's share numbers); it is shown as written.
 */
export const AS_WRITTEN = null

const SET_FAILURE =
  'The shares entered do not open this keyset or server: progress was reset, the attempt and its nonce remain. ' +
  'Each holder should check their share, then enter it again.'

export const PLAIN_SENTENCES: Readonly<Record<string, string | typeof AS_WRITTEN>> = {
  // One attempt and its shares (local engine and remote servers alike).
  duplicate_key: 'This share was already entered in this attempt: progress is unchanged, and the next holder enters theirs.',
  wrong_nonce: 'This nonce belongs to another attempt: check the nonce announced by the ceremony lead.',
  no_attempt: 'No attempt is running (it was cancelled or finished elsewhere, or the server restarted): start a new one.',
  attempt_in_progress: 'An attempt is already running: resume it, or cancel it before starting another.',
  wrong_flow: 'An attempt of another kind is running: finish or cancel it before starting this one.',
  authentication_failed: SET_FAILURE,
  combine_failed: SET_FAILURE,
  invalid_key: 'This is not a share: check that it was copied whole, then enter it again.',
  missing_key: 'No share was entered: type or paste a share first.',
  // Tessera's own refusals of a share name it ("share 2 (Bob)") and how it is wrong.
  share_length: AS_WRITTEN,
  share_unknown: AS_WRITTEN,
  share_mismatch: AS_WRITTEN,
  share_other_holder: AS_WRITTEN,
  no_share_slot: 'This keyset has used all 255 share numbers: no new share can be made.',
  otp_length: 'The one-time password has the wrong length for this server.',
  otp_not_accepted: 'A new key share takes no one-time password: encrypt it to a PGP key, or show it on screen.',
  invalid_pgp_key: 'This PGP key cannot be used to protect the result.',
  unsealed: 'The server is already unsealed: a recovery token is made only while it is sealed in recovery mode.',
  unsupported_flow: 'This backend does not offer this operation.',
  internal: 'Something went wrong inside Tessera.',
  bad_request: AS_WRITTEN,
  card_line: AS_WRITTEN,

  // The keyset file.
  keyset: AS_WRITTEN,
  keyset_damaged: 'The keyset file is damaged: restore it from a backup.',
  keyset_exists: 'A file already exists there: Tessera never overwrites a keyset. Choose another path.',
  keyset_replaced: 'The keyset file now holds another keyset than the one opened: open it again.',
  keyset_write: 'The keyset file could not be written: fix the cause below, then try again.',

  // What a remote server answered.
  uninitialized: 'The server is not initialized yet: run its init first.',
  sealed: 'The server is sealed: a root token or a new share needs an unsealed server (a recovery token, one in recovery mode).',
  standby: 'This server is a standby and did not pass the request to the active node: point the profile at the active node.',
  unavailable: 'The server is unavailable right now: try again shortly.',
  token_required: 'This server needs a Vault token for this ceremony: add a token to the profile (a policy that allows the generate-root endpoints).',
  permission_denied: "The server refused the profile's token: it has expired, or its policy does not allow this on the generate-root endpoints.",
  disabled:
    'The server has this endpoint switched off: on OpenBao 2.6 and later add a token to the profile; on Vault, enable_unauthenticated_access must list "generate-root".',
  not_found: "The server has no such endpoint: check the profile's address and namespace.",
  server_refused: 'The server refused the request.',
  server_error: 'The server failed while handling the request: try again, and check its logs.',
  // How the server was reached: the throw site names the host.
  bad_address: AS_WRITTEN,
  bad_header: AS_WRITTEN,
  insecure_http: AS_WRITTEN,
  insecure_redirect: AS_WRITTEN,
  bad_redirect: AS_WRITTEN,
  redirect_loop: AS_WRITTEN,
  timeout: AS_WRITTEN,
  unreachable: AS_WRITTEN,
  tls: AS_WRITTEN,
  bad_reply: AS_WRITTEN,

  // The app's session writes its own sentences; they name the share, the file or the next step.
  no_backend: AS_WRITTEN,
  backend_closed: AS_WRITTEN,
  no_profiles: AS_WRITTEN,
  no_keyset: AS_WRITTEN,
  keyset_missing: AS_WRITTEN,
  init_running: AS_WRITTEN,
  result_held: AS_WRITTEN,
  no_held_otp: AS_WRITTEN,
  token_mismatch: AS_WRITTEN,
  shared_pgp_key: AS_WRITTEN,
  invalid_input: AS_WRITTEN,
  no_share: AS_WRITTEN,
  share_encrypted: AS_WRITTEN,
  no_card: AS_WRITTEN,
  shares_not_handed_out: AS_WRITTEN,
  share_not_encrypted: AS_WRITTEN,
  unsupported: AS_WRITTEN,
  no_record: AS_WRITTEN,
  transcript_read: AS_WRITTEN,
}

/** Codes where the whole set of shares failed at the threshold, not the holder who gave the last one. */
export const SET_FAILURE_CODES: ReadonlySet<string> = new Set(['authentication_failed', 'combine_failed'])

/** A message written for operators elsewhere, as a sentence: capital first word, final stop. */
export function asSentence(text: string): string {
  // Only a plain first word is capitalized: a path or a host keeps its case.
  const capital = /^[a-z][a-z']*[ ,:;]/.test(text) ? text[0]!.toUpperCase() + text.slice(1) : text
  return /[.!?…]$/.test(capital) ? capital : `${capital}.`
}

export interface OperatorError {
  code: string
  message: string
  /** The server's own words, or the engine's Vault wording, labelled; never the headline. */
  detail?: string
}

/** Any error as the app shows it: the plain sentence first, someone else's words as the detail. */
export function forOperator(err: unknown): OperatorError {
  const { code, message, detail } = publicError(err)
  const sentence = PLAIN_SENTENCES[code]
  // A detail on the error is always a server's words (only the remote client sets one).
  const said = detail ? `Server said: ${detail}` : undefined
  if (typeof sentence !== 'string') return said ? { code, message: asSentence(message), detail: said } : { code, message: asSentence(message) }
  if (said) return { code, message: sentence, detail: said }
  // An internal error's own words are hidden by publicError, and say nothing more.
  if (message === sentence || code === 'internal') return { code, message: sentence }
  return { code, message: sentence, detail: `Engine said: ${message}` }
}
