import { readFile, readdir, writeFile } from 'node:fs/promises'
import * as openpgp from 'openpgp'
import { join } from 'node:path'
import type { Page } from '@playwright/test'
import { test, expect, enterShare, photograph } from './fixtures'
import { runCli } from '../test/helpers/cli'
import { mistypeAt } from '../test/helpers/keysets'
import { expectStep, fillRekey, handOut, handOutByKeyboard, tabTo, typeRekeyCounts, typeShare } from './ceremony-steps'

// The rekey ceremony in the app, on a local 2-of-3 keyset whose holders are
// named: the current shares on the collect screen, the new shares through the
// hand-out, their verification on the collect screen again, and the old
// shares refused afterwards.

const HOLDERS = ['Alice', 'Bob', 'Carol']
const NEW_HOLDERS = ['Dana', 'Eve', 'Frank', 'Gina', 'Hal']
test.use({ keysetOptions: { shares: 3, threshold: 2, scheme: 'vault', holders: HOLDERS } })

/** Starts a root token attempt and enters `share` under `holder`. */
async function rootAttempt(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Start: root token' }).click()
  await page.getByRole('button', { name: 'Start the attempt' }).click()
  await expect(page.getByRole('heading', { name: /4\. Collect shares — Root token/ })).toBeVisible()
}

async function rekeyRecord(dir: string): Promise<string> {
  const records = join(dir, 'config', 'records')
  const names = (await readdir(records)).filter((n) => n.includes('rekey-'))
  expect(names).toHaveLength(1)
  return join(records, names[0]!)
}

test('rekey 2-of-3 to 3-of-5 with a threshold verified: hand-out, verification, then the old shares are refused as replaced and the new ones work', async ({ tessera }) => {
  const { page, keyset } = tessera
  await expect(page.getByRole('heading', { name: '2. Operation' })).toBeVisible()
  await fillRekey(page, { shares: 5, threshold: 3, holders: NEW_HOLDERS, verification: /A threshold of the new shares/ })
  await expectStep(page, '2. Operation')
  await photograph(tessera, 'rekey-form')
  await page.getByRole('button', { name: 'Start the rekey' }).click()

  // The collect screen: the nonce, and the new parameters each holder confirms.
  await expect(page.getByRole('heading', { name: '4. Collect shares — Rekey: current shares' })).toBeVisible()
  await expectStep(page, '4. Collect shares')
  await expect(page.getByTestId('nonce')).toHaveText(/^[0-9a-f-]{36}$/)
  await expect(page.getByTestId('rekey-parameters')).toContainText('New shares: 3 of 5, for Dana, Eve, Frank, Gina, Hal; a threshold of them entered back before they take effect.')
  await enterShare(page, 'Alice', keyset.keys[0]!)
  await expect(page.getByTestId('accepted')).toHaveText('Accepted share 1 (Alice) from Alice.')
  await expect(page.getByTestId('progress')).toHaveText('1 of 2')
  await photograph(tessera, 'rekey-current')
  await enterShare(page, 'Bob', keyset.keys[1]!)

  // The new shares go straight to the hand-out, one holder at a time.
  await expect(page.getByText('Holder 1 of 5 — Dana')).toBeVisible()
  // The new shares are what the rekey made: its result, handed out before they are collected back.
  await expectStep(page, '5. Result')
  await expect(page.getByTestId('rekey-handout-note')).toContainText('Abandoning the hand-out cancels the rekey: the current shares keep working')
  await photograph(tessera, 'rekey-handout')
  const fresh = await handOut(page, 5)
  expect(new Set(fresh).size).toBe(5)
  await page.getByRole('button', { name: 'Finish — wipe the shares from memory' }).click()

  // Verification: the collect screen again, under the verification's nonce.
  await expect(page.getByRole('heading', { name: '4. Collect shares — Rekey: verify the new shares' })).toBeVisible()
  await expectStep(page, '4. Collect shares')
  await expect(page.getByText('Nonce of this verification — every holder checks it before entering a share')).toBeVisible()
  const verifyNonce = await page.getByTestId('nonce').textContent()
  await enterShare(page, 'Hal', fresh[4]!)
  await expect(page.getByTestId('accepted')).toHaveText('Accepted share 5 (Hal) from Hal.')
  await page.getByRole('button', { name: 'Start verification over' }).click()
  await expect(page.getByTestId('nonce')).not.toHaveText(verifyNonce!)
  await expect(page.getByTestId('progress')).toHaveText('0 of 3')
  await enterShare(page, 'Dana', fresh[0]!)
  await enterShare(page, 'Eve', fresh[1]!)
  await photograph(tessera, 'rekey-verify')
  await enterShare(page, 'Frank', fresh[2]!)
  await expect(page.getByTestId('rekey-complete')).toContainText('The new shares are in effect: 3 of 5 shares now open')
  await expect(page.getByTestId('rekey-complete')).toContainText('The earlier shares no longer open it.')
  await expectStep(page, '5. Result')
  await photograph(tessera, 'rekey-complete')

  // The backend was read again: 3 of 5, and the old shares are refused by name.
  await page.getByRole('button', { name: 'Back to the operations' }).click()
  await expect(page.getByTestId('quorum')).toHaveText('3 of the 5 shares out')
  await rootAttempt(page)
  await enterShare(page, 'Alice', keyset.keys[0]!)
  await expect(page.getByTestId('collect-error')).toContainText('replaced')
  await photograph(tessera, 'rekey-old-refused')
  for (const [i, name] of ['Dana', 'Eve', 'Frank'].entries()) await enterShare(page, name, fresh[i]!)
  await expect(page.getByRole('heading', { name: /5\. Result/ })).toBeVisible()

  // One record for the rekey, which `tessera record verify` accepts.
  const record = await rekeyRecord(tessera.dir)
  const text = await readFile(record, 'utf8')
  const types = text.trim().split('\n').map((l) => JSON.parse(l).type)
  expect(types.filter((t) => t === 'share_handed_out')).toHaveLength(5)
  expect(types.slice(-3)).toEqual(['rekey_completed', 'wiped', 'closed'])
  for (const share of [...fresh, ...keyset.keys]) expect(text).not.toContain(share)
  const verified = await runCli(['record', 'verify', record])
  expect(verified.code, verified.stderr).toBe(0)
})

