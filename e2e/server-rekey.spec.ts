import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Page } from '@playwright/test'
import { test, expect, enterShare, photograph } from './fixtures'
import { startServe } from '../test/helpers/cli'
import { mistypeAt } from '../test/helpers/keysets'
import { expectStep, fillRekey, handOut, handOutByKeyboard, tabTo, typeRekeyCounts, typeShare } from './ceremony-steps'
import { addProfile, callApi, decryptHandOut, fillPgpRekey, initNamed, pgpHolders, reconnect, sealStatus, unseals } from './servers'

// A rekey of a real server from the app: `tessera serve` processes reached
// through saved profiles, on the legacy sys/rekey/* and on the 2026
// sys/rotate/root/*. The current shares on the collect screen, the new
// shares through the hand-out, their verification on the collect screen again.

const HOLDERS = ['Alice', 'Bob', 'Carol']
const NEW_HOLDERS = ['Dana', 'Eve', 'Frank', 'Gina', 'Hal']

/** Gives `shares` to the app's Unseal, one holder each, and goes back to the operations once the server is unsealed. */
async function unsealInApp(page: Page, holders: string[], shares: string[]): Promise<void> {
  await page.getByRole('button', { name: 'Unseal…' }).click()
  for (const [i, share] of shares.entries()) {
    await page.getByLabel(/Your name or role/).fill(holders[i]!)
    await page.getByLabel('Key share').fill(share)
    await page.getByRole('button', { name: 'Send to every sealed node' }).click()
    await expect(page.getByLabel(/Your name or role/)).toHaveValue('')
  }
  await expect(page.getByTestId('all-unsealed')).toContainText('Every node is unsealed.')
  await page.getByRole('button', { name: 'Back to the operations' }).click()
}

