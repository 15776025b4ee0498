import { test, expect, enterShare, photograph } from './fixtures'
import { startServe } from '../test/helpers/cli'
import { makePki } from '../test/helpers/tls'
import type { Page } from '@playwright/test'

/** A root token ceremony on the open backend, Alice and Bob giving the first two shares: the decoded token. */
async function rootToken(page: Page, keys: string[]): Promise<string> {
  await page.getByRole('button', { name: 'Start: root token' }).click()
  await page.getByRole('button', { name: 'Start the attempt' }).click()
  await enterShare(page, 'Alice', keys[0]!)
  await enterShare(page, 'Bob', keys[1]!)
  await page.getByRole('button', { name: 'Decode', exact: true }).click()
  await page.getByRole('button', { name: 'Reveal' }).click()
  return (await page.getByTestId('secret-value').textContent())!.trim()
}

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
    const token = await rootToken(page, keyset.keys)
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
  const { page } = tessera
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
    await expect(page.getByRole('region', { name: 'Root token' }).getByText(/Status unknown: This server needs a Vault token for this ceremony/)).toBeVisible()
    await page.getByRole('button', { name: 'Try: root token' }).click()
    await expect(page.getByRole('alert')).toContainText('needs a Vault token for this ceremony: add a token to the profile')
    await expect(page.getByTestId('operation-error-detail')).toHaveText(/^Server said: /)
    await photograph(tessera, 'token-needed')
  } finally {
    await server.stop()
  }
})

test('the keychain notice shows only where a token is entered, in plain words', async ({ tessera }) => {
  const { page, rpc, shot, axe } = tessera
  test.skip(rpc === null, 'needs the web transport to know whether a keychain answers')
  const { body } = await rpc!('profiles.list', null)
  const keychain = body.credentials === 'keychain'
  const notice = page.getByTestId('keychain-notice')
  // The first screen of a local ceremony, and the backend choice, say nothing of keychains.
  await expect(page.getByTestId('backend-label')).toBeVisible()
  await expect(notice).toHaveCount(0)
  await page.getByRole('button', { name: 'Change' }).click()
  await expect(page.getByRole('region', { name: 'Remote server' })).toBeVisible()
  await expect(notice).toHaveCount(0)
  await expect(page.getByText(/D-Bus|keychain/i)).toHaveCount(0)

  const remote = page.getByRole('region', { name: 'Remote server' })
  await remote.getByRole('button', { name: 'Add a server profile' }).click()
  await remote.getByLabel('Name', { exact: true }).fill('Slow')
  await remote.getByLabel(/Address/).fill('http://127.0.0.1:8200')
  await remote.getByLabel(/Timeout in seconds/).fill('5')
  if (keychain) {
    await expect(notice).toHaveCount(0)
  } else {
    await expect(notice).toHaveCount(1)
    await expect(notice).toContainText("Tokens can't be saved on this computer: no system keychain is available. You'll be asked for the token each time.")
    // The technical reason is a detail, not the headline.
    await expect(notice.getByText(/D-Bus|secret service/)).toBeHidden()
    await notice.getByText('Why').click()
    await expect(notice.getByText(/secret service did not answer/)).toBeVisible()
  }
  await shot('profile-form-keychain')
  await axe()
  await remote.getByRole('button', { name: 'Save profile' }).click()
  // Beside the token field of a saved profile, too.
  await expect(remote.getByLabel(/Token for this session/)).toBeVisible()
  const saved = await rpc!('profiles.list', null)
  expect(saved.body.profiles[0]).toMatchObject({ name: 'Slow', timeoutSeconds: 5 })
  await expect(notice).toHaveCount(keychain ? 0 : 1)
  await shot('remote-panel-keychain')
})

test('a connection test says which node answered after a standby redirect', async ({ tessera }) => {
  const { page, shot } = tessera
  const pki = makePki(tessera.dir)
  const active = await startServe(['--keyset', tessera.keysetPath, '--tls-cert', pki.serverCert, '--tls-key', pki.serverKey])
  const { createServer } = await import('node:https')
  const { readFileSync } = await import('node:fs')
  const standby = createServer({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) }, (req, res) => {
    res.writeHead(307, { Location: `${active.url}${req.url}` })
    res.end()
  })
  await new Promise<void>((r) => standby.listen(0, '127.0.0.1', r))
  const standbyUrl = `https://127.0.0.1:${(standby.address() as { port: number }).port}`
  try {
    await page.getByRole('button', { name: 'Change' }).click()
    const remote = page.getByRole('region', { name: 'Remote server' })
    await remote.getByRole('button', { name: 'Add a server profile' }).click()
    await remote.getByLabel('Name', { exact: true }).fill('Standby')
    await remote.getByLabel(/Address/).fill(standbyUrl)
    await remote.getByLabel(/CA file/).fill(pki.caCert)
    await remote.getByRole('button', { name: 'Save profile' }).click()
    await remote.getByRole('button', { name: 'Test connection' }).click()
    await expect(remote.getByTestId('connection-test')).toContainText(`Answered by ${active.url}`)
    await shot('answered-by')
  } finally {
    standby.closeAllConnections()
    standby.close()
    await active.stop()
  }
})

