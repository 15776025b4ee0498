import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as openpgp from 'openpgp'
import type { Page } from '@playwright/test'
import { expect } from './fixtures'
import { fillRekey, handOut } from './ceremony-steps'
import type { ServeProcess } from '../test/helpers/cli'

// Steps of the journeys on `tessera serve` processes reached through saved profiles.

/** Saves a profile named `name` for `server` (with `token` where given) and connects to it. */
export async function addProfile(page: Page, server: ServeProcess, name: string, token?: string): Promise<void> {
  await page.getByRole('button', { name: 'Change' }).click()
  const remote = page.getByRole('region', { name: 'Remote server' })
  await remote.getByRole('button', { name: 'Add a server profile' }).click()
  await remote.getByLabel('Name', { exact: true }).fill(name)
  await remote.getByLabel(/Address/).fill(server.url)
  if (token) await remote.getByLabel(/^Token/).fill(token)
  await remote.getByRole('button', { name: 'Save profile' }).click()
  await reconnect(page, server, name)
}

/** Connects to the saved profile `name` of `server`. */
export async function reconnect(page: Page, server: ServeProcess, name: string): Promise<void> {
  const remote = page.getByRole('region', { name: 'Remote server' })
  await remote.getByLabel('Server profile', { exact: true }).selectOption({ label: `${name} — ${server.url}` })
  await remote.getByRole('button', { name: 'Connect', exact: true }).click()
  await expect(page.getByTestId('backend-label')).toContainText(name)
}

/** Initializes the connected server, 2 of 3 for `names`, and hands each share out on screen: the shares and the root token. */
export async function initNamed(page: Page, names: string[]): Promise<{ shares: string[]; token: string }> {
  await page.getByLabel('Shares').fill(String(names.length))
  await page.getByLabel('Threshold').fill('2')
  for (const [i, name] of names.entries()) await page.getByLabel(`Holder ${i + 1}`, { exact: true }).fill(name)
  await page.getByRole('button', { name: 'Initialize the server' }).click()
  await expect(page.getByText(`Holder 1 of ${names.length} — ${names[0]}`)).toBeVisible()
  const shares = await handOut(page, names.length)
  await page.getByRole('button', { name: 'Show the root token' }).click()
  const token = (await page.getByTestId('secret-value').textContent())!.trim()
  await page.getByRole('button', { name: /Finish — wipe/ }).click()
  return { shares, token }
}

/** One call of the server's HTTP API, as any Vault client makes it. */
export async function callApi(url: string, method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${url}/v1/${path}`, {
    method,
    ...(token ? { headers: { 'X-Vault-Token': token } } : {}),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return { status: res.status, json: res.status === 204 ? null : await res.json() }
}

export const sealStatus = async (server: ServeProcess) => (await callApi(server.url, 'GET', 'sys/seal-status')).json as { initialized: boolean; sealed: boolean; t: number; n: number }

/** Gives `keys` to sys/unseal in turn: whether the server is unsealed after the last. */
export async function unseals(server: ServeProcess, keys: string[]): Promise<boolean> {
  let sealed = true
  for (const key of keys) sealed = ((await callApi(server.url, 'PUT', 'sys/unseal', { key })).json as { sealed: boolean }).sealed
  return !sealed
}

/** The one server check file beside the profiles in `configDir`. */
export async function checkFile(configDir: string): Promise<string> {
  const dir = join(configDir, 'server-checks')
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json'))
  expect(files).toHaveLength(1)
  return readFile(join(dir, files[0]!), 'utf8')
}

/** A PGP key pair for each of `names`, the public key written to `dir`/NAME.asc. */
export async function pgpHolders(dir: string, names: string[]): Promise<Array<{ name: string; file: string; privateKey: string }>> {
  return Promise.all(names.map(async (name) => {
    const pair = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name }], format: 'armored' })
    const file = join(dir, `${name}.asc`)
    await writeFile(file, pair.publicKey)
    return { name, file, privateKey: pair.privateKey }
  }))
}

/** Opens the rekey form: 2 of one new share per holder, verified by a threshold, each encrypted to its holder's key. */
export async function fillPgpRekey(page: Page, holders: Array<{ name: string; file: string }>): Promise<void> {
  await fillRekey(page, { shares: holders.length, threshold: 2, holders: holders.map((h) => h.name), verification: /A threshold of the new shares/ })
  await page.getByLabel(/Encrypt each new share/).check()
  for (const [i, { name, file }] of holders.entries()) await page.getByLabel(`${name}'s public key (holder ${i + 1})`).setInputFiles(file)
}

/** Saves each holder's file of the PGP hand-out and opens it with that holder's private key only: the files (base64) and the new shares. */
export async function decryptHandOut(page: Page, holders: Array<{ privateKey: string }>): Promise<{ saved: string[]; fresh: string[] }> {
  await expect(page.getByRole('heading', { name: 'Encrypted shares' })).toBeVisible()
  const saved: string[] = []
  const fresh: string[] = []
  for (const [i, holder] of holders.entries()) {
    const download = page.waitForEvent('download')
    await page.getByRole('button', { name: `Save holder ${i + 1}'s file`, exact: true }).click()
    const bytes = await readFile((await (await download).path())!)
    saved.push(bytes.toString('base64'))
    const message = await openpgp.readMessage({ binaryMessage: bytes })
    const privateKey = await openpgp.readPrivateKey({ armoredKey: holder.privateKey })
    fresh.push(String((await openpgp.decrypt({ message, decryptionKeys: privateKey })).data))
  }
  return { saved, fresh }
}