test('legacy sys/rekey: a server Tessera initialized, rekeyed 2-of-3 to 3-of-5 with a threshold verified; sealed, it opens with the new shares only', async ({ tessera }) => {
  test.slow()
  const { page, dir } = tessera
  const server = await startServe(['--keyset', join(dir, 'server.json'), '--uninitialized'])
  try {
    await addProfile(page, server, 'Lab')
    const { shares, token } = await initNamed(page, HOLDERS)
    await unsealInApp(page, ['Alice', 'Bob'], shares.slice(0, 2))
    // Without a token, sys/rekey/backup cannot be read: the screen says so rather than "no backup".
    await expect(page.getByTestId('rekey-backup-unknown')).toContainText("Whether the server keeps a backup of a rekey's new shares could not be read")
    await photograph(tessera, 'server-operation-backup-unknown')

    await fillRekey(page, { shares: 5, threshold: 3, holders: NEW_HOLDERS, verification: /A threshold of the new shares/ })
    // A server applies new shares as it makes them: "none" is not offered, and the form says why.
    await expect(page.getByLabel(/No verification/)).toHaveCount(0)
    await expect(page.getByTestId('verification-none-why')).toContainText('a server puts its new shares in effect the moment it makes them')
    await expect(page.getByTestId('rekey-check-file')).toContainText("The server check file follows this rekey: its generation 2 holds the new shares' check values")
    await expectStep(page, '2. Operation')
    await photograph(tessera, 'server-rekey-form')
    // A backup has the server encrypt the new shares: the form says the check file is retired before anything starts.
    await page.getByLabel(/Encrypt each new share/).check()
    await page.getByLabel(/Keep a backup/).check()
    await expect(page.getByTestId('rekey-check-file')).toContainText('the server check file (generation 1) is retired once they take effect')
    await photograph(tessera, 'server-rekey-form-backup')
    await page.getByLabel(/Encrypt each new share/).uncheck()
    await expect(page.getByTestId('rekey-check-file')).toContainText('The server check file follows this rekey')
    await page.getByRole('button', { name: 'Start the rekey' }).click()

    await expect(page.getByRole('heading', { name: '4. Collect shares — Rekey: current shares' })).toBeVisible()
    await expectStep(page, '4. Collect shares')
    await expect(page.getByTestId('rekey-parameters')).toContainText('New shares: 3 of 5, for Dana, Eve, Frank, Gina, Hal; a threshold of them entered back before they take effect.')
    await enterShare(page, 'Alice', shares[0]!)
    await expect(page.getByTestId('progress')).toHaveText('1 of 2')
    await photograph(tessera, 'server-rekey-current')
    await enterShare(page, 'Carol', shares[2]!)

    await expect(page.getByText('Holder 1 of 5 — Dana')).toBeVisible()
    await expectStep(page, '5. Result')
    await photograph(tessera, 'server-rekey-handout')
    const fresh = await handOut(page, 5)
    expect(new Set(fresh).size).toBe(5)
    for (const s of fresh) expect(s).toMatch(/^[0-9a-f]{66}$/)
    await page.getByRole('button', { name: 'Finish — wipe the shares from memory' }).click()

    await expect(page.getByRole('heading', { name: '4. Collect shares — Rekey: verify the new shares' })).toBeVisible()
    await expectStep(page, '4. Collect shares')
    // A mistyped new share is refused against the check file's next generation, before the server hears of it.
    await enterShare(page, 'Eve', mistypeAt(fresh[1]!, 12))
    await expect(page.getByTestId('collect-error')).toHaveText('This does not match share 2 (Eve) — probably a typing mistake.')
    await expect(page.getByTestId('progress')).toHaveText('0 of 3')
    expect((await callApi(server.url, 'GET', 'sys/rekey/verify')).json).toMatchObject({ progress: 0 })
    await photograph(tessera, 'server-rekey-verify-refused')
    await enterShare(page, 'Eve', fresh[1]!)
    await enterShare(page, 'Hal', fresh[4]!)
    await expect(page.getByTestId('progress')).toHaveText('2 of 3')
    await photograph(tessera, 'server-rekey-verify')
    await enterShare(page, 'Dana', fresh[0]!)
    await expect(page.getByTestId('rekey-complete')).toContainText('The new shares are in effect: 3 of 5 shares now open')
    await expectStep(page, '5. Result')
    // Without a token the result cannot say whether an earlier rekey's backup is still held: it says so, and how to check.
    const unknown = page.getByTestId('rekey-backup-unknown')
    await expect(unknown).toContainText('This rekey asked for no backup of its new shares; an earlier rekey may have left one.')
    await expect(unknown).toContainText("Whether the server keeps a backup of a rekey's new shares could not be read")
    await expect(unknown).toContainText('vault operator rekey -backup-retrieve')
    await photograph(tessera, 'server-rekey-complete')
    expect(await sealStatus(server)).toMatchObject({ sealed: false, t: 3, n: 5 })

    // Sealed by its operator, the server opens with the new shares; an old one is refused.
    expect((await callApi(server.url, 'PUT', 'sys/seal', undefined, token)).status).toBe(204)
    await page.getByRole('button', { name: 'Back to the operations' }).click()
    await page.getByRole('button', { name: 'Change' }).click()
    await reconnect(page, server, 'Lab')
    await page.getByRole('button', { name: 'Unseal…' }).click()
    await page.getByLabel(/Your name or role/).fill('Alice')
    await page.getByLabel('Key share').fill(shares[0]!)
    await page.getByRole('button', { name: 'Send to every sealed node' }).click()
    // The check file keeps generation 1 as replaced: an old share is named so, whatever its
    // number (a new share may carry the same one), before any node hears of it.
    await expect(page.getByTestId('share-checks')).toContainText('against the server check file of generation 2')
    await expect(page.getByTestId('unseal-error')).toHaveText(
      `This share is from generation 1 of this server's shares; it was replaced on ${new Date().toISOString().slice(0, 10)}: a rekey made new shares, and only those open it now.`,
    )
    await expect(page.getByTestId('node-1-last')).toHaveText('—')
    await expect(page.getByTestId('node-1-progress')).toHaveText('0 of 3')
    await photograph(tessera, 'server-rekey-old-refused')
    for (const [i, name] of ['Frank', 'Gina', 'Hal'].entries()) {
      await page.getByLabel(/Your name or role/).fill(name)
      await page.getByLabel('Key share').fill(fresh[i + 2]!)
      await page.getByRole('button', { name: 'Send to every sealed node' }).click()
      await expect(page.getByLabel(/Your name or role/)).toHaveValue('')
    }
    await expect(page.getByTestId('all-unsealed')).toContainText('Every node is unsealed.')
    expect(await sealStatus(server)).toMatchObject({ sealed: false })
  } finally {
    await server.stop()
  }
})

