import { describe, expect, it } from 'vitest'
import { gpgFailure, readStatus } from '../src-main/crypto/gpg-status'

// Failures a machine without a smartcard reader cannot produce for real, read from
// the status lines gpg writes for them (GnuPG's doc/DETAILS; an ERROR line's code
// is libgpg-error's source << 24 | code). test/gpg-decode.test.ts produces the rest.
const SCD = 6
const AGENT = 4
const error = (source: number, code: number) => `[GNUPG:] ERROR pkdecrypt_failed ${(source << 24) | code}`
const failure = (...lines: string[]) => gpgFailure(readStatus(['[GNUPG:] ENC_TO 1FD23010A813B8E3 18 0', ...lines].join('\n')), '')

describe('a decryption failure read from gpg status lines', () => {
  it('names a card that is not there, or a reader that is missing', () => {
    for (const lines of [[error(SCD, 112)], ['[GNUPG:] CARDCTRL 4'], ['[GNUPG:] CARDCTRL 5'], [error(SCD, 110)]]) {
      const err = failure(...lines)
      expect(err.code, lines[0]).toBe('gpg_card')
      expect(err.message).toMatch(/^the secret key for key id 1FD23010A813B8E3 is on a smartcard that gpg cannot reach .*insert the card that holds it/)
    }
  })

  it('names a blocked PIN, and how to unblock it', () => {
    for (const lines of [[error(SCD, 130)], ['[GNUPG:] CARDCTRL 7']]) {
      const err = failure(...lines)
      expect(err.code).toBe('gpg_card')
      expect(err.message).toMatch(/smartcard holding the secret key for key id 1FD23010A813B8E3 is locked \(its PIN is blocked/)
    }
  })

  it('tells a wrong card PIN from a cancelled one', () => {
    expect(failure(error(SCD, 87)).code).toBe('gpg_bad_passphrase')
    expect(failure(error(AGENT, 99), '[GNUPG:] NO_SECKEY 1FD23010A813B8E3').code).toBe('gpg_cancelled')
    expect(failure(error(AGENT, 198)).code).toBe('gpg_cancelled')
  })

  it('says when no PIN entry could be shown', () => {
    const err = failure(error(AGENT, 85))
    expect(err.code).toBe('gpg_failed')
    expect(err.message).toMatch(/PIN entry for key id 1FD23010A813B8E3 could not be shown by gpg-agent .*GPG_TTY/)
  })

  it('names a hidden recipient as such', () => {
    const err = gpgFailure(readStatus('[GNUPG:] ENC_TO 0000000000000000 1 0\n[GNUPG:] NO_SECKEY 0000000000000000\n'), '')
    expect(err.code).toBe('gpg_no_secret_key')
    expect(err.message).toContain('it is encrypted to a hidden recipient (gpg -R)')
  })

  it('ignores what is not a status line', () => {
    expect(readStatus('gpg: [GNUPG:] DECRYPTION_OKAY\n[GNUPG:]DECRYPTION_OKAY\n').okay).toBe(false)
  })
})
