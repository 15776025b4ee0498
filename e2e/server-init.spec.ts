import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Page } from '@playwright/test'
import { test, expect, photograph } from './fixtures'
import { startServe, type ServeProcess } from '../test/helpers/cli'
import { Gpg } from '../test/helpers/gnupg'

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
  await page.getByRole('button', { name: 'Change' }).click()
  const remote = page.getByRole('region', { name: 'Remote server' })
  await remote.getByRole('button', { name: 'Add a server profile' }).click()
  await remote.getByLabel('Name', { exact: true }).fill('Fresh')
  await remote.getByLabel(/Address/).fill(server.url)
  await remote.getByRole('button', { name: 'Save profile' }).click()
  await remote.getByRole('button', { name: 'Connect', exact: true }).click()
  await expect(page.getByTestId('uninitialized')).toBeVisible()
}

/** The one server check file beside the profiles. */
async function checkFile(configDir: string): Promise<string> {
  const dir = join(configDir, 'server-checks')
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json'))
  expect(files).toHaveLength(1)
  return readFile(join(dir, files[0]!), 'utf8')
}

/** One call of the server's HTTP API, as any Vault client makes it. */
async function callApi(url: string, method: string, path: string, body?: unknown): Promise<{ json: unknown }> {
  const res = await fetch(`${url}/v1/${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
  return { json: await res.json() }
}

const sealStatus = async (server: ServeProcess) => (await callApi(server.url, 'GET', 'sys/seal-status')).json as { initialized: boolean; sealed: boolean }

async function unseals(server: ServeProcess, keys: string[]): Promise<boolean> {
  let sealed = true
  for (const key of keys) sealed = ((await callApi(server.url, 'PUT', 'sys/unseal', { key })).json as { sealed: boolean }).sealed
  return !sealed
}

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
    const names = ['Alice', 'Bob', 'Carol']
    for (const [i, name] of names.entries()) await page.getByLabel(`Holder ${i + 1}`, { exact: true }).fill(name)
    await photograph(tessera, 'server-init-form')
    await page.getByRole('button', { name: 'Initialize the server' }).click()

    await expect(page.getByText('Holder 1 of 3 — Alice')).toBeVisible()
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
    expect(checks.shares.map((s: { number: number; holder: string }) => [s.number, s.holder])).toEqual([[1, 'Alice'], [2, 'Bob'], [3, 'Carol']])
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
      await expect(page.getByTestId(`holder-key-${i}`)).toBeVisible()
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