test('sys/rotate/root of a 2026 server, the profile holding its token: every new share verified, from the keyboard alone, across a reload', async ({ tessera }) => {
  test.slow()
  const { page, keyset, keysetPath } = tessera
  const server = await startServe(['--keyset', keysetPath, '--require-token'])
  try {
    await addProfile(page, server, 'Bao', keyset.root_token)
    await typeRekeyCounts(page, 3, 2)
    // The server offers every share back: the radio group is reached by Tab, its choice made by arrow.
    await tabTo(page, page.getByLabel(/A threshold of the new shares/))
    await page.keyboard.press('ArrowDown')
    await expect(page.getByLabel(/Every new share is entered back/)).toBeChecked()
    await expect(page.getByLabel(/No verification/)).toHaveCount(0)
    await tabTo(page, page.getByRole('button', { name: 'Start the rekey' }))
    await page.keyboard.press('Enter')

    await expect(page.getByTestId('rekey-parameters')).toContainText('New shares: 2 of 3; every one entered back before it takes effect.')
    await typeShare(page, 'Alice', keyset.keys[0]!)
    await expect(page.getByTestId('progress')).toHaveText('1 of 2')
    await typeShare(page, 'Bob', keyset.keys[1]!)
    const fresh = await handOutByKeyboard(page, 3)
    await tabTo(page, page.getByRole('button', { name: 'Finish — wipe the shares from memory' }))
    await page.keyboard.press('Enter')
    await typeShare(page, 'New 1', fresh[0]!)
    await expect(page.getByTestId('progress')).toHaveText('1 of 3')

    // A reload mid-verification: the rekey is read again from the server, and resumed.
    await tessera.reopen()
    await expect(page.getByTestId('rekey-running')).toContainText('1 of 3 new shares verified')
    await tabTo(page, page.getByRole('button', { name: 'Resume the rekey' }))
    await page.keyboard.press('Enter')
    await expect(page.getByRole('heading', { name: '4. Collect shares — Rekey: verify the new shares' })).toBeVisible()
    await tabTo(page, page.getByLabel(/Your name or role/))
    await typeShare(page, 'New 3', fresh[2]!)
    // A threshold is not enough: every share is asked.
    await expect(page.getByTestId('progress')).toHaveText('2 of 3')
    await typeShare(page, 'New 2', fresh[1]!)
    await expect(page.getByTestId('rekey-complete')).toContainText('2 of 3 shares now open')
    await expect(page.getByRole('heading', { name: 'Rekey complete' })).toBeFocused()
    expect(await sealStatus(server)).toMatchObject({ sealed: false, t: 2, n: 3 })
    // The old shares no longer open the server; two new ones do.
    expect((await callApi(server.url, 'PUT', 'sys/seal', undefined, keyset.root_token)).status).toBe(204)
    const refused = await callApi(server.url, 'PUT', 'sys/unseal', { key: keyset.keys[0] })
    expect(JSON.stringify(refused.json)).toContain('replaced')
    expect(await unseals(server, [fresh[2]!, fresh[0]!])).toBe(true)
  } finally {
    await server.stop()
  }
})