test('a connection test tries every cluster node and names what is wrong with each', async ({ tessera }) => {
  const { page, shot, axe } = tessera
  const pki = makePki(tessera.dir)
  const healthy = await startServe(['--keyset', tessera.keysetPath])
  const sealed = await startServe(['--keyset', tessera.keysetPath, '--sealed'])
  // Its certificate chains to a CA the profile does not name.
  const untrusted = await startServe(['--keyset', tessera.keysetPath, '--tls-cert', pki.serverCert, '--tls-key', pki.serverKey])
  const stopped = await startServe(['--keyset', tessera.keysetPath])
  await stopped.stop()
  const { createServer } = await import('node:http')
  const web = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html><body>It works!</body></html>'))
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r))
  const webUrl = `http://127.0.0.1:${(web.address() as { port: number }).port}`
  const host = (url: string) => new URL(url).host
  try {
    await page.getByRole('button', { name: 'Change' }).click()
    const remote = page.getByRole('region', { name: 'Remote server' })
    await remote.getByRole('button', { name: 'Add a server profile' }).click()
    await remote.getByLabel('Name', { exact: true }).fill('Cluster')
    await remote.getByLabel(/^Address/).fill(healthy.url)
    await remote.getByLabel(/Other cluster nodes/).fill([sealed.url, stopped.url, webUrl, untrusted.url].join('\n'))
    await remote.getByRole('button', { name: 'Save profile' }).click()
    await remote.getByRole('button', { name: 'Test connection' }).click()
    const nodes = remote.getByTestId('connection-nodes')
    await expect(nodes).toContainText('3 of 5 nodes failed the test: fix them before a ceremony.')
    await expect(nodes.getByTestId('connection-node-1')).toHaveText(new RegExp(`^${healthy.url} reachable: version \\S+, unsealed$`))
    await expect(nodes.getByTestId('connection-node-2')).toHaveText(new RegExp(`^${sealed.url} reachable: version \\S+, sealed$`))
    await expect(nodes.getByTestId('connection-node-3')).toHaveText(`${stopped.url} not reachable: Cannot reach ${host(stopped.url)}: connection refused. Is the server running?`)
    await expect(nodes.getByTestId('connection-node-4')).toHaveText(`${webUrl} not a Vault: The server's reply to GET sys/seal-status is not JSON.`)
    await expect(nodes.getByTestId('connection-node-5')).toContainText(`${untrusted.url} TLS refused: The TLS certificate of ${host(untrusted.url)} is not trusted`)
    // The profile's own address is still reported as before.
    await expect(remote.getByTestId('connection-test')).toContainText('unsealed; generate-root via')
    await shot('cluster-nodes-tested')
    await axe()
  } finally {
    web.close()
    await Promise.all([healthy.stop(), sealed.stop(), untrusted.stop()])
  }
})

test("a connection test whose own address fails still names every other node", async ({ tessera }) => {
  const { page, shot, axe } = tessera
  const healthy = await startServe(['--keyset', tessera.keysetPath])
  const sealed = await startServe(['--keyset', tessera.keysetPath, '--sealed'])
  const stopped = await startServe(['--keyset', tessera.keysetPath])
  await stopped.stop()
  const cannotReach = `Cannot reach ${new URL(stopped.url).host}: connection refused. Is the server running?`
  try {
    await page.getByRole('button', { name: 'Change' }).click()
    const remote = page.getByRole('region', { name: 'Remote server' })
    await remote.getByRole('button', { name: 'Add a server profile' }).click()
    await remote.getByLabel('Name', { exact: true }).fill('Own down')
    await remote.getByLabel(/^Address/).fill(stopped.url)
    await remote.getByLabel(/Other cluster nodes/).fill([healthy.url, sealed.url].join('\n'))
    await remote.getByRole('button', { name: 'Save profile' }).click()
    await remote.getByRole('button', { name: 'Test connection' }).click()
    await expect(remote.getByRole('alert')).toHaveText(cannotReach)
    const nodes = remote.getByTestId('connection-nodes')
    await expect(nodes).toContainText('1 of 3 nodes failed the test: fix them before a ceremony.')
    await expect(nodes.getByTestId('connection-node-1')).toHaveText(`${stopped.url} not reachable: ${cannotReach}`)
    await expect(nodes.getByTestId('connection-node-2')).toHaveText(new RegExp(`^${healthy.url} reachable: version \\S+, unsealed$`))
    await expect(nodes.getByTestId('connection-node-3')).toHaveText(new RegExp(`^${sealed.url} reachable: version \\S+, sealed$`))
    await expect(remote.getByTestId('connection-test')).toHaveCount(0)
    await shot('cluster-own-address-down')
    await axe()
  } finally {
    await Promise.all([healthy.stop(), sealed.stop()])
  }
})

