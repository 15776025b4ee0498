import { encryptTo, type PublicKeyInfo } from '../crypto/pgp'
import { wipe } from '../crypto/wipe'

/**
 * Each share's text (`texts[i]`, as its holder types it) encrypted to
 * `recipients[i]` as Vault's pgp_keys makes it: a binary PGP message of the
 * text, which `gpg -d` and `tessera decode` read. Tessera encrypts a server's
 * shares itself where it asked for them in the clear to write their check
 * values. The caller wipes `texts`; on a failure, what was made is wiped.
 */
export async function encryptShares(texts: readonly Buffer[], recipients: readonly PublicKeyInfo[]): Promise<Buffer[]> {
  const messages: Buffer[] = []
  try {
    for (const [i, text] of texts.entries()) messages.push(Buffer.from(await encryptTo(recipients[i]!.key, text)))
  } catch (err) {
    wipe(...messages)
    throw err
  }
  return messages
}
