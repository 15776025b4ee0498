import { TesseraError } from '../support/errors'
import { redact } from '../support/redact'

/**
 * What gpg said on its status channel (`--status-fd`) while decrypting: the
 * machine-readable lines of doc/DETAILS, the same in every locale. Failures are
 * told apart from these, never from gpg's translated words.
 */
export interface GpgStatus {
  /** Long key ids the message is encrypted to (ENC_TO); 0000000000000000 for a hidden recipient. */
  recipients: string[]
  /** Key ids gpg has no secret key for (NO_SECKEY). */
  noSecretKey: string[]
  /** The error codes of ERROR/FAILURE lines, without their source (libgpg-error's low 16 bits). */
  errors: number[]
  /** CARDCTRL's first argument: 1 insert a card, 3 another card is in, 4 no card, 5 no reader, 6 no card support, 7 card terminated. */
  cardRequests: number[]
  /** NODATA: no OpenPGP data, or a packet cut short or invalid. */
  noData: boolean
  /** DECRYPTION_OKAY: decrypted, and the integrity check (MDC or AEAD) passed. */
  okay: boolean
}

/** libgpg-error's codes that decide which sentence a failure gets (gpg-error.h). */
const GPG_ERR = {
  BAD_PASSPHRASE: 11,
  NO_SECKEY: 17,
  NO_PIN_ENTRY: 85,
  PIN_ENTRY: 86,
  BAD_PIN: 87,
  CANCELED: 99,
  FULLY_CANCELED: 198,
  PIN_BLOCKED: 130,
  NO_SCDAEMON: 119,
} as const

/** Card and smartcard-daemon failures: no card, a removed, reset, wrong or uninitialized card, scdaemon's own errors. */
const CARD_ERRORS = new Set([91, 108, 109, 110, 111, 112, 119, 120, 123, 130])

export function readStatus(text: string): GpgStatus {
  const status: GpgStatus = { recipients: [], noSecretKey: [], errors: [], cardRequests: [], noData: false, okay: false }
  for (const line of text.split('\n')) {
    const [prefix, keyword, ...args] = line.trim().split(/\s+/)
    if (prefix !== '[GNUPG:]') continue
    if (keyword === 'ENC_TO' && args[0]) status.recipients.push(args[0].toUpperCase())
    else if (keyword === 'NO_SECKEY' && args[0]) status.noSecretKey.push(args[0].toUpperCase())
    else if ((keyword === 'ERROR' || keyword === 'FAILURE') && args[1]) status.errors.push(Number(args[1]) & 0xffff)
    else if (keyword === 'CARDCTRL' && args[0]) status.cardRequests.push(Number(args[0]))
    else if (keyword === 'NODATA') status.noData = true
    else if (keyword === 'DECRYPTION_OKAY') status.okay = true
  }
  return status
}

const HIDDEN = '0000000000000000'

/** "key id 1FD23010A813B8E3", or the ids joined; a hidden recipient is said to be one. */
function keyIds(ids: string[]): string {
  const named = [...new Set(ids)].filter((id) => id !== HIDDEN)
  if (named.length === 0) return ids.length > 0 ? 'a hidden recipient (gpg -R)' : 'no key id it names'
  return `key id ${named.join(', ')}`
}

/** gpg's last own line on standard error, bounded and redacted: the words under a failure no status line explains. */
export function gpgWords(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.startsWith('gpg: '))
  const last = (lines.at(-1) ?? '').slice('gpg: '.length).trim()
  return redact(last.length > 200 ? `${last.slice(0, 199)}…` : last)
}

/** The sentence for a card that cannot be used, from its error codes and CARDCTRL requests. */
function cardSentence(status: GpgStatus, forKey: string): string | undefined {
  const { errors, cardRequests } = status
  if (errors.includes(GPG_ERR.PIN_BLOCKED) || cardRequests.includes(7)) {
    return `the smartcard holding the secret key for ${forKey} is locked (its PIN is blocked after too many wrong tries): unblock it with its reset code or admin PIN (gpg --card-edit, then admin and unblock), then decode again`
  }
  if (errors.includes(GPG_ERR.NO_SCDAEMON) || cardRequests.includes(6)) {
    return `the secret key for ${forKey} is on a smartcard, and this gpg has no smartcard support (scdaemon is not installed): install it (apt install scdaemon), insert the card, then decode again`
  }
  if (cardRequests.length > 0 || errors.some((e) => CARD_ERRORS.has(e))) {
    return `the secret key for ${forKey} is on a smartcard that gpg cannot reach (no card, another card, or no reader): insert the card that holds it (gpg --card-status shows what gpg sees), then decode again`
  }
  return undefined
}

/**
 * Why a decryption gave no plaintext, as one of the gpg error codes with a
 * sentence that names the key the message is for. The order matters: a
 * cancelled PIN entry also ends in "no secret key" from gpg's point of view.
 */
export function gpgFailure(status: GpgStatus, stderr: string): TesseraError {
  const forKey = keyIds(status.recipients)
  const has = (...codes: number[]) => status.errors.some((e) => codes.includes(e))
  if (has(GPG_ERR.CANCELED, GPG_ERR.FULLY_CANCELED)) {
    return new TesseraError('gpg_cancelled', `the PIN or passphrase entry for ${forKey} was cancelled: nothing was decrypted; decode again to enter it`)
  }
  const card = cardSentence(status, forKey)
  if (card) return new TesseraError('gpg_card', card)
  if (has(GPG_ERR.BAD_PASSPHRASE, GPG_ERR.BAD_PIN)) {
    return new TesseraError('gpg_bad_passphrase', `the passphrase or PIN for ${forKey} was wrong: nothing was decrypted; decode again (a smartcard blocks its PIN after three wrong tries in a row: gpg --card-status shows the tries left)`)
  }
  if (has(GPG_ERR.NO_PIN_ENTRY, GPG_ERR.PIN_ENTRY)) {
    return new TesseraError('gpg_failed', `the PIN entry for ${forKey} could not be shown by gpg-agent (pinentry is missing or has no screen; for a terminal, set GPG_TTY=$(tty)): nothing was decrypted`)
  }
  const missing = status.recipients.filter((id) => id !== HIDDEN)
  if ((status.recipients.length > 0 && status.noSecretKey.length >= missing.length) || has(GPG_ERR.NO_SECKEY)) {
    return new TesseraError('gpg_no_secret_key', `no secret key for this message is in gpg: it is encrypted to ${forKey}; gpg --list-secret-keys shows the keys this gpg holds (is the holder's card inserted, or GNUPGHOME the right one?)`)
  }
  if (status.noData || status.recipients.length === 0) {
    return new TesseraError('gpg_bad_data', 'the encoded value is not an OpenPGP message encrypted to a key (it is damaged, cut short, or not one): gpg found nothing to decrypt')
  }
  const words = gpgWords(stderr)
  const said = words ? ` (gpg said: ${words})` : ''
  if (status.errors.length > 0) return new TesseraError('gpg_failed', `the message to ${forKey} could not be decrypted by gpg${said}`)
  return new TesseraError('gpg_bad_data', `the message to ${forKey} could not be decrypted by gpg: it is damaged or failed its integrity check${said}`)
}