test('a holder who enters another holder\'s share, current or new, is refused by name and it does not count; their own is accepted', async ({ tessera }) => {
  const { page, keyset } = tessera
  await fillRekey(page, { shares: 3, threshold: 2, holders: ['Dana', 'Eve', 'Frank'], verification: /A threshold of the new shares/ })
  await page.getByRole('button', { name: 'Start the rekey' }).click()
  await enterShare(page, 'Alice', keyset.keys[1]!)
  await expect(page.getByTestId('collect-error')).toContainText("This is share 2 (Bob), not Alice's: each holder enters their own share.")
  await expect(page.getByTestId('progress')).toHaveText('0 of 2')
  await expect(page.getByTestId('log')).toContainText("Alice: This is share 2 (Bob), not Alice's")
  await photograph(tessera, 'rekey-other-holder')
  await enterShare(page, 'Bob', keyset.keys[1]!)
  await expect(page.getByTestId('accepted')).toHaveText('Accepted share 2 (Bob) from Bob.')
  await expect(page.getByTestId('progress')).toHaveText('1 of 2')
  await enterShare(page, 'Alice', keyset.keys[0]!)
  const fresh = await handOut(page, 3)
  await page.getByRole('button', { name: 'Finish — wipe the shares from memory' }).click()

  await expect(page.getByRole('heading', { name: '4. Collect shares — Rekey: verify the new shares' })).toBeVisible()
  await enterShare(page, 'Dana', fresh[1]!)
  await expect(page.getByTestId('collect-error')).toContainText("This is share 2 (Eve), not Dana's: each holder enters their own share.")
  await expect(page.getByTestId('progress')).toHaveText('0 of 2')
  await photograph(tessera, 'rekey-verify-other-holder')
  await enterShare(page, 'Eve', fresh[1]!)
  await expect(page.getByTestId('accepted')).toHaveText('Accepted share 2 (Eve) from Eve.')
  await expect(page.getByTestId('progress')).toHaveText('1 of 2')
  await enterShare(page, 'Dana', fresh[0]!)
  await expect(page.getByTestId('rekey-complete')).toContainText('2 of 3 shares now open')

  const lines = (await readFile(await rekeyRecord(tessera.dir), 'utf8')).trim().split('\n').map((l) => JSON.parse(l))
  expect(lines.filter((l) => l.type === 'share_refused').map((l) => l.data)).toEqual([
    { reason: 'share_other_holder', progress: 0 },
    { reason: 'share_other_holder', progress: 0 },
  ])
})

