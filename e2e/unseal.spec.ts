import type { Locator, Page } from '@playwright/test'
import { join } from 'node:path'
import { test, expect, photograph, type Tessera } from './fixtures'
import { runCli, startServe, type ServeProcess } from '../test/helpers/cli'
import { expectStep } from './ceremony-steps'

/**
 * Unsealing a cluster through a saved profile: three `tessera serve --sealed`
 * nodes on the journey's 2-of-3 keyset, each holder typing their share once.
 */

/** Presses Tab until `target` has focus: proves it is reachable without a mouse. */
async function tabTo(page: Page, target: Locator, max = 60): Promise<void> {
  for (let i = 0; i < max; i++) {
    if (await target.evaluate((el) => el === document.activeElement)) return
    await page.keyboard.press('Tab')
  }
  throw new Error(`not reachable by keyboard: ${target}`)
}

/** `count` sealed nodes on the journey's keyset, stopped when the journey ends. */
async function sealedNodes(tessera: Tessera, count: number, running: ServeProcess[]): Promise<ServeProcess[]> {
  const started = await Promise.all(Array.from({ length: count }, () => startServe(['--keyset', tessera.keysetPath, '--sealed'])))
  running.push(...started)
  return started
}

/** Saves a profile for `nodes` (the first is its address, the others its cluster nodes) and connects to it. */
async function connectCluster(page: Page, name: string, nodes: ServeProcess[]): Promise<void> {
  await page.getByRole('button', { name: 'Change' }).click()
  const remote = page.getByRole('region', { name: 'Remote server' })
  await remote.getByRole('button', { name: 'Add a server profile' }).click()
  await remote.getByLabel('Name', { exact: true }).fill(name)
  await remote.getByLabel(/^Address/).fill(nodes[0]!.url)
  await remote.getByLabel(/Other cluster nodes/).fill(nodes.slice(1).map((n) => n.url).join('\n'))
  await remote.getByRole('button', { name: 'Save profile' }).click()
  if (nodes.length > 1) await expect(remote.getByLabel('Server profile')).toContainText(`and ${nodes.length - 1} more nodes`)
  await remote.getByRole('button', { name: 'Connect', exact: true }).click()
  await expect(page.getByTestId('backend-label')).toContainText(name)
}

/** One holder's share, typed once for every sealed node. */
async function giveShare(page: Page, holder: string, share: string): Promise<void> {
  await page.getByLabel(/Your name or role/).fill(holder)
  await page.getByLabel('Key share').fill(share)
  await page.getByRole('button', { name: 'Send to every sealed node' }).click()
  await expect(page.getByLabel(/Your name or role/)).toHaveValue('')
}

const node = (page: Page, n: number, part: 'state' | 'progress' | 'last') => page.getByTestId(`node-${n}-${part}`)

