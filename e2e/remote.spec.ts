import { test, expect, enterShare } from './fixtures'
import { startServe } from '../test/helpers/cli'
import { makePki } from '../test/helpers/tls'

test('a root token from a 2026 server over HTTPS, through a saved profile', async ({ tessera }) => {
  const { page, keyset, shot, axe } = tessera
  const pki = makePki(tessera.dir)
  const server = await startServe([
    '--keyset', tessera.keysetPath, '--require-token', '--tls-cert', pki.serverCert, '--tls-key', pki.serverKey,
  ])
  try {
    await page.getByRole('button', { name: 'Change' }).click()
    const remote = page.getByRole('region', { name: 'Remote server' })
    if (process.env.CI === 'true') {
      // CI runs a real secret service: the token must go to the keychain.
      await expect(remote.getByText(/no system keychain/)).toHaveCount(0)
    }
    await remote.getByRole('button', { name: 'Add a server profile' }).click()
    await remote.getByLabel('Name', { exact: true }).fill('Rehearsal')
    await remote.getByLabel(/Address/).fill(server.url)
    await remote.getByLabel(/CA file/).fill(pki.caCert)
    await remote.getByLabel(/^Token/).fill(keyset.root_token)
    await shot('profile-form')
    await axe()
    await remote.getByRole('button', { name: 'Save profile' }).click()

    await remote.getByRole('button', { name: 'Test connection' }).click()
    await expect(remote.getByTestId('connection-test')).toContainText('generate-root via sys/generate-root-token')
    await expect(remote.getByTestId('connection-test')).toContainText('token accepted')
    await shot('profile-tested')
    await axe()

    await remote.getByRole('button', { name: 'Connect', exact: true }).click()
    await expect(page.getByTestId('backend-label')).toContainText(`Rehearsal (${server.url})`)
    await page.getByRole('button', { name: 'Start: root token' }).click()
    await page.getByRole('button', { name: 'Start the attempt' }).click()
    await enterShare(page, 'Alice', keyset.keys[0]!)
    await enterShare(page, 'Bob', keyset.keys[1]!)
    await page.getByRole('button', { name: 'Decode', exact: true }).click()
    await page.getByRole('button', { name: 'Reveal' }).click()
    const token = (await page.getByTestId('secret-value').textContent())!.trim()
    expect(token).toMatch(/^hvs\./)
    await shot('remote-result')
    // The new token works on the server that made it.
    const { request } = await import('node:https')
    const { readFileSync } = await import('node:fs')
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${server.url}/v1/auth/token/lookup-self`, { ca: readFileSync(pki.caCert), headers: { 'X-Vault-Token': token } }, (res) => {
        res.resume()
        resolve(res.statusCode!)
      })
      req.on('error', reject)
      req.end()
    })
    expect(status).toBe(200)
  } finally {
    await server.stop()
  }
})

test('a server that needs a token says so, in a sentence', async ({ tessera }) => {
  const { page, shot, axe } = tessera
  const server = await startServe(['--keyset', tessera.keysetPath, '--require-token'])
  try {
    await page.getByRole('button', { name: 'Change' }).click()
    const remote = page.getByRole('region', { name: 'Remote server' })
    await remote.getByRole('button', { name: 'Add a server profile' }).click()
    await remote.getByLabel('Name', { exact: true }).fill('No token')
    await remote.getByLabel(/Address/).fill(server.url)
    await remote.getByRole('button', { name: 'Save profile' }).click()
    await remote.getByRole('button', { name: 'Connect', exact: true }).click()
    await expect(page.getByTestId('backend-label')).toContainText('No token')
    await expect(page.getByTestId('backend-label')).not.toContainText('recovery mode')
    await expect(page.getByRole('button', { name: 'Start: recovery token' })).toHaveCount(0)
    // A status the server refused is never shown as "no attempt running".
    await expect(page.getByText(/Status unknown: This server offers sys\/generate-root-token, which needs a Vault token/)).toBeVisible()
    await page.getByRole('button', { name: 'Try: root token' }).click()
    await expect(page.getByRole('alert')).toContainText('needs a Vault token: add a token to the profile')
    await shot('token-needed')
    await axe()
  } finally {
    await server.stop()
  }
})