test('rekey with every share verified: the last new share puts them in effect', async ({ tessera }) => {
  const { page, keyset } = tessera
  await fillRekey(page, { shares: 3, threshold: 2, verification: /Every new share is entered back/ })
  await page.getByRole('button', { name: 'Start the rekey' }).click()
  await enterShare(page, 'Carol', keyset.keys[2]!)
  await enterShare(page, 'Alice', keyset.keys[0]!)
  const fresh = await handOut(page, 3)
  await page.getByRole('button', { name: 'Finish — wipe the shares from memory' }).click()
  await expect(page.getByTestId('progress')).toHaveText('0 of 3')
  await enterShare(page, 'New 1', fresh[0]!)
  await enterShare(page, 'New 2', fresh[1]!)
  // A threshold of them is not enough: still verifying.
  await expect(page.getByTestId('progress')).toHaveText('2 of 3')
  await enterShare(page, 'New 3', fresh[2]!)
  await expect(page.getByTestId('rekey-complete')).toBeVisible()
})

test('rekey without verification, its hand-out abandoned: the rekey is cancelled and the old shares still work', async ({ tessera }) => {
  const { page, keyset } = tessera
  await fillRekey(page, { shares: 3, threshold: 2, verification: /No verification/ })
  await page.getByRole('button', { name: 'Start the rekey' }).click()
  await expect(page.getByTestId('rekey-parameters')).toContainText('no verification: they take effect once every holder has theirs')
  // A mistyped share is refused by name, and does not count.
  await enterShare(page, 'Alice', mistypeAt(keyset.keys[0]!, 20))
  await expect(page.getByTestId('collect-error')).toContainText('This does not match share 1 (Alice) — probably a typing mistake.')
  await expect(page.getByTestId('progress')).toHaveText('0 of 2')
  await photograph(tessera, 'rekey-wrong-share')
  await enterShare(page, 'Alice', keyset.keys[0]!)
  await enterShare(page, 'Bob', keyset.keys[1]!)
  await expect(page.getByTestId('rekey-handout-note')).toContainText('These new shares take effect only when every holder has theirs and you finish the hand-out.')
  await expectStep(page, '5. Result')
  await page.getByRole('button', { name: 'Show share 1' }).click()
  await page.getByRole('button', { name: 'I have recorded share 1: hide it' }).click()
  await page.getByRole('button', { name: 'Finish the hand-out now…' }).click()
  await expect(page.getByTestId('finish-lost')).toContainText('finishing now cancels the rekey, and the current shares keep working')
  await page.getByRole('button', { name: /Finish without/ }).click()
  await expect(page.getByTestId('rekey-cancelled')).toContainText('the current shares still open')
  await expectStep(page, '5. Result')
  await photograph(tessera, 'rekey-cancelled')

  await page.getByRole('button', { name: 'Back to the operations' }).click()
  await expect(page.getByTestId('quorum')).toHaveText('2 of the 3 shares out')
  await rootAttempt(page)
  await enterShare(page, 'Alice', keyset.keys[0]!)
  await enterShare(page, 'Carol', keyset.keys[2]!)
  await expect(page.getByRole('heading', { name: /5\. Result/ })).toBeVisible()
})

