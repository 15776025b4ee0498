import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test, expect, fillEncryptedKeyset, photograph } from './fixtures'
import { Gpg } from '../test/helpers/gnupg'

let gpg: Gpg
test.beforeAll(() => {
  gpg = new Gpg()
  gpg.generate('Alice <alice@example.org>')
})
test.afterAll(() => gpg.close())

test('one PGP key for two holders is refused at create and in the share flow, until the operator confirms it', async ({ tessera }) => {
  const { page, dir, shot, axe } = tessera
  // The same key twice, as two files: armored, and binary.
  const armored = join(dir, 'alice.asc')
  const binary = join(dir, 'alice.gpg')
  await writeFile(armored, gpg.exportPublic('alice@example.org', true))
  await writeFile(binary, gpg.exportPublic('alice@example.org'))

  const created = join(dir, 'shared.json')
  await fillEncryptedKeyset(page, created, [armored, binary])
  await page.getByRole('button', { name: 'Create keyset' }).click()
  await expect(page.getByTestId('create-error')).toContainText(/Share 2 and share 1 have the same PGP key \(fingerprint ([0-9A-F]{4} ){9}[0-9A-F]{4}\): one person would hold both shares/)
  await expect(page.getByTestId('create-error')).toContainText('tick "One person holds several of these shares"')
  await shot('create-refused')
  await axe()

  await page.getByLabel(/One person holds several of these shares/).check()
  await page.getByRole('button', { name: 'Create keyset' }).click()
  await expect(page.getByRole('heading', { name: 'Encrypted shares' })).toBeVisible()
  for (const n of [1, 2]) {
    const download = page.waitForEvent('download')
    await page.getByRole('button', { name: `Save holder ${n}'s file`, exact: true }).click()
    await (await download).saveAs(join(dir, `share-${n}.gpg`))
  }
  await page.getByRole('button', { name: 'Continue to the root token' }).click()
  await page.getByRole('button', { name: /Finish — wipe/ }).click()
  await page.getByRole('button', { name: 'Finish without the root token' }).click()
  // The keyset knows each share's key, and the record of its creation says a key is shared.
  const shares = JSON.parse(await readFile(created, 'utf8')).issued_shares
  expect(shares[0].pgp_keys).toEqual(shares[1].pgp_keys)
  expect((await recorded(dir, 'keyset_created')).map((e) => e.data.shared_key)).toEqual([true])

  // A new share for the same key: its owner already holds two.
  await page.getByRole('button', { name: 'Start: new key share' }).click()
  await page.getByLabel(/New holder's name/).fill('Dana')
  await page.getByLabel(/Public key file/).setInputFiles(armored)
  await page.getByLabel(/The new holder confirmed this fingerprint/).check()
  await page.getByRole('button', { name: 'Start the attempt' }).click()
  await expect(page.getByTestId('protection-error')).toContainText(/The new share and share 1 have the same PGP key/)
  await shot('share-flow-refused')
  await axe()
  await page.getByLabel(/already holds a share, and may hold several/).check()
  await shot('share-flow-confirmed')
  await page.getByRole('button', { name: 'Start the attempt' }).click()
  await expect(page.getByTestId('attempt-fingerprint')).toBeVisible()
  await photograph(tessera, 'share-flow-shared-key')
  expect((await recorded(dir, 'attempt_started')).map((e) => e.data)).toEqual([expect.objectContaining({ flow: 'share', shared_key: true })])
})

/** Every event of `type` in the records the app wrote (its config folder's records). */
async function recorded(dir: string, type: string): Promise<any[]> {
  const folder = join(dir, 'config', 'records')
  const files = (await readdir(folder)).filter((f) => f.endsWith('.jsonl'))
  const lines = await Promise.all(files.map(async (f) => (await readFile(join(folder, f), 'utf8')).trim().split('\n').map((l) => JSON.parse(l))))
  return lines.flat().filter((l) => l.type === type)
}

test('Create waits for every key file still being read, and sends each key for its own holder', async ({ tessera }) => {
  const { page, dir } = tessera
  const armored = join(dir, 'alice.asc')
  await writeFile(armored, gpg.exportPublic('alice@example.org', true))
  // The first key's check is slow, the second's fast: they come back in the other order.
  let calls = 0
  await page.route('**/rpc/pgp.inspect', async (route) => {
    if (calls++ === 0) await new Promise((r) => setTimeout(r, 1500))
    await route.continue()
  })
  await fillEncryptedKeyset(page, join(dir, 'slow.json'), [armored, armored])
  await page.getByRole('button', { name: 'Create keyset' }).click()
  // Both keys were sent: main names the one key given for two holders, not a missing one.
  await expect(page.getByTestId('create-error')).toContainText('Share 2 and share 1 have the same PGP key')
})
