import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Page } from '@playwright/test'
import { test, expect, enterShare, photograph } from './fixtures'
import { startServe, type ServeProcess } from '../test/helpers/cli'
import { Gpg } from '../test/helpers/gnupg'
import { addProfile, callApi, checkFile, initNamed, reconnect, sealStatus, unseals } from './servers'
import { expectStep } from './ceremony-steps'

// Initializing a real server from the app: `tessera serve --uninitialized`
// answers as a Vault before init, reached through a saved profile.

let gpg: Gpg
test.beforeAll(() => {
  gpg = new Gpg()
  for (const name of ['alice', 'bob', 'carol', 'root']) gpg.generate(`${name} <${name}@example.org>`)
})
test.afterAll(() => gpg.close())

/** Saves a profile for `server` and connects to it: the Operation screen of a server before init. */
async function connect(page: Page, server: ServeProcess): Promise<void> {
  await addProfile(page, server, 'Fresh')
  await expect(page.getByTestId('uninitialized')).toBeVisible()
}

const NAMES = ['Alice', 'Bob', 'Carol']

test('init a server with named holders: each share shown once, a check file that holds none', async ({ tessera }) => {
  const { page, dir } = tessera
  const server = await startServe(['--keyset', join(dir, 'server.json'), '--uninitialized'])
  try {
    await connect(page, server)
    // Nothing that cannot run before init is offered.
    await expect(page.getByRole('button', { name: /^Start: / })).toHaveCount(0)
    await expect(page.getByTestId('quorum')).toHaveCount(0)
    await expect(page.getByLabel('New keyset file')).toHaveCount(0)
    await page.getByLabel('Shares').fill('3')
    await page.getByLabel('Threshold').fill('2')
    for (const [i, name] of NAMES.entries()) await page.getByLabel(`Holder ${i + 1}`, { exact: true }).fill(name)
    await expectStep(page, '2. Operation')
    await photograph(tessera, 'server-init-form')
    await page.getByRole('button', { name: 'Initialize the server' }).click()

    await expect(page.getByText('Holder 1 of 3 — Alice')).toBeVisible()
    // The shares and the root token are what the init made: its result.
    await expectStep(page, '5. Result')
    await expect(page.getByTestId('check-file')).toContainText('Server check file written')
    // A server's share has no card: cards are laid out for a keyset's shares.
    await expect(page.getByRole('button', { name: 'Print my share card' })).toHaveCount(0)
    await photograph(tessera, 'server-init-handout')
    const shares: string[] = []
    for (let i = 1; i <= 3; i++) {
      await page.getByRole('button', { name: `Show share ${i}` }).click()
      shares.push((await page.getByTestId('secret-value').textContent())!.replace(/\s/g, ''))
      await page.getByRole('button', { name: `I have recorded share ${i}: hide it` }).click()
    }
    for (const s of shares) expect(s).toMatch(/^[0-9a-f]{66}$/)
    await page.getByRole('button', { name: 'Show the root token' }).click()
    const token = (await page.getByTestId('secret-value').textContent())!.trim()
    expect(token).toMatch(/^hvs\./)
    await page.getByRole('button', { name: /Finish — wipe/ }).click()
    await expect(page.getByTestId('uninitialized')).toHaveCount(0)
    await photograph(tessera, 'server-init-finished')

    const file = await checkFile(join(dir, 'config'))
    const checks = JSON.parse(file)
    expect(checks.shares.map((s: { number: number; holder: string }) => s.holder)).toEqual(NAMES)
    for (const s of shares) {
      expect(file).not.toContain(s)
      expect(file).not.toContain(Buffer.from(s, 'hex').toString('base64'))
    }
    expect(file).not.toContain(token)
    // The shares shown are the server's.
    expect(await sealStatus(server)).toMatchObject({ initialized: true, sealed: true })
    expect(await unseals(server, [shares[2]!, shares[0]!])).toBe(true)
  } finally {
    await server.stop()
  }
})