test('rekey to PGP keys with a backup: the hand-out saves each holder\'s file; the result saves the backup as Vault gives it, and deletes it', async ({ tessera }) => {
  const { page, keyset, dir } = tessera
  const files = await publicKeyFiles(dir, ['Dana', 'Eve'])
  await fillRekey(page, { shares: 2, threshold: 2, holders: ['Dana', 'Eve'], verification: /No verification/ })
  await page.getByLabel(/Encrypt each new share/).check()
  for (const [i, file] of files.entries()) await page.getByLabel(`${['Dana', 'Eve'][i]}'s public key (holder ${i + 1})`).setInputFiles(file)
  await expect(page.getByTestId('rekey-key-1')).toContainText('Eve')
  await expect(page.getByText('kept in memory only, until you delete it or Tessera stops')).toBeVisible()
  await page.getByLabel(/Keep a backup/).check()
  await page.getByRole('button', { name: 'Start the rekey' }).click()
  await expect(page.getByTestId('rekey-parameters')).toContainText("Each new share is encrypted to its holder's PGP key")
  await enterShare(page, 'Alice', keyset.keys[0]!)
  await enterShare(page, 'Bob', keyset.keys[1]!)
  const saved: string[] = []
  for (const i of [1, 2]) {
    const download = page.waitForEvent('download')
    await page.getByRole('button', { name: `Save holder ${i}'s file`, exact: true }).click()
    saved.push((await readFile((await (await download).path())!)).toString('base64'))
  }
  await page.getByRole('button', { name: 'Continue' }).click()
  await page.getByRole('button', { name: 'Finish — wipe the shares from memory' }).click()
  await expect(page.getByTestId('rekey-complete')).toContainText('2 of 2 shares now open')
  await expect(page.getByText('in memory only: it is gone once Tessera stops')).toBeVisible()
  await photograph(tessera, 'rekey-backup')

  const json = page.waitForEvent('download')
  await page.getByRole('button', { name: 'Save the backup as JSON' }).click()
  const backup = JSON.parse(await readFile((await (await json).path())!, 'utf8'))
  expect(Object.values(backup.keys_base64)).toEqual([[saved[0]], [saved[1]]])
  expect(Object.keys(backup.keys)).toHaveLength(2)
  const perKey = page.waitForEvent('download')
  await page.getByRole('button', { name: 'Save a file per PGP key' }).click()
  expect((await perKey).suggestedFilename()).toMatch(/^rekey-backup-[0-9a-f]{16}\.gpg$/)
  // The backup outlives the result screen and a reload: the operation screen offers it until deleted.
  await page.getByRole('button', { name: 'Back to the operations' }).click()
  await tessera.reopen()
  await expect(page.getByRole('heading', { name: 'Backup of the new shares' })).toBeVisible()
  await photograph(tessera, 'rekey-backup-held')
  await page.getByRole('button', { name: 'Delete the backup' }).click()
  await expect(page.getByRole('button', { name: 'Save the backup as JSON' })).toHaveCount(0)
})

test("a backup made by a rekey still to be verified says so, and goes when that rekey is cancelled", async ({ tessera }) => {
  const { page, keyset, dir } = tessera
  const files = await publicKeyFiles(dir, ['Dana', 'Eve'])
  await fillRekey(page, { shares: 2, threshold: 2, holders: ['Dana', 'Eve'], verification: /A threshold of the new shares/ })
  await page.getByLabel(/Encrypt each new share/).check()
  for (const [i, file] of files.entries()) await page.getByLabel(`${['Dana', 'Eve'][i]}'s public key (holder ${i + 1})`).setInputFiles(file)
  await page.getByLabel(/Keep a backup/).check()
  await page.getByRole('button', { name: 'Start the rekey' }).click()
  await enterShare(page, 'Alice', keyset.keys[0]!)
  await enterShare(page, 'Bob', keyset.keys[1]!)
  for (const i of [1, 2]) {
    const download = page.waitForEvent('download')
    await page.getByRole('button', { name: `Save holder ${i}'s file`, exact: true }).click()
    await download
  }
  await page.getByRole('button', { name: 'Continue' }).click()
  await page.getByRole('button', { name: 'Finish — wipe the shares from memory' }).click()
  await expect(page.getByRole('heading', { name: '4. Collect shares — Rekey: verify the new shares' })).toBeVisible()
  // The operation screen, while the new shares wait for their verification.
  await tessera.reopen()
  await expect(page.getByTestId('rekey-running')).toContainText('0 of 2 new shares verified')
  await expect(page.getByTestId('rekey-backup-held')).toContainText(
    'A backup of the encrypted new shares of the rekey running now is held in memory only: it is gone once Tessera stops. Those shares are not in effect until the rekey completes; cancelling it drops this backup with them.',
  )
  await photograph(tessera, 'rekey-backup-pending')
  await page.getByRole('button', { name: 'Resume the rekey' }).click()
  await page.getByRole('button', { name: 'Cancel the rekey…' }).click()
  await page.getByRole('button', { name: 'Yes, cancel the rekey' }).click()
  await expect(page.getByTestId('rekey-cancelled')).toContainText('Its new shares are void.')
  await page.getByRole('button', { name: 'Back to the operations' }).click()
  await expect(page.getByRole('button', { name: 'Start: rekey' })).toBeVisible()
  // Their backup went with them, after a reload too.
  await expect(page.getByRole('heading', { name: 'Backup of the new shares' })).toHaveCount(0)
  await tessera.reopen()
  await expect(page.getByRole('button', { name: 'Start: rekey' })).toBeVisible()
  await expect(page.getByRole('heading', { name: 'Backup of the new shares' })).toHaveCount(0)
  await photograph(tessera, 'rekey-cancelled-no-backup')
})

