import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test, expect, enterShare, photograph } from './fixtures'
import { runCli, startServe } from '../test/helpers/cli'

/** The record's share_handed_out lines, as the file on disk has them. */
async function handOuts(path: string): Promise<unknown[]> {
  const lines = (await readFile(path, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { type: string; data: unknown })
  return lines.filter((l) => l.type === 'share_handed_out').map((l) => l.data)
}

test.describe('the share flow', () => {
  test.use({ keysetOptions: { shares: 3, threshold: 2, scheme: 'vault', holders: ['Alice', 'Bob', 'Carol'] } })

  test('names the new holder, hands the share out in one step or on its card, and every count agrees', async ({ tessera }) => {
    const { page, keyset } = tessera
    await expect(page.getByTestId('quorum')).toHaveText('2 of the 3 shares out')
    await page.getByRole('button', { name: 'Start: new key share' }).click()
    await page.getByLabel(/Reveal the new share on screen/).check()
    const name = page.getByLabel(/New holder's name/)
    await name.fill('Dana; rm')
    await expect(page.getByRole('button', { name: 'Start the attempt' })).toBeDisabled()
    await name.fill('Dana')
    await page.getByRole('button', { name: 'Start the attempt' }).click()
    await enterShare(page, 'Alice', keyset.keys[0]!)
    await enterShare(page, 'Bob', keyset.keys[1]!)
    await expect(page.getByRole('heading', { name: '5. Result — New key share' })).toBeVisible()
    await expect(page.getByRole('status').filter({ hasText: 'share 4 for Dana is ready' })).toBeVisible()
    // The record panel, as the root and recovery results have it; nothing handed out yet.
    const recordPath = (await page.getByTestId('record-path').textContent())!.trim()
    expect(await handOuts(recordPath)).toEqual([])
    await photograph(tessera, 'new-share-held')

    // A reload resumes at the held share; leaving earlier would have asked.
    await tessera.reopen()
    await page.getByRole('button', { name: 'Done — wipe' }).click()
    await expect(page.getByRole('alert')).toHaveText('The new share never reached Dana: wiping loses it for good.')
    await page.getByRole('button', { name: 'Not yet' }).click()

    // One step shows the share: no masked panel, no second "Reveal".
    await page.getByRole('button', { name: 'Show the new share to Dana' }).click()
    const value = page.getByTestId('secret-value')
    await expect(value).toBeVisible()
    const share = (await value.textContent())!.trim()
    expect(share).toMatch(/^[0-9a-f]{66}$/)
    await expect(page.getByText('•••• hidden ••••')).toHaveCount(0)
    expect(await handOuts(recordPath)).toEqual([{ share_number: 4, holder: 'Dana', how: 'revealed' }])
    await photograph(tessera, 'new-share-shown')
    await page.getByRole('button', { name: 'I have recorded the new share: hide it' }).click()
    await expect(value).toHaveCount(0)

    // Its card counts the shares out as everything else does.
    await page.getByRole('button', { name: "Show and print Dana's share card" }).click()
    const card = page.getByTestId('share-card')
    await expect(card.getByRole('heading')).toHaveText('Key share card — Dana')
    await expect(card).toContainText('Share 4 of 4, any 2 open it.')
    // Narrow enough to wrap the fingerprint: between its groups, never inside one.
    await page.setViewportSize({ width: 560, height: 900 })
    const groups = card.locator('.fp-group')
    await expect(groups).toHaveCount(4)
    expect(await groups.evaluateAll((gs) => gs.map((g) => g.getClientRects().length))).toEqual([1, 1, 1, 1])
    expect(await card.locator('.fingerprint').evaluate((e) => e.getClientRects()[0]!.height > 40)).toBe(true)
    await page.setViewportSize({ width: 1280, height: 900 })
    await photograph(tessera, 'new-share-card')
    // The browser's own event once its print dialog closes; only the operator can say that paper came out.
    await page.evaluate(() => window.dispatchEvent(new Event('afterprint')))
    await page.getByRole('button', { name: 'Yes, it printed' }).click()
    await expect(page.getByTestId('card-printed')).toHaveText('Recorded: the card was printed.')
    expect(await handOuts(recordPath)).toEqual([
      { share_number: 4, holder: 'Dana', how: 'revealed' },
      { share_number: 4, holder: 'Dana', how: 'card_shown' },
      { share_number: 4, holder: 'Dana', how: 'card_printed' },
    ])
    await page.getByRole('button', { name: 'I have my card: wipe it from the screen' }).click()
    await page.getByRole('button', { name: 'Done — wipe' }).click()
    await expect(page.getByRole('alert')).toHaveText('Has Dana stored the share? Wiping drops it for good.')
    await page.getByRole('button', { name: 'Yes, wipe' }).click()

    // One count everywhere: the Operation screen, check-shares, verify-share.
    await expect(page.getByTestId('quorum')).toHaveText('2 of the 4 shares out')
    await page.getByRole('button', { name: 'Check shares…' }).click()
    await expect(page.getByTestId('check-summary')).toHaveText('No share of 4 confirmed yet.')
    await page.getByLabel(/^Key share/).fill(share)
    await page.getByRole('button', { name: 'Check share' }).click()
    await expect(page.getByTestId('check-verdict')).toHaveText('share 4 of 4 (Dana): valid')
    const cli = await runCli(['verify-share', '--keyset', tessera.keysetPath], { stdin: share })
    expect(cli.stdout).toBe('share 4 of 4 (Dana): valid\n')
  })
})

test('a server shows none of the keyset opened before it', async ({ tessera }) => {
  const { page } = tessera
  const other = join(tessera.dir, 'server.json')
  expect((await runCli(['init', '--keyset', other, '--shares', '5', '--threshold', '3'])).code).toBe(0)
  const server = await startServe(['--keyset', other])
  try {
    await expect(page.getByRole('button', { name: 'Check shares…' })).toBeVisible()
    await page.getByRole('button', { name: 'Change' }).click()
    const remote = page.getByRole('region', { name: 'Remote server' })
    await remote.getByRole('button', { name: 'Add a server profile' }).click()
    await remote.getByLabel('Name', { exact: true }).fill('Vault')
    await remote.getByLabel(/Address/).fill(server.url)
    await remote.getByRole('button', { name: 'Save profile' }).click()
    await remote.getByRole('button', { name: 'Connect', exact: true }).click()
    await expect(page.getByTestId('backend-label')).toContainText('Vault')
    await expect(page.getByTestId('quorum')).toHaveText('3 of the 5 shares out')
    // A server's shares cannot be checked here: nothing of the keyset's shares is offered.
    await expect(page.getByRole('button', { name: 'Check shares…' })).toHaveCount(0)
    await expect(page.getByText(/confirmed yet/)).toHaveCount(0)
    await photograph(tessera, 'remote-operation')
  } finally {
    await server.stop()
  }
})
