/**
 * Every error code Tessera gives, with the HTTP status it is answered with and
 * a sentence an operator reads: what happened and what to do. A code missing
 * here does not compile where it is thrown; an entry without its sentence does
 * not compile here. docs/errors.md is this table, kept in step by a test.
 *
 * `headline: 'message'` marks codes whose throw site writes a message for
 * operators that names what only it knows (a file, a host, a holder's share):
 * the app shows that message, and the sentence is what the code means.
 */
export interface ErrorEntry {
  /** The HTTP status it is answered with; null when no Tessera server answers (the page lost its host). */
  readonly status: number | null
  readonly sentence: string
  readonly headline?: 'message'
  /** The command line's exit status for it, where not 1. */
  readonly exit?: number
}

const SET_FAILURE =
  'The shares entered do not open this keyset or server: progress was reset, the attempt and its nonce remain. ' +
  'Each holder should check their share, then enter it again.'

const AS_WRITTEN = { headline: 'message' } as const

export const ERRORS = {
  // One attempt and its shares (local engine and remote servers alike).
  duplicate_key: { status: 400, sentence: 'This share was already entered in this attempt: progress is unchanged, and the next holder enters theirs.' },
  wrong_nonce: { status: 400, sentence: 'This nonce belongs to another attempt: check the nonce announced by the ceremony lead.' },
  no_attempt: { status: 400, sentence: 'No attempt is running (it was cancelled or finished elsewhere, or the server restarted): start a new one.' },
  attempt_in_progress: { status: 400, sentence: 'An attempt is already running: resume it, or cancel it before starting another.' },
  wrong_flow: { status: 400, sentence: 'An attempt of another kind is running: finish or cancel it before starting this one.' },
  authentication_failed: { status: 400, sentence: SET_FAILURE },
  combine_failed: { status: 400, sentence: SET_FAILURE },
  invalid_key: { status: 400, sentence: 'This is not a share: check that it was copied whole, then enter it again.' },
  key_bounds: { status: 400, sentence: 'This is not a share: it is shorter or longer than any share can be; check that it was copied whole, then enter it again.' },
  missing_key: { status: 400, sentence: 'No share was entered: type or paste a share first.' },
  share_form: { status: 400, sentence: 'This is not a share of this form: the message names the first character that is wrong; correct it, then enter the share again.', ...AS_WRITTEN },
  share_length: { status: 400, sentence: 'This share has the wrong length for this keyset: a character or a line is missing or extra; enter it again.', ...AS_WRITTEN },
  share_unknown: { status: 400, sentence: 'This share is not one of this keyset\'s shares: check that the right keyset is open and that the share belongs to it.', ...AS_WRITTEN },
  share_mismatch: { status: 400, sentence: 'This share does not match the share of that number: it is probably mistyped; check it, then enter it again.', ...AS_WRITTEN },
  share_replaced: { status: 400, sentence: 'This share was replaced by a rekey: the message says which generation it is from and when it was replaced; its holder now holds a new share.', ...AS_WRITTEN },
  share_other_holder: { status: 400, sentence: 'This share belongs to another holder: each holder enters their own share.', ...AS_WRITTEN },
  card_line: { status: 400, sentence: 'A line of the share card does not match its check: a character on that line is mistyped; enter the line again.', ...AS_WRITTEN },
  no_share_slot: { status: 400, sentence: 'This keyset has used all 255 share numbers: no new share can be made.' },
  otp_length: { status: 400, sentence: 'The one-time password has the wrong length for this server.' },
  otp_not_accepted: { status: 400, sentence: 'A new key share takes no one-time password: encrypt it to a PGP key, or show it on screen.' },
  invalid_pgp_key: { status: 400, sentence: 'This PGP key cannot be used to protect the result.' },
  shared_pgp_key: { status: 400, sentence: 'Two shares would be encrypted to the same PGP key, so one person would hold both: give each holder their own key, or confirm it.', ...AS_WRITTEN },
  unsealed: { status: 400, sentence: 'The server is already unsealed: there is no unseal to reset, and a recovery token is made only while it is sealed in recovery mode.' },
  already_initialized: { status: 400, sentence: 'The server is already initialized (perhaps by someone else since it was connected): its shares exist, and it is never initialized twice. Connect again to see its state.' },
  seal_migration: { status: 500, sentence: 'A keyset has one seal: there is nothing to migrate to or from; unseal without migrate.' },
  unsupported_flow: { status: 404, sentence: 'This backend does not offer this operation.' },

  // A rekey (sys/rekey/*): new shares replace the old.
  no_rekey: { status: 400, sentence: 'No rekey is running (it was cancelled or completed, or the server restarted): start a new one.', ...AS_WRITTEN },
  rekey_in_progress: { status: 400, sentence: 'A rekey is already running: finish it, or cancel it before starting another.' },
  rekey_request: { status: 400, sentence: 'The rekey request was refused: the message names the field and what is wrong; nothing was changed.', ...AS_WRITTEN },
  rekey_config: { status: 500, sentence: "The new shares or threshold are outside Vault's limits (Vault answers these with a 500): nothing was changed.", ...AS_WRITTEN },
  rekey_verify_pending: { status: 400, sentence: 'The new shares are made and wait for verification: enter them on the verification, with its nonce.', ...AS_WRITTEN },
  no_rekey_verification: { status: 400, sentence: 'The rekey has no new shares to verify yet: enter the current shares first.', ...AS_WRITTEN },
  rekey_verify_failed: { status: 400, sentence: 'The new shares entered do not combine into the new key: verification starts again with a new nonce; the old shares still work.', ...AS_WRITTEN },
  rekey_failed: { status: 500, sentence: 'The shares entered do not open this keyset: progress was reset, the rekey and its nonce remain.', ...AS_WRITTEN },
  logical_refusal: { status: 400, sentence: 'The server refused the request: the message says why; nothing was changed.', ...AS_WRITTEN },
  rekey_superseded: { status: 409, sentence: 'Another program rekeyed or replaced this keyset first: this rekey was dropped and its new shares are void.', ...AS_WRITTEN },
  recovery_unsupported: { status: 400, sentence: 'A keyset has no recovery keys (a Shamir seal): there is nothing to rekey or back up here.', ...AS_WRITTEN },
  no_backup: { status: 400, sentence: 'No backup of new shares is held: a rekey keeps one only when asked to (backup with PGP keys).', ...AS_WRITTEN },

  // The keyset file.
  keyset: { status: 400, sentence: 'The keyset or the request to make one was refused: the message names the file or the field, and how to fix it.', ...AS_WRITTEN },
  keyset_damaged: { status: 400, sentence: 'The keyset file is damaged: restore it from a backup.' },
  keyset_exists: { status: 409, sentence: 'A file already exists there: Tessera never overwrites a keyset. Choose another path.' },
  keyset_replaced: { status: 409, sentence: 'The keyset file now holds another keyset than the one opened: open it again.' },
  keyset_write: { status: 500, sentence: 'The keyset file could not be written: fix the cause below, then try again.' },
  token_limit: { status: 400, sentence: 'This keyset records as many root tokens as it can hold: revoke tokens no longer used, then start again.', ...AS_WRITTEN },
  keyset_missing: { status: 404, sentence: 'There is no keyset at that path: check the path, or create a keyset.', ...AS_WRITTEN },

  // Files Tessera reads or writes.
  read_refused: { status: 400, sentence: 'A file was refused before it was read: it is not a regular file, or it is larger than such a file may be.', ...AS_WRITTEN },
  file_error: { status: 500, sentence: 'A file could not be written: the message names it and the reason; fix that, then try again.', ...AS_WRITTEN },
  locked: { status: 409, sentence: 'Another Tessera has this file open: close it there, then try again.', ...AS_WRITTEN },
  lock_lost: { status: 500, sentence: 'The file\'s lock was lost while Tessera was writing it (removed by someone, or taken over after a suspend): the message says whether the change was written; open the file again before going on.', ...AS_WRITTEN },
  system_error: { status: 500, sentence: 'The operating system refused an operation (no space, no permission …): fix the cause named, then try again.', ...AS_WRITTEN },

  // What a remote server answered.
  uninitialized: { status: 400, sentence: 'The server is not initialized yet: run its init first.' },
  sealed: { status: 503, sentence: 'The server is sealed: a root token, a new share or a rekey needs an unsealed server (a recovery token, one in recovery mode).' },
  standby: { status: 503, sentence: 'This server is a standby and did not pass the request to the active node: point the profile at the active node.' },
  unavailable: { status: 503, sentence: 'The server is unavailable right now: try again shortly.' },
  token_required: {
    status: 403,
    sentence: 'This server needs a Vault token for this ceremony: add a token to the profile (a policy that allows the generate-root endpoints).',
  },
  permission_denied: {
    status: 403,
    sentence: "The server refused the profile's token: it has expired, or its policy does not allow this on the generate-root endpoints.",
  },
  disabled: {
    status: 405,
    sentence:
      'The server has this endpoint switched off: on OpenBao 2.6 and later add a token to the profile; on Vault, enable_unauthenticated_access must list "generate-root".',
  },
  rekey_token_required: {
    status: 403,
    sentence: 'This server needs a Vault token for a rekey: add a token to the profile (a policy that allows sys/rotate/root/* on OpenBao, sys/rekey/* on Vault).',
    ...AS_WRITTEN,
  },
  rekey_permission_denied: {
    status: 403,
    sentence: "The server refused the profile's token for the rekey: it has expired, or its policy does not allow this on sys/rotate/root/* (OpenBao) or sys/rekey/* (Vault).",
    ...AS_WRITTEN,
  },
  rekey_disabled: {
    status: 405,
    sentence: 'The server has its unauthenticated sys/rekey/* switched off (OpenBao 2.5 and later): add a token to the profile, and Tessera rekeys through sys/rotate/root/*.',
    ...AS_WRITTEN,
  },
  not_found: { status: 404, sentence: "The server has no such endpoint or file: check the profile's address and namespace." },
  server_refused: { status: 400, sentence: 'The server refused the request.' },
  server_error: { status: 502, sentence: 'The server failed while handling the request: try again, and check its logs.' },

  // How the server was reached: the throw site names the host.
  bad_address: { status: 400, sentence: "The profile's server address is not a usable http(s) address: correct it in the profile.", ...AS_WRITTEN },
  bad_header: { status: 400, sentence: 'A header of the profile cannot be sent (a name or value with characters HTTP does not allow): correct it in the profile.', ...AS_WRITTEN },
  bad_ca: { status: 400, sentence: "The profile's CA file cannot be read as PEM certificates: point the profile at the CA certificate of the server.", ...AS_WRITTEN },
  insecure_http: { status: 400, sentence: 'The profile sends a token over plain http to a host that is not this machine: use https.', ...AS_WRITTEN },
  insecure_redirect: { status: 502, sentence: 'The server redirected from https to plain http: Tessera does not follow it; point the profile at the https address.', ...AS_WRITTEN },
  bad_redirect: { status: 502, sentence: 'The server redirected somewhere Tessera does not follow: point the profile at the address it redirects to.', ...AS_WRITTEN },
  redirect_loop: { status: 502, sentence: "The server redirected too many times: check the profile's address and the server's listener.", ...AS_WRITTEN },
  timeout: { status: 504, sentence: 'The server did not answer in time: check that it is running and reachable, then try again.', ...AS_WRITTEN },
  unreachable: { status: 502, sentence: 'The server could not be reached: check the address, the network and that the server is running.', ...AS_WRITTEN },
  tls: { status: 502, sentence: "The TLS connection to the server failed (its certificate is not trusted or does not name it): add its CA file to the profile.", ...AS_WRITTEN },
  bad_reply: { status: 502, sentence: 'The server answered with something that is not a Vault reply: check that the address points at Vault or OpenBao.', ...AS_WRITTEN },
  profile: { status: 400, sentence: 'The server profiles file or a profile in it was refused: the message names the field and what is expected.', ...AS_WRITTEN },
  server_checks: {
    status: 400,
    sentence: "The server check file was refused or could not be written: the message names the file and what is wrong; the server's shares are not checked from it until that is fixed.",
    ...AS_WRITTEN,
  },
  keychain_unavailable: { status: 503, sentence: 'No system keychain answers: profile tokens are kept in memory until Tessera stops.', ...AS_WRITTEN },

  // The app's steps: the throw site names the share, the file or the next step.
  no_backend: { status: 409, sentence: 'No backend is open: open or create a keyset, or connect to a server.', ...AS_WRITTEN },
  backend_closed: { status: 409, sentence: 'The keyset or server was closed (another was opened, or Tessera is stopping): open it again.', ...AS_WRITTEN },
  no_profiles: { status: 409, sentence: 'Server profiles are not available in this window.', ...AS_WRITTEN },
  no_keyset: { status: 409, sentence: 'This needs a local keyset: open one first.', ...AS_WRITTEN },
  no_seal: { status: 409, sentence: 'Unseal is for a server: a local keyset has no seal. Connect to the server first.', ...AS_WRITTEN },
  unseal_busy: { status: 409, sentence: 'A share is still on its way to the nodes: wait for what each node made of it.', ...AS_WRITTEN },
  init_running: { status: 409, sentence: 'The shares of the keyset just created are still being handed out: finish that first.', ...AS_WRITTEN },
  result_held: { status: 409, sentence: 'A finished result is still held: store it, then wipe it, before starting another attempt.', ...AS_WRITTEN },
  no_held_otp: { status: 409, sentence: 'No one-time password is held for this result: decode it with the one written down at the start.', ...AS_WRITTEN },
  token_mismatch: { status: 422, sentence: 'This token is not the one this keyset or server made: check that the right one was decoded.', ...AS_WRITTEN },
  no_share: { status: 404, sentence: 'No new share is held: the ceremony is not finished, or its result was wiped.', ...AS_WRITTEN },
  share_encrypted: { status: 409, sentence: "This share is encrypted to its holder's PGP key: save its file instead of printing a card.", ...AS_WRITTEN },
  share_not_encrypted: { status: 409, sentence: 'This share is not encrypted: it is shown on screen, not saved to a file.', ...AS_WRITTEN },
  no_card: { status: 409, sentence: "No share card was shown: show the share's card first.", ...AS_WRITTEN },
  shares_not_handed_out: { status: 409, sentence: 'Some shares were never handed out: hand them out, or confirm abandoning them.', ...AS_WRITTEN },
  unsupported: { status: 501, sentence: 'This window cannot do this (printing goes through the browser here).', ...AS_WRITTEN },
  decode: { status: 400, sentence: 'The value could not be decoded: the message says which input is wrong (the encoded value, the OTP or the PGP key).', ...AS_WRITTEN },
  pgp: { status: 400, sentence: 'A PGP key or message was refused: the message names which and why.', ...AS_WRITTEN },
  invalid_input: { status: 400, sentence: 'A field of the request is missing or has the wrong form: the message names it.', ...AS_WRITTEN },
  bad_request: { status: 400, sentence: 'The request was refused: the message names the field and what is wrong with it.', ...AS_WRITTEN },
  internal: { status: 500, sentence: 'Something went wrong inside Tessera.' },

  // Decrypting with the holder's gpg (its agent, or a smartcard): the throw site names the key id the message is for.
  gpg_missing: { status: 400, sentence: 'GnuPG (gpg) is not installed here: install GnuPG 2.2 or later, or decode with the private key file.', ...AS_WRITTEN },
  gpg_no_secret_key: { status: 400, sentence: 'No secret key for this message is in gpg: the message names the key id it is encrypted to.', ...AS_WRITTEN },
  gpg_card: { status: 400, sentence: 'The secret key is on a smartcard gpg cannot use (no card, another card, or a blocked PIN): the message says which and what to do.', ...AS_WRITTEN },
  gpg_cancelled: { status: 400, sentence: 'The PIN or passphrase entry was cancelled: nothing was decrypted; decode again to enter it.', ...AS_WRITTEN },
  gpg_bad_passphrase: { status: 400, sentence: 'The passphrase or PIN was wrong: nothing was decrypted; decode again.', ...AS_WRITTEN },
  gpg_bad_data: { status: 400, sentence: 'The encoded value is not a message gpg can decrypt: it is damaged, cut short, or not a Vault result.', ...AS_WRITTEN },
  gpg_timeout: { status: 504, sentence: 'Decrypting with gpg took too long (a PIN entry left open?): gpg was stopped; decode again and answer the PIN entry.', ...AS_WRITTEN },
  gpg_busy: { status: 409, sentence: 'A gpg decryption is already running (its PIN entry may be waiting): answer or cancel it, then decode again.', ...AS_WRITTEN },
  gpg_failed: { status: 400, sentence: "Decrypting with gpg failed: the message gives gpg's reason.", ...AS_WRITTEN },

  // The ceremony record.
  no_record: { status: 404, sentence: 'There is no ceremony record to show: none was started, or it was closed.', ...AS_WRITTEN },
  record_read: { status: 500, sentence: 'The ceremony record could not be read: the message names the file and the reason.', ...AS_WRITTEN },
  record_write: { status: 500, sentence: 'The ceremony record could not be written: fix the cause named, then try again.', ...AS_WRITTEN },
  record_exists: { status: 409, sentence: 'A ceremony record already exists at that path: Tessera never overwrites one.', ...AS_WRITTEN },
  record_full: { status: 507, sentence: 'The ceremony record is full: cancel or wipe to close it.', ...AS_WRITTEN },
  record_closed: { status: 500, sentence: 'The ceremony record is closed: nothing more can be recorded.', ...AS_WRITTEN },
  record_event: { status: 500, sentence: 'Tessera refused to record an event that is not well formed: this is a bug in Tessera.', ...AS_WRITTEN },
  record_secret: { status: 500, sentence: 'Tessera refused to record an event holding what looks like a secret: this is a bug in Tessera.', ...AS_WRITTEN },
  record_too_large: { status: 400, sentence: 'The file is larger than any ceremony record Tessera writes: check that it is the right file.', ...AS_WRITTEN },

  // The command line.
  cli: { status: 400, sentence: 'The command failed: its message says why; the exit code is 1.', ...AS_WRITTEN },
  usage: { status: 400, exit: 2, sentence: "The command was called wrongly: its message says how, above the command's usage; the exit code is 2.", ...AS_WRITTEN },
  record_not_closed: {
    status: 400,
    exit: 3,
    sentence: 'The ceremony record verifies but has no closing line: the ceremony was still running, or lines were cut off; the exit code is 3.',
    ...AS_WRITTEN,
  },

  // The transports: tessera serve, the web host, the Electron window.
  client_gone: { status: 400, sentence: 'The client closed the connection before its request was complete: nobody is left to answer.', ...AS_WRITTEN },
  unknown_channel: { status: 404, sentence: 'There is no such IPC channel: the page and Tessera are of different versions; reload the page.', ...AS_WRITTEN },
  forbidden: { status: 403, sentence: 'The request came from another site or window than Tessera\'s own, or by another host name: it is refused.', ...AS_WRITTEN },
  unauthorized: { status: 401, sentence: 'The request carries no valid access token: open the address tessera web printed.', ...AS_WRITTEN },
  method: { status: 405, sentence: 'The HTTP method is not allowed on this path.', ...AS_WRITTEN },
  too_large: { status: 413, sentence: 'The request body is larger than the limit.', ...AS_WRITTEN },
  invalid_json: { status: 400, sentence: 'The request body is not valid JSON.', ...AS_WRITTEN },
  offline: { status: null, sentence: 'Tessera is not answering: check that the tessera web command is still running.', ...AS_WRITTEN },
  http: { status: null, sentence: 'Tessera answered with an HTTP error and no error of its own.', ...AS_WRITTEN },
} as const satisfies Record<string, ErrorEntry>

export type ErrorCode = keyof typeof ERRORS

/** An error as the app shows it (support/plain-errors.ts), and as it crosses IPC and the web host. */
export interface OperatorError {
  code: ErrorCode
  /** A plain sentence: what happened and what to do. */
  message: string
  /** The server's own words, or the engine's Vault wording, labelled, bounded and redacted; never the headline. */
  detail?: string
}