test('a reload mid-rekey resumes it: the current shares, then the hand-out, then the verification', async ({ tessera }) => {
  const { page, keyset } = tessera
  await fillRekey(page, { shares: 2, threshold: 2, verification: /A threshold of the new shares/ })
  await page.getByRole('button', { name: 'Start the rekey' }).click()
  await enterShare(page, 'Alice', keyset.keys[0]!)
  await expect(page.getByTestId('progress')).toHaveText('1 of 2')
  await tessera.reopen()
  await expect(page.getByTestId('rekey-running')).toContainText('1 of 2 current shares given')
  await page.getByRole('button', { name: 'Resume the rekey' }).click()
  await expect(page.getByTestId('progress')).toHaveText('1 of 2')
  await expect(page.getByTestId('log')).toContainText('Alice: accepted share 1 (Alice) (1 of 2)')
  await enterShare(page, 'Bob', keyset.keys[1]!)
  await page.getByRole('button', { name: 'Show share 1' }).click()
  const first = ((await page.getByTestId('secret-value').textContent()) ?? '').replace(/\s+/g, '')
  await page.getByRole('button', { name: 'I have recorded share 1: hide it' }).click()
  await tessera.reopen()
  await expect(page.getByText('Holder 2 of 2')).toBeVisible()
  await expectStep(page, '5. Result')
  await expect(page.getByTestId('rekey-handout-note')).toContainText('each enters it back to verify it')
  const [second] = await handOut(page, 2, 2)
  await page.getByRole('button', { name: 'Finish — wipe the shares from memory' }).click()
  await enterShare(page, 'One', first)
  await expect(page.getByTestId('progress')).toHaveText('1 of 2')
  await tessera.reopen()
  await expect(page.getByTestId('rekey-running')).toContainText('1 of 2 new shares verified')
  await page.getByRole('button', { name: 'Resume the rekey' }).click()
  await expect(page.getByRole('heading', { name: '4. Collect shares — Rekey: verify the new shares' })).toBeVisible()
  await enterShare(page, 'Two', second!)
  await expect(page.getByTestId('rekey-complete')).toContainText('2 of 2 shares now open')
})

test('keyboard only: the rekey form, the current shares, the hand-out and the verification', async ({ tessera }) => {
  const { page, keyset } = tessera
  const enter = (name: string, share: string) => typeShare(page, name, share)
  await expect(page.getByRole('heading', { name: '2. Operation' })).toBeVisible()
  await typeRekeyCounts(page, 2, 2)
  await tabTo(page, page.getByRole('button', { name: 'Start the rekey' }))
  await page.keyboard.press('Enter')
  await enter('Alice', keyset.keys[0]!)
  await expect(page.getByTestId('progress')).toHaveText('1 of 2')
  await enter('Bob', keyset.keys[1]!)
  const fresh = await handOutByKeyboard(page, 2)
  await tabTo(page, page.getByRole('button', { name: 'Finish — wipe the shares from memory' }))
  await page.keyboard.press('Enter')
  await enter('One', fresh[0]!)
  await expect(page.getByTestId('progress')).toHaveText('1 of 2')
  await enter('Two', fresh[1]!)
  await expect(page.getByTestId('rekey-complete')).toBeVisible()
  await expect(page.getByRole('heading', { name: 'Rekey complete' })).toBeFocused()
})

/** A fresh public key per holder, each saved as `<name>.asc` in `dir`: the files' paths, in order. */
async function publicKeyFiles(dir: string, names: string[]): Promise<string[]> {
  const files: string[] = []
  for (const name of names) {
    const { publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name }], format: 'armored' })
    files.push(join(dir, `${name}.asc`))
    await writeFile(files.at(-1)!, publicKey)
  }
  return files
}