test('init a server with PGP keys: each holder\'s file opens with their gpg, the root token too', async ({ tessera }) => {
  test.slow()
  const { page, dir } = tessera
  const server = await startServe(['--keyset', join(dir, 'server.json'), '--uninitialized'])
  try {
    await connect(page, server)
    await page.getByLabel('Shares').fill('3')
    await page.getByLabel('Threshold').fill('3')
    await page.getByLabel(/Encrypt each share/).check()
    for (const [i, name] of ['alice', 'bob', 'carol'].entries()) {
      const key = join(dir, `${name}.gpg`)
      await writeFile(key, gpg.exportPublic(`${name}@example.org`))
      await page.getByLabel(`Holder ${i + 1} public key`).setInputFiles(key)
      await expect(page.getByTestId(`init-key-${i}`)).toBeVisible()
    }
    const rootKey = join(dir, 'root.asc')
    await writeFile(rootKey, gpg.exportPublic('root@example.org', true))
    await page.getByLabel(/Root token PGP key/).setInputFiles(rootKey)
    await expect(page.getByTestId('root-key')).toContainText('root@example.org')
    await photograph(tessera, 'server-init-pgp-form')
    await page.getByRole('button', { name: 'Initialize the server' }).click()

    await expect(page.getByRole('heading', { name: 'Encrypted shares' })).toBeVisible()
    const shares: string[] = []
    for (let i = 1; i <= 3; i++) {
      const download = page.waitForEvent('download')
      await page.getByRole('button', { name: `Save holder ${i}'s file`, exact: true }).click()
      const saved = join(dir, (await download).suggestedFilename())
      await (await download).saveAs(saved)
      shares.push(gpg.run(['-d', saved]).toString())
    }
    for (const s of shares) expect(s).toMatch(/^[0-9a-f]{66}$/)
    await page.getByRole('button', { name: 'Continue to the root token' }).click()
    await photograph(tessera, 'server-init-pgp-token')
    const download = page.waitForEvent('download')
    await page.getByRole('button', { name: 'Save the root token file' }).click()
    const saved = join(dir, (await download).suggestedFilename())
    await (await download).saveAs(saved)
    expect(gpg.run(['-d', saved]).toString()).toMatch(/^hvs\./)
    await page.getByRole('button', { name: /Finish — wipe/ }).click()

    const file = await checkFile(join(dir, 'config'))
    for (const s of shares) expect(file).not.toContain(s)
    expect(await unseals(server, shares)).toBe(true)
  } finally {
    await server.stop()
  }
})

test('an init that cannot run is explained: 1 of 3 on the form, a server initialized meanwhile by the server', async ({ tessera }) => {
  const { page, dir } = tessera
  const server = await startServe(['--keyset', join(dir, 'server.json'), '--uninitialized'])
  try {
    await connect(page, server)
    await page.getByLabel('Shares').fill('3')
    await page.getByLabel('Threshold').fill('1')
    await expect(page.getByTestId('init-limits')).toContainText('With more than one share, the threshold must be at least 2.')
    await expect(page.getByRole('button', { name: 'Initialize the server' })).toBeDisabled()
    await photograph(tessera, 'server-init-limits')

    // Someone else initializes the server after it was connected.
    await callApi(server.url, 'PUT', 'sys/init', { secret_shares: 1, secret_threshold: 1 })
    await page.getByLabel('Threshold').fill('2')
    await page.getByRole('button', { name: 'Initialize the server' }).click()
    await expect(page.getByTestId('create-error')).toContainText('The server is already initialized (perhaps by someone else since it was connected)')
    await expect(page.getByTestId('create-error')).toContainText('Server said: Vault is already initialized')
    await expect(page.getByText('Holder 1 of 3')).toHaveCount(0)
    await photograph(tessera, 'server-init-refused')
  } finally {
    await server.stop()
  }
})

/** `share` with its character at `at` changed to another hex digit. */
const mistype = (share: string, at: number) => `${share.slice(0, at)}${share[at] === '0' ? '1' : '0'}${share.slice(at + 1)}`