test('a server with no check file, rekeyed to PGP keys with a backup: each holder decrypts their file to verify it; the backup is saved, then deleted', async ({ tessera }) => {
  test.slow()
  const { page, keyset, keysetPath, dir } = tessera
  const server = await startServe(['--keyset', keysetPath])
  const pgp = await pgpHolders(dir, ['Dana', 'Eve', 'Frank'])
  try {
    await addProfile(page, server, 'Plain', keyset.root_token)
    await expect(page.getByTestId('share-checks')).toContainText('No server check file')
    await fillPgpRekey(page, pgp)
    await expect(page.getByTestId('rekey-key-2')).toContainText('Frank')
    await expect(page.getByTestId('rekey-check-file')).toHaveText('This server has no server check file: shares are checked by the server alone, as Vault does.')
    await page.getByLabel(/Keep a backup/).check()
    await expect(page.getByText('kept by the server, encrypted to the keys above, until deleted')).toBeVisible()
    await photograph(tessera, 'server-rekey-pgp-form')
    await page.getByRole('button', { name: 'Start the rekey' }).click()
    await enterShare(page, 'Alice', keyset.keys[0]!)
    await enterShare(page, 'Carol', keyset.keys[2]!)

    // The hand-out: a file per holder, each opened with that holder's private key only.
    await expect(page.getByRole('heading', { name: 'Encrypted shares' })).toBeVisible()
    await photograph(tessera, 'server-rekey-pgp-handout')
    const { saved, fresh } = await decryptHandOut(page, pgp)
    for (const s of fresh) expect(s).toMatch(/^[0-9a-f]{66}$/)
    await page.getByRole('button', { name: 'Continue' }).click()
    await page.getByRole('button', { name: 'Finish — wipe the shares from memory' }).click()
    await enterShare(page, 'Frank', fresh[2]!)
    await enterShare(page, 'Dana', fresh[0]!)
    await expect(page.getByTestId('rekey-complete')).toContainText('2 of 3 shares now open')
    await expect(page.getByRole('heading', { name: 'Backup of the new shares' })).toBeVisible()
    await photograph(tessera, 'server-rekey-backup')

    const json = page.waitForEvent('download')
    await page.getByRole('button', { name: 'Save the backup as JSON' }).click()
    const backup = JSON.parse(await readFile((await (await json).path())!, 'utf8'))
    expect(Object.values(backup.keys_base64)).toEqual(saved.map((s) => [s]))
    // The token on the profile chose OpenBao's sys/rotate/root: the server holds the backup there until it is deleted.
    expect((await callApi(server.url, 'GET', 'sys/rotate/root/backup', undefined, keyset.root_token)).status).toBe(200)
    await page.getByRole('button', { name: 'Delete the backup' }).click()
    await expect(page.getByRole('button', { name: 'Save the backup as JSON' })).toHaveCount(0)
    // Deleted on the server, not only from the screen.
    expect((await callApi(server.url, 'GET', 'sys/rotate/root/backup', undefined, keyset.root_token)).status).toBe(400)
  } finally {
    await server.stop()
  }
})

test('a legacy server reached without a token, rekeyed with a backup: the result says the backup cannot be read, and how to check and delete it', async ({ tessera }) => {
  test.slow()
  const { page, keyset, keysetPath, dir } = tessera
  const server = await startServe(['--keyset', keysetPath])
  const pgp = await pgpHolders(dir, ['Dana', 'Eve', 'Frank'])
  try {
    await addProfile(page, server, 'No token')
    await fillPgpRekey(page, pgp)
    await page.getByLabel(/Keep a backup/).check()
    await page.getByRole('button', { name: 'Start the rekey' }).click()
    await enterShare(page, 'Alice', keyset.keys[0]!)
    await enterShare(page, 'Carol', keyset.keys[2]!)
    const { fresh } = await decryptHandOut(page, pgp)
    await page.getByRole('button', { name: 'Continue' }).click()
    await page.getByRole('button', { name: 'Finish — wipe the shares from memory' }).click()
    await enterShare(page, 'Eve', fresh[1]!)
    await enterShare(page, 'Dana', fresh[0]!)
    await expect(page.getByTestId('rekey-complete')).toContainText('2 of 3 shares now open')
    const unknown = page.getByTestId('rekey-backup-unknown')
    await expect(unknown).toContainText('This rekey asked the server to keep a backup of its encrypted new shares.')
    await expect(unknown).toContainText('could not be read. The server refuses sys/rekey/backup without a token')
    await expect(unknown).toContainText('vault operator rekey -backup-retrieve shows it and vault operator rekey -backup-delete deletes it')
    await expect(page.getByRole('button', { name: 'Save the backup as JSON' })).toHaveCount(0)
    await photograph(tessera, 'server-rekey-backup-unknown')
    // What the screen could not read is there: the server holds this rekey's backup, for a token.
    const held = await callApi(server.url, 'GET', 'sys/rekey/backup', undefined, keyset.root_token)
    expect(held.status).toBe(200)
    expect(Object.keys((held.json as { data: { keys: Record<string, string[]> } }).data.keys)).toHaveLength(3)
  } finally {
    await server.stop()
  }
})

test('a 2026 server reached without a token offers no rekey, and the Operation screen says why', async ({ tessera }) => {
  const { page, keysetPath } = tessera
  const server = await startServe(['--keyset', keysetPath, '--require-token'])
  try {
    await addProfile(page, server, 'No token')
    await expect(page.getByTestId('rekey-unavailable')).toContainText('Not offered: ')
    await expect(page.getByTestId('rekey-unavailable')).toContainText('token')
    await expect(page.getByRole('button', { name: 'Start: rekey' })).toHaveCount(0)
    await photograph(tessera, 'server-rekey-unavailable')
  } finally {
    await server.stop()
  }
})
