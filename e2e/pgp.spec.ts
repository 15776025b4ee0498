import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test, expect, enterShare, fillEncryptedKeyset, photograph } from './fixtures'
import { Gpg } from '../test/helpers/gnupg'

let gpg: Gpg
let fingerprint: string
test.beforeAll(() => {
  gpg = new Gpg()
  fingerprint = gpg.generate('Ceremony Lead <lead@example.org>', { passphrase: 'lead passphrase' })
  // RSA made by --quick-gen-key with the default usage signs only: no encryption subkey.
  gpg.run(['--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', 'Signer <signer@example.org>', 'rsa2048', 'default', 'never'])
})
test.afterAll(() => gpg.close())

test('root token encrypted to a gpg-made key, decoded in the app and by gpg', async ({ tessera }) => {
  // Key generation, two decodes in the app and gpg's own: the longest journey here.
  test.slow()
  const { page, keyset, dir, shot, axe } = tessera
  const publicKey = join(dir, 'lead.gpg')
  const privateKey = join(dir, 'lead-secret.asc')
  await writeFile(publicKey, gpg.exportPublic('lead@example.org'))
  await writeFile(privateKey, gpg.exportSecret('lead@example.org', { armor: true, passphrase: 'lead passphrase' }))

  await page.getByRole('button', { name: 'Start: root token' }).click()
  await page.getByLabel(/PGP public key/).check()

  // A key that can only sign says so, and how its owner adds what is missing.
  const signer = join(dir, 'signer.asc')
  await writeFile(signer, gpg.exportPublic('signer@example.org', true))
  await page.getByLabel(/Public key file/).setInputFiles(signer)
  await expect(page.getByTestId('pgp-key-error')).toContainText(/cannot encrypt .*gpg --quick-add-key [0-9A-F]{40} cv25519 encr/)
  await photograph(tessera, 'pgp-key-cannot-encrypt')
  // An armored key is named as one.
  const armored = join(dir, 'lead.asc')
  await writeFile(armored, gpg.exportPublic('lead@example.org', true))
  await page.getByLabel(/Public key file/).setInputFiles(armored)
  await expect(page.getByText(/Read as an armored key/)).toBeVisible()

  await page.getByLabel(/Public key file/).setInputFiles(publicKey)
  await expect(page.getByTestId('pgp-fingerprint')).toHaveText(fingerprint)
  await expect(page.getByText('Ceremony Lead <lead@example.org>')).toBeVisible()
  await expect(page.getByText(/Read as a binary key/)).toBeVisible()
  // Starting waits for the holders to confirm the fingerprint.
  await expect(page.getByRole('button', { name: 'Start the attempt' })).toBeDisabled()
  await page.getByLabel(/confirmed this fingerprint/).check()
  await shot('pgp-protection')
  await axe()
  await page.getByRole('button', { name: 'Start the attempt' }).click()

  await expect(page.getByTestId('attempt-fingerprint')).toHaveText(fingerprint)
  // As gpg shows it: upper case, in groups of four, inside its panel; the key's user id beside it.
  expect(await page.getByTestId('attempt-fingerprint').innerText()).toBe(fingerprint.toUpperCase())
  expect(await page.getByTestId('attempt-fingerprint').locator('.group').count()).toBe(10)
  await expect(page.getByTestId('attempt-user-id')).toHaveText('(Ceremony Lead <lead@example.org>)')
  const attempt = page.getByRole('region', { name: 'Attempt' })
  expect(await attempt.evaluate((e) => e.scrollWidth <= e.clientWidth)).toBe(true)
  await photograph(tessera, 'pgp-collect')
  await expect(page.getByText(/nonce and the PGP fingerprint above match/)).toBeVisible()
  await enterShare(page, 'Alice', keyset.keys[0]!)
  await enterShare(page, 'Bob', keyset.keys[1]!)
  await expect(page.getByRole('heading', { name: /5\. Result/ })).toBeVisible()
  const encoded = (await page.getByTestId('encoded').textContent())!.trim()
  // Only the private key can decode it: no OTP is offered.
  await expect(page.getByTestId('decode-method')).toHaveText('Decode with the PGP private key it was encrypted to.')
  await expect(page.getByRole('radio', { name: /one-time password/i })).toHaveCount(0)
  // The private key holder may be elsewhere: the encoded value is copied or saved for them.
  await page.getByRole('button', { name: 'Copy the encoded value' }).click()
  await expect(page.getByTestId('encoded-handed')).toContainText('copied')
  if (tessera.rpc) expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(encoded)
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Save it as a file' }).click()])
  const saved = join(dir, file.suggestedFilename())
  await file.saveAs(saved)
  expect(file.suggestedFilename()).toMatch(/^root-result-[0-9a-f]{16}\.gpg$/)
  await photograph(tessera, 'pgp-result')

  // Decoded in the app with the private key file and its passphrase...
  await page.getByLabel(/Private key file/).setInputFiles(privateKey)
  await page.getByLabel(/Passphrase/).fill('wrong')
  await page.getByRole('button', { name: 'Decode', exact: true }).click()
  await expect(page.getByTestId('decode-error')).toContainText('passphrase does not unlock')
  await page.getByLabel(/Private key file/).setInputFiles(privateKey)
  await page.getByLabel(/Passphrase/).fill('lead passphrase')
  await page.getByRole('button', { name: 'Decode', exact: true }).click()
  await page.getByRole('button', { name: 'Reveal' }).click()
  const token = (await page.getByTestId('secret-value').textContent())!.trim()
  expect(token).toMatch(/^hvs\./)
  await shot('pgp-decoded')
  await axe()
  // ...and by gpg itself, the same token, from the value and from the saved file.
  expect(gpg.decryptBase64(encoded, 'lead passphrase')).toBe(token)
  expect(gpg.decryptBase64((await readFile(saved)).toString('base64'), 'lead passphrase')).toBe(token)

  // The decode tool, unchecked against the keyset: its note fits a PGP result, and focus lands on what comes next.
  await page.getByRole('button', { name: 'Decode tool' }).click()
  await page.getByLabel(/Encoded value/).fill(encoded)
  await page.getByLabel(/Check a decoded token or share against the open keyset/).uncheck()
  await page.getByLabel(/Private key file/).setInputFiles(privateKey)
  await page.getByLabel(/Passphrase/).fill('lead passphrase')
  await page.getByRole('button', { name: 'Decode', exact: true }).click()
  await expect(page.getByRole('button', { name: 'Reveal' })).toBeFocused()
  const note = page.getByTestId('decode-unverified')
  await expect(note).toContainText('the token is what was encrypted to this key')
  await expect(note).not.toContainText('OTP')
  await shot('pgp-decode-tool-note')
})