test('a server Tessera initialized checks each share as it is entered; one it did not says so', async ({ tessera }) => {
  test.slow()
  const { page, dir } = tessera
  const plain = await startServe(['--keyset', tessera.keysetPath])
  const server = await startServe(['--keyset', join(dir, 'server.json'), '--uninitialized'])
  try {
    // A server with no check file keeps Vault's behaviour, and the screen says so.
    await addProfile(page, plain, 'Elsewhere')
    await expect(page.getByTestId('share-checks')).toHaveText(/^No server check file: .* as Vault does\.$/)
    await expect(page.getByRole('button', { name: 'Check shares…' })).toHaveCount(0)

    await addProfile(page, server, 'Fresh')
    const { shares } = await initNamed(page, NAMES)
    expect(await unseals(server, shares.slice(0, 2))).toBe(true)
    // A later ceremony: the profile connected again reads the check file.
    await page.getByRole('button', { name: 'Change' }).click()
    await reconnect(page, server, 'Fresh')
    await expect(page.getByTestId('share-checks')).toContainText('Each share is checked as it is entered, against the server check file')
    await photograph(tessera, 'server-checked-operation')

    await page.getByRole('button', { name: 'Check shares…' }).click()
    const field = page.getByLabel(/^Key share/)
    await field.fill(shares[2]!)
    await page.getByRole('button', { name: 'Check share' }).click()
    await expect(page.getByTestId('check-verdict')).toHaveText('share 3 of 3 (Carol): valid')
    await field.fill(mistype(shares[1]!, 10))
    await page.getByRole('button', { name: 'Check share' }).click()
    await expect(page.getByTestId('check-verdict')).toHaveText('Not valid: this does not match share 2 (Bob) — probably a typing mistake')
    await photograph(tessera, 'server-check-shares')
    await page.getByRole('button', { name: 'Done' }).click()

    await page.getByRole('button', { name: 'Start: root token' }).click()
    await page.getByRole('button', { name: 'Start the attempt' }).click()
    await enterShare(page, 'Bob', mistype(shares[1]!, 20))
    await expect(page.getByTestId('collect-error')).toHaveText('This does not match share 2 (Bob) — probably a typing mistake.')
    await expect(page.getByTestId('progress')).toHaveText('0 of 2')
    await photograph(tessera, 'server-collect-refused')
    await page.getByLabel('Key share').fill(shares[1]!)
    await page.getByRole('button', { name: 'Submit share' }).click()
    await expect(page.getByTestId('accepted')).toHaveText('Accepted share 2 (Bob) from Bob.')
    await expect(page.getByTestId('progress')).toHaveText('1 of 2')
  } finally {
    await server.stop()
    await plain.stop()
  }
})

test('the unseal of a server Tessera initialized checks each share once, before any node', async ({ tessera }) => {
  const { page, dir } = tessera
  const server = await startServe(['--keyset', join(dir, 'server.json'), '--uninitialized'])
  try {
    await connect(page, server)
    const { shares } = await initNamed(page, NAMES)
    await page.getByRole('button', { name: 'Unseal…' }).click()
    await expect(page.getByTestId('share-checks')).toContainText('Each share is checked as it is entered, against the server check file of generation 1.')

    // A mistyped share is refused by name, and no node hears of it.
    await page.getByLabel(/Your name or role/).fill('Bob')
    await page.getByLabel('Key share').fill(mistype(shares[1]!, 20))
    await page.getByRole('button', { name: 'Send to every sealed node' }).click()
    await expect(page.getByTestId('unseal-error')).toContainText('This does not match share 2 (Bob) — probably a typing mistake.')
    await expect(page.getByTestId('unseal-log')).toContainText('Bob: This does not match share 2 (Bob) — probably a typing mistake. Sent to no node.')
    await expect(page.getByTestId('node-1-progress')).toHaveText('0 of 2')
    await expect(page.getByTestId('node-1-last')).toHaveText('—')
    expect(await sealStatus(server)).toMatchObject({ sealed: true, progress: 0 })
    await photograph(tessera, 'server-unseal-refused')

    await expect(page.getByLabel(/Your name or role/)).toHaveValue('Bob')
    await page.getByLabel('Key share').fill(shares[1]!)
    await page.getByRole('button', { name: 'Send to every sealed node' }).click()
    await expect(page.getByTestId('unseal-accepted')).toHaveText('Accepted share 2 (Bob) from Bob.')
    await expect(page.getByTestId('unseal-log')).toContainText('Bob: accepted share 2 (Bob): sent to every node still sealed')
    await expect(page.getByTestId('node-1-progress')).toHaveText('1 of 2')
    await photograph(tessera, 'server-unseal-accepted')
    await page.getByLabel(/Your name or role/).fill('Alice')
    await page.getByLabel('Key share').fill(shares[0]!)
    await page.getByRole('button', { name: 'Send to every sealed node' }).click()
    await expect(page.getByTestId('all-unsealed')).toContainText('Every node is unsealed.')
    expect(await sealStatus(server)).toMatchObject({ sealed: false })
  } finally {
    await server.stop()
  }
})