test('three sealed nodes unseal with two holders; a node of another keyset refuses, named, and the others go on', async ({ tessera }) => {
  const { page, keyset, shot, axe } = tessera
  const running: ServeProcess[] = []
  try {
    const nodes = await sealedNodes(tessera, 3, running)
    const otherPath = join(tessera.dir, 'other.json')
    expect((await runCli(['init', '--keyset', otherPath, '--shares', '3', '--threshold', '2'])).code).toBe(0)
    const other = await startServe(['--keyset', otherPath, '--sealed'])
    running.push(other)
    await connectCluster(page, 'Cluster', [...nodes, other])

    // Sealed: Unseal is offered, and the flows that would fail are not, with the reason.
    await expect(page.getByTestId('sealed-why')).toContainText('The server is sealed: a root token, a new key share and a recovery token each need an unsealed server')
    await expect(page.getByRole('button', { name: /^Start:/ })).toHaveCount(0)
    await expect(page.getByTestId('sealed-count')).toHaveText('4 of 4 nodes sealed.')
    await photograph(tessera, 'unseal-offered')
    await page.getByRole('button', { name: 'Unseal…' }).click()
    await expectStep(page, '4. Collect shares')
    await expect(page.getByTestId('share-checks')).toHaveText(/^No server check file: .* when the threshold is reached, as Vault does\.$/)
    for (const n of [1, 2, 3, 4]) {
      await expect(node(page, n, 'state')).toHaveText('sealed')
      await expect(node(page, n, 'progress')).toHaveText('0 of 2')
    }

    // A double press sends the share once: the form locks at the first.
    await page.getByLabel(/Your name or role/).fill('Alice')
    await page.getByLabel('Key share').fill(keyset.keys[0]!)
    await page.getByRole('button', { name: 'Send to every sealed node' }).dblclick()
    for (const n of [1, 2, 3]) {
      await expect(node(page, n, 'progress')).toHaveText('1 of 2')
      await expect(node(page, n, 'last')).toContainText(`accepted Node ${n} (${nodes[n - 1]!.url}) accepted the share: 1 of 2 given.`)
    }
    await expect(node(page, 4, 'last')).toContainText(`refused Node 4 (${other.url}) refused the share: The server refused the request. Server said: this share is not from this keyset`)
    await expect(page.getByTestId('unseal-log').locator('li')).toHaveCount(4)
    await photograph(tessera, 'unseal-first-share')

    // Node 1 alone drops Alice's share: Bob's then unseals the two others, and Carol's node 1.
    await page.getByRole('button', { name: 'Reset node 1' }).click()
    await expect(node(page, 1, 'progress')).toHaveText('0 of 2')
    await expect(node(page, 1, 'last')).toContainText(`reset Node 1 (${nodes[0]!.url}) dropped the shares given toward its unseal.`)
    await expect(node(page, 2, 'progress')).toHaveText('1 of 2')
    await giveShare(page, 'Bob', keyset.keys[1]!)
    await expect(node(page, 1, 'progress')).toHaveText('1 of 2')
    for (const n of [2, 3]) await expect(node(page, n, 'state')).toHaveText('unsealed')
    await giveShare(page, 'Carol', keyset.keys[2]!)
    for (const n of [1, 2, 3]) await expect(node(page, n, 'state')).toHaveText('unsealed')
    await expect(node(page, 4, 'state')).toHaveText('sealed')
    await expect(page.getByTestId('all-unsealed')).toHaveCount(0)
    await shot('unseal-one-refuses')
    await axe()

    // Back on the Operation screen: node 1 is unsealed, so its flows are offered, and the unseal still is.
    await page.getByRole('button', { name: 'Back to the operations' }).click()
    await expect(page.getByRole('button', { name: 'Start: root token' })).toBeVisible()
    await expect(page.getByTestId('sealed-why')).toHaveCount(0)
    await expect(page.getByTestId('sealed-count')).toHaveText('1 of 4 nodes sealed.')
    await shot('operation-after-unseal')
  } finally {
    await Promise.all(running.map((s) => s.stop()))
  }
})

