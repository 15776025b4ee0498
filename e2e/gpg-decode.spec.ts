import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test, expect, enterShare, fillEncryptedKeyset, photograph } from './fixtures'
import { Gpg } from '../test/helpers/gnupg'

// A PGP-protected result decoded by the holder's gpg: main runs gpg, whose
// agent holds the private key and asks for its passphrase through its own
// pinentry; the page never sees a key file or a passphrase.
let gpg: Gpg
const home = process.env.GNUPGHOME
test.beforeAll(() => {
  gpg = new Gpg()
  gpg.generate('Card Holder <holder@example.org>', { passphrase: 'holder passphrase' })
  // `tessera web` runs gpg in its own environment: this home, as a holder's GNUPGHOME.
  process.env.GNUPGHOME = gpg.home
})
test.afterAll(() => {
  if (home === undefined) delete process.env.GNUPGHOME
  else process.env.GNUPGHOME = home
  gpg.close()
})

test('a root token encrypted to a holder\'s key is decrypted by their gpg', async ({ tessera }) => {
  test.slow()
  const { page, dir, shot } = tessera
  const publicKey = join(dir, 'holder.asc')
  await writeFile(publicKey, gpg.exportPublic('holder@example.org', true))

  await page.getByRole('button', { name: 'Start: root token' }).click()
  await page.getByLabel(/PGP public key/).check()
  await page.getByLabel(/Public key file/).setInputFiles(publicKey)
  await page.getByLabel(/confirmed this fingerprint/).check()
  await page.getByRole('button', { name: 'Start the attempt' }).click()
  await enterShare(page, 'Alice', tessera.keyset.keys[0]!)
  await enterShare(page, 'Bob', tessera.keyset.keys[1]!)
  await expect(page.getByRole('heading', { name: /5\. Result/ })).toBeVisible()
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Save it as a file' }).click()])
  const saved = join(dir, file.suggestedFilename())
  await file.saveAs(saved)

  // gpg beside the key file; choosing it hides the key file and passphrase fields.
  await page.getByRole('radio', { name: 'Decrypt with gpg (agent or smartcard)' }).check()
  await expect(page.getByLabel(/Private key file/)).toHaveCount(0)
  await expect(page.getByLabel(/Passphrase/)).toHaveCount(0)
  await expect(page.getByTestId('gpg-hint')).toContainText('Tessera never sees either')

  // The holder cancels the PIN entry: a sentence, and the form stays for another try.
  gpg.pinentry('cancel')
  await page.getByRole('button', { name: 'Decode', exact: true }).click()
  await expect(page.getByTestId('decode-error')).toContainText(/^The PIN or passphrase entry for key id [0-9A-F]{16} was cancelled: nothing was decrypted/)
  await photograph(tessera, 'gpg-cancelled')

  // While gpg waits for the PIN entry the page says so, and a second Decode cannot be sent.
  gpg.pinentry('hang')
  await page.getByRole('button', { name: 'Decode', exact: true }).click()
  await expect(page.getByTestId('gpg-waiting')).toHaveText('Waiting for gpg: answer its PIN or passphrase entry, or touch the card.')
  await expect(page.getByRole('button', { name: 'Decode', exact: true })).toBeDisabled()
  await shot('gpg-waiting')
  // This pinentry gives up after 5 s; gpg's failure comes back as a sentence.
  await expect(page.getByTestId('decode-error')).toContainText(/key id [0-9A-F]{16}/, { timeout: 15_000 })
  await expect(page.getByTestId('gpg-waiting')).toHaveCount(0)

  // The holder answers: the token, checked against the keyset.
  gpg.pinentry({ passphrase: 'holder passphrase' })
  await page.getByRole('button', { name: 'Decode', exact: true }).click()
  await expect(page.getByTestId('decode-verified')).toHaveText('Checked: this root token belongs to the keyset.')
  await page.getByRole('button', { name: 'Reveal' }).click()
  const token = (await page.getByTestId('secret-value').textContent())!.trim()
  expect(token).toMatch(/^hvs\.[0-9A-Za-z]{24}$/)
  await photograph(tessera, 'gpg-decoded')

  // The decode tool opens the saved file; gpg (its passphrase now cached by the agent) decrypts it again.
  await page.getByRole('button', { name: 'Decode tool' }).click()
  await page.getByLabel(/Or open an encrypted file/).setInputFiles(saved)
  await page.getByRole('radio', { name: 'Decrypt with gpg (agent or smartcard)' }).check()
  await shot('gpg-decode-tool')
  await page.getByRole('button', { name: 'Decode', exact: true }).click()
  await expect(page.getByTestId('decode-verified')).toBeVisible()
  await page.getByRole('button', { name: 'Reveal' }).click()
  await expect(page.getByTestId('secret-value')).toHaveText(token)
})

test('a holder checks their encrypted hand-out file with their gpg', async ({ tessera }) => {
  test.slow()
  const { page, dir, shot } = tessera
  gpg.generate('Second Holder <second@example.org>')
  const keys = await Promise.all(
    ['holder', 'second'].map(async (h) => {
      const path = join(dir, `${h}.asc`)
      await writeFile(path, gpg.exportPublic(`${h}@example.org`, true))
      return path
    }),
  )
  await fillEncryptedKeyset(page, join(dir, 'pgp-created.json'), keys)
  await page.getByRole('button', { name: 'Create keyset' }).click()
  const files: string[] = []
  for (let i = 0; i < 2; i++) {
    const [file] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: `Save holder ${i + 1}'s file`, exact: true }).click()])
    files.push(join(dir, file.suggestedFilename()))
    await file.saveAs(files[i]!)
  }
  await page.getByRole('button', { name: 'Continue to the root token' }).click()
  await page.getByRole('button', { name: /Finish — wipe/ }).click()
  await page.getByRole('button', { name: 'Finish without the root token' }).click()

  // Holder 2 opens their file in the Decode tool; their gpg decrypts it, and the new keyset knows the share.
  gpg.pinentry('cancel')
  await page.getByRole('button', { name: 'Decode tool' }).click()
  await page.getByLabel(/Or open an encrypted file/).setInputFiles(files[1]!)
  await page.getByRole('radio', { name: 'Decrypt with gpg (agent or smartcard)' }).check()
  await page.getByRole('button', { name: 'Decode', exact: true }).click()
  await expect(page.getByTestId('decode-verified')).toHaveText('Checked: this unseal key share belongs to the keyset.')
  await photograph(tessera, 'gpg-handout-file-checked')
  await page.getByRole('button', { name: 'Decode another' }).click()

  // A file that is not an encrypted result is refused before it is read.
  const large = join(dir, 'large.gpg')
  await writeFile(large, Buffer.alloc(64 * 1024, 0x85))
  await page.getByLabel(/Or open an encrypted file/).setInputFiles(large)
  await expect(page.getByTestId('decode-error')).toHaveText('large.gpg is larger than an encrypted share or result can be (48 KiB): pick the file saved at the hand-out.')
  await shot('gpg-file-too-large')
})