test('a server that never answers is cut off at the profile deadline, and the screen says so', async ({ tessera }) => {
  const { page, shot } = tessera
  const { createServer } = await import('node:http')
  // Headers, then silence: the body never ends.
  const silent = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' })
    res.write('{')
  })
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
  const host = `127.0.0.1:${(silent.address() as { port: number }).port}`
  try {
    await page.getByRole('button', { name: 'Change' }).click()
    const remote = page.getByRole('region', { name: 'Remote server' })
    await remote.getByRole('button', { name: 'Add a server profile' }).click()
    await remote.getByLabel('Name', { exact: true }).fill('Silent')
    await remote.getByLabel(/Address/).fill(`http://${host}`)
    await remote.getByLabel(/Timeout in seconds/).fill('1')
    await remote.getByRole('button', { name: 'Save profile' }).click()
    await remote.getByRole('button', { name: 'Test connection' }).click()
    await expect(remote.getByRole('alert')).toHaveText(`${host} did not answer within 1 s.`)
    await shot('deadline')
  } finally {
    silent.closeAllConnections()
    silent.close()
  }
})

test('a damaged profiles file leaves remote servers unavailable with a sentence, and a local ceremony running', async ({ tessera }) => {
  const { page, keyset, shot, axe } = tessera
  const { writeFile, mkdir } = await import('node:fs/promises')
  const { join } = await import('node:path')
  const config = join(tessera.dir, 'config')
  await mkdir(config, { recursive: true })
  // A token pasted into the file by hand: the app must never show it.
  await writeFile(join(config, 'profiles.json'), JSON.stringify({ tessera_profiles: 1, profiles: [{ id: 'a', name: 'Lab', address: 'https://vault.example', token: keyset.root_token }] }))
  await page.getByRole('button', { name: 'Change' }).click()
  const remote = page.getByRole('region', { name: 'Remote server' })
  const notice = remote.getByTestId('profiles-unavailable')
  await expect(notice).toContainText(/The server profiles file .*profiles\.json is damaged \(profiles\.0: unexpected field\): remote servers are unavailable until it is repaired or removed\. Local keysets work as before\./)
  await expect(remote).not.toContainText(keyset.root_token)
  await expect(remote).not.toContainText('vault.example')
  await expect(remote.getByRole('button', { name: 'Add a server profile' })).toHaveCount(0)
  await shot('profiles-damaged')
  await axe()
  // The keyset opens and its ceremony runs as before.
  await page.getByLabel('Keyset file', { exact: true }).fill(tessera.keysetPath)
  await page.getByRole('button', { name: 'Open keyset' }).click()
  expect(await rootToken(page, keyset.keys)).toMatch(/^hvs\./)
})

test('a namespace or token that cannot travel in a header is refused at save, naming the field', async ({ tessera }) => {
  const { page, rpc, shot } = tessera
  await page.getByRole('button', { name: 'Change' }).click()
  const remote = page.getByRole('region', { name: 'Remote server' })
  await remote.getByRole('button', { name: 'Add a server profile' }).click()
  const form = remote.getByRole('form', { name: 'New server profile' })
  await form.getByLabel('Name', { exact: true }).fill('Team')
  await form.getByLabel(/Address/).fill('https://127.0.0.1:8200')
  await form.getByLabel(/Namespace/).fill('команда')
  await form.getByRole('button', { name: 'Save profile' }).click()
  await expect(form.getByRole('alert')).toHaveText('The namespace holds a character outside ASCII, which its X-Vault-Namespace header cannot carry: type it again.')
  await shot('namespace-refused')
  await form.getByLabel(/Namespace/).fill('team')
  await form.getByLabel(/^Token/).fill('hvs.tökén')
  await form.getByRole('button', { name: 'Save profile' }).click()
  await expect(form.getByRole('alert')).toHaveText('The token holds a character outside ASCII, which its X-Vault-Token header cannot carry: type it again.')
  await expect(form.getByRole('alert')).not.toContainText('tökén')
  if (rpc) expect((await rpc('profiles.list', null)).body.profiles).toEqual([])
  // Fixed, it saves.
  await form.getByLabel(/^Token/).fill('hvs.token')
  await form.getByRole('button', { name: 'Save profile' }).click()
  await expect(remote.getByLabel('Server profile')).toContainText('Team')
})