test('the init ceremony encrypts each share to its holder and saves the files', async ({ tessera }) => {
  const { page, dir, shot, axe } = tessera
  const holders = ['one', 'two']
  const fingerprints = holders.map((h) => gpg.generate(`Holder ${h} <${h}@example.org>`))
  const files = await Promise.all(
    holders.map(async (h, i) => {
      const path = join(dir, `${h}.${i === 0 ? 'asc' : 'gpg'}`)
      await writeFile(path, gpg.exportPublic(`${h}@example.org`, i === 0))
      return path
    }),
  )
  await fillEncryptedKeyset(page, join(dir, 'pgp-created.json'), files)
  for (const [i, fingerprint] of fingerprints.entries()) await expect(page.getByTestId(`init-key-${i}`)).toContainText(fingerprint)
  await shot('init-pgp-form')
  await axe()
  await page.getByRole('button', { name: 'Create keyset' }).click()
  await expect(page.getByRole('heading', { name: 'Encrypted shares' })).toBeVisible()
  // No way on while a holder's file was never saved: the button names who is missing.
  await expect(page.getByRole('button', { name: "Save holder 1's file to continue" })).toBeDisabled()
  await photograph(tessera, 'init-pgp-unsaved')
  const shares: string[] = []
  for (let i = 0; i < 2; i++) {
    if (i === 1) await expect(page.getByRole('button', { name: "Save holder 2's file to continue" })).toBeDisabled()
    const download = page.waitForEvent('download')
    await page.getByRole('button', { name: `Save holder ${i + 1}'s file`, exact: true }).click()
    const file = await download
    expect(file.suggestedFilename()).toMatch(new RegExp(`^share-${i + 1}-[0-9a-f]{16}\\.gpg$`))
    const saved = join(dir, file.suggestedFilename())
    await file.saveAs(saved)
    // Each holder opens their own file with gpg -d.
    shares.push(gpg.run(['-d', saved]).toString())
  }
  for (const s of shares) expect(s).toMatch(/^[0-9a-f]{66}$/)
  await shot('init-pgp-saved')
  await axe()
  await page.getByRole('button', { name: 'Continue to the root token' }).click()
  // The root token was never shown: finishing asks first.
  await page.getByRole('button', { name: /Finish — wipe/ }).click()
  await page.getByRole('button', { name: 'Finish without the root token' }).click()

  // The decrypted shares are the new keyset's.
  await page.getByRole('button', { name: 'Start: root token' }).click()
  await page.getByRole('button', { name: 'Start the attempt' }).click()
  await enterShare(page, 'One', shares[0]!)
  await enterShare(page, 'Two', shares[1]!)
  await expect(page.getByRole('heading', { name: /5\. Result/ })).toBeVisible()
})