test('keyboard only, a reload mid-ceremony, a node stopped and restarted: every node ends unsealed', async ({ tessera }) => {
  const { page, keyset, shot } = tessera
  const running: ServeProcess[] = []
  try {
    const nodes = await sealedNodes(tessera, 3, running)
    await connectCluster(page, 'Three', nodes)
    await tabTo(page, page.getByRole('button', { name: 'Unseal…' }))
    await page.keyboard.press('Enter')
    await expect(page.getByLabel(/Your name or role/)).toBeFocused()
    await page.keyboard.type('Alice')
    await tabTo(page, page.getByLabel('Key share'))
    await page.keyboard.type(keyset.keys[0]!)
    await page.keyboard.press('Enter')
    for (const n of [1, 2, 3]) await expect(node(page, n, 'progress')).toHaveText('1 of 2')
    // Focus is back on the name, for the next holder.
    await expect(page.getByLabel(/Your name or role/)).toBeFocused()

    // A reload loses nothing main holds: the unseal is resumed where it stands.
    await tessera.reopen()
    await expect(page.getByRole('button', { name: 'Resume the unseal' })).toBeVisible()
    await tabTo(page, page.getByRole('button', { name: 'Resume the unseal' }))
    await page.keyboard.press('Enter')
    for (const n of [1, 2, 3]) await expect(node(page, n, 'last')).toContainText('accepted the share: 1 of 2 given.')
    await expect(page.getByTestId('unseal-log')).toContainText('Alice: Node 1')
    await shot('unseal-after-reload')

    // Node 3 stops: Bob's share unseals the others, node 3 fails with its reason.
    await nodes[2]!.stop()
    await page.keyboard.type('Bob')
    await tabTo(page, page.getByLabel('Key share'))
    await page.keyboard.type(keyset.keys[1]!)
    await page.keyboard.press('Enter')
    await expect(node(page, 1, 'state')).toHaveText('unsealed')
    await expect(node(page, 2, 'state')).toHaveText('unsealed')
    await expect(node(page, 3, 'state')).toHaveText('not answering')
    await expect(node(page, 3, 'last')).toContainText(`failed Node 3 (${nodes[2]!.url}) could not be read, so the share was not sent to it: Cannot reach`)
    await shot('unseal-node-stopped')

    // It comes back sealed, as a restarted Vault does: two more shares unseal it.
    running.push(await startServe(['--keyset', tessera.keysetPath, '--sealed', '--port', new URL(nodes[2]!.url).port]))
    await tabTo(page, page.getByLabel(/Your name or role/))
    await page.keyboard.type('Carol')
    await tabTo(page, page.getByLabel('Key share'))
    await page.keyboard.type(keyset.keys[2]!)
    await page.keyboard.press('Enter')
    await expect(node(page, 3, 'progress')).toHaveText('1 of 2')
    await expect(node(page, 1, 'last')).toContainText('is already unsealed: the share was not sent to it.')
    await page.keyboard.type('Alice')
    await tabTo(page, page.getByLabel('Key share'))
    await page.keyboard.type(keyset.keys[0]!)
    await page.keyboard.press('Enter')
    await expect(page.getByTestId('all-unsealed')).toContainText('Every node is unsealed.')
    await expect(page.getByRole('button', { name: 'Back to the operations' })).toBeFocused()
    await expectStep(page, '5. Result')
    await photograph(tessera, 'unseal-all-unsealed')

    // The Operation screen reads the server again and offers its flows.
    await tabTo(page, page.getByRole('button', { name: 'Back to the operations' }))
    await page.keyboard.press('Enter')
    await expect(page.getByRole('button', { name: 'Start: root token' })).toBeVisible()
    await expect(page.getByRole('button', { name: 'Unseal…' })).toHaveCount(0)
    await expect(page.getByTestId('sealed-why')).toHaveCount(0)
    // The unseal's record is closed, and can be printed.
    await expect(page.getByRole('button', { name: /Print ceremony record/ })).toBeVisible()
    await shot('operation-unsealed')
  } finally {
    await Promise.all(running.map((s) => s.stop()))
  }
})

test('no Unseal for a local keyset, nor for a server in recovery mode', async ({ tessera }) => {
  const { page } = tessera
  // The journey opens on its local keyset: nothing to unseal there.
  await expect(page.getByRole('button', { name: 'Start: root token' })).toBeVisible()
  await expect(page.getByRole('heading', { name: 'Unseal' })).toHaveCount(0)
  const recovery = await startServe(['--keyset', tessera.keysetPath, '--recovery'])
  try {
    await connectCluster(page, 'Recovery', [recovery])
    await expect(page.getByTestId('backend-label')).toContainText('recovery mode')
    await expect(page.getByRole('button', { name: 'Start: recovery token' })).toBeVisible()
    await expect(page.getByRole('heading', { name: 'Unseal' })).toHaveCount(0)
    await expect(page.getByTestId('sealed-why')).toHaveCount(0)
  } finally {
    await recovery.stop()
  }
})