test("a new key share encrypted to its new holder's key, saved, and opened with gpg", async ({ tessera }) => {
  const { page, keyset, dir } = tessera
  const newcomer = gpg.generate('New Holder <new@example.org>')
  const publicKey = join(dir, 'new.asc')
  await writeFile(publicKey, gpg.exportPublic('new@example.org', true))
  await page.getByRole('button', { name: 'Start: new key share' }).click()
  // Offered first for the share flow: nobody but the new holder can read it.
  await expect(page.getByLabel(/Encrypt the new share to its holder's PGP key/)).toBeChecked()
  await page.getByLabel(/New holder's name/).fill('Dana')
  await page.getByLabel(/Public key file/).setInputFiles(publicKey)
  await expect(page.getByTestId('pgp-fingerprint')).toHaveText(newcomer)
  await page.getByLabel(/The new holder confirmed this fingerprint/).check()
  await page.getByRole('button', { name: 'Start the attempt' }).click()
  await expect(page.getByTestId('attempt-fingerprint')).toHaveText(newcomer)
  await enterShare(page, 'Alice', keyset.keys[0]!)
  await enterShare(page, 'Bob', keyset.keys[1]!)
  await expect(page.getByRole('heading', { name: /5\. Result — New key share/ })).toBeVisible()
  await expect(page.getByTestId('result-fingerprint')).toHaveText(newcomer)
  await photograph(tessera, 'new-share-pgp')
  const download = page.waitForEvent('download')
  await page.getByRole('button', { name: 'Save the encrypted share' }).click()
  const file = await download
  // The keyset told its number, encrypted as it is.
  expect(file.suggestedFilename()).toMatch(/^new-share-4-[0-9a-f]{16}\.gpg$/i)
  const saved = join(dir, file.suggestedFilename())
  await file.saveAs(saved)
  const share = gpg.run(['-d', saved]).toString().trim()
  expect(share).toMatch(/^[0-9a-f]{66}$/)
  expect(keyset.keys).not.toContain(share)
  await expect(page.getByRole('button', { name: 'Saved — save the file again' })).toBeVisible()
  await page.getByRole('button', { name: 'Done — wipe' }).click()
  await page.getByRole('button', { name: 'Yes, wipe' }).click()

  // The decrypted share is a share of the same key.
  await page.getByRole('button', { name: 'Start: root token' }).click()
  await page.getByRole('button', { name: 'Start the attempt' }).click()
  await enterShare(page, 'Dana', share)
  await expect(page.getByTestId('accepted')).toHaveText('Accepted share 4 (Dana) from Dana.')
  await enterShare(page, 'Carol', keyset.keys[2]!)
  await expect(page.getByRole('heading', { name: /5\. Result/ })).toBeVisible()
})
