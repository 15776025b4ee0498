import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Page } from '@playwright/test'
import { test, expect, photograph, recordFileHash } from './fixtures'

// The init hand-out: a share counts as handed out only once its holder got it
// (shown on screen, its card shown or printed, its encrypted file saved), and
// the record says which of these happened, nothing more.

const HOLDERS = ['Dana', 'Frank', 'Erin']

/** Creates a 2-of-3 keyset named for HOLDERS through the form; resolves the path of its record. */
async function createNamed(page: Page, dir: string): Promise<string> {
  await page.getByRole('button', { name: 'Change' }).click()
  await page.getByLabel('New keyset file').fill(join(dir, 'handout.json'))
  await page.getByLabel('Shares').fill('3')
  await page.getByLabel('Threshold').fill('2')
  for (const [i, name] of HOLDERS.entries()) await page.getByLabel(`Holder ${i + 1}`, { exact: true }).fill(name)
  await page.getByRole('button', { name: 'Create keyset' }).click()
  await expect(page.getByText('Holder 1 of 3 — Dana')).toBeVisible()
  return (await page.getByTestId('record-path').textContent())!
}

/** The record's events as [type, data], in order. */
async function recorded(path: string): Promise<Array<[string, unknown]>> {
  return (await readFile(path, 'utf8')).trim().split('\n').map((l) => {
    const line = JSON.parse(l) as { type: string; data: unknown }
    return [line.type, line.data]
  })
}

const handOuts = async (path: string) => (await recorded(path)).filter(([type]) => type === 'share_handed_out').map(([, data]) => data)

test('a holder\'s panel records nothing; one step shows the share; a reload resumes at the first holder without one and shows who has', async ({ tessera }) => {
  const { page } = tessera
  const record = await createNamed(page, tessera.dir)
  // Dana's panel is open: nothing is handed out, nothing recorded.
  await expect(page.getByText('Hand the screen to holder 1 (Dana)')).toBeVisible()
  expect((await recorded(record)).map(([type]) => type)).toEqual(['backend_opened', 'keyset_created'])
  await expect(page.getByTestId('handout-who')).toContainText('Holder 1 (Dana): not yet')
  await photograph(tessera, 'handout-panel')

  // One step: the share is on screen at once, never masked behind a second "Reveal".
  await page.getByRole('button', { name: 'Show share 1' }).click()
  await expect(page.getByRole('heading', { name: 'Share 1 — Dana' })).toBeVisible()
  await expect(page.getByTestId('secret-value')).toHaveText(/^[0-9a-f ]{66,}$/)
  await expect(page.getByText('•••• hidden ••••')).toHaveCount(0)
  await expect(page.getByTestId('share-base64')).toBeVisible()
  // What the holder does next has the focus: Enter never hides the share by mistake.
  await expect(page.getByRole('button', { name: 'I have recorded share 1: hide it' })).toBeFocused()
  expect(await handOuts(record)).toEqual([{ share_number: 1, holder: 'Dana', how: 'revealed' }])
  await photograph(tessera, 'handout-one-step')
  await page.getByRole('button', { name: 'I have recorded share 1: hide it' }).click()

  // Frank's panel opens, and records nothing.
  await expect(page.getByText('Holder 2 of 3 — Frank')).toBeVisible()
  expect(await handOuts(record)).toHaveLength(1)
  await expect(page.getByTestId('handout-who')).toContainText('Holder 1 (Dana): has their share')
  await expect(page.getByTestId('handout-who')).toContainText('Holder 2 (Frank): not yet')

  // A reload resumes at Frank, and still shows that Dana has hers.
  await tessera.reopen()
  await expect(page.getByText('Holder 2 of 3 — Frank')).toBeVisible()
  await expect(page.getByTestId('handout-who')).toContainText('Holder 1 (Dana): has their share')
  await expect(page.getByTestId('handout-who')).toContainText('Holder 3 (Erin): not yet')
  await photograph(tessera, 'handout-resumed')
  expect(await handOuts(record)).toHaveLength(1)
})

test('finishing with shares not handed out asks first and names their holders; the record ends with them abandoned', async ({ tessera }) => {
  const { page } = tessera
  const record = await createNamed(page, tessera.dir)
  await page.getByRole('button', { name: 'Show share 1' }).click()
  await page.getByRole('button', { name: 'I have recorded share 1: hide it' }).click()
  await page.getByRole('button', { name: 'Finish the hand-out now…' }).click()
  await expect(page.getByTestId('finish-lost')).toHaveText(
    'Share 2 (Frank) and share 3 (Erin) were never handed out: finishing now loses them for good, and the record says so.',
  )
  await expect(page.getByRole('button', { name: 'Not yet' })).toBeFocused()
  await photograph(tessera, 'handout-finish-asks')
  // "Not yet" keeps the hand-out, at Frank, with nothing recorded.
  await page.getByRole('button', { name: 'Not yet' }).click()
  await expect(page.getByText('Holder 2 of 3 — Frank')).toBeVisible()
  expect((await recorded(record)).map(([type]) => type)).not.toContain('init_abandoned')

  await page.getByRole('button', { name: 'Finish the hand-out now…' }).click()
  await page.getByRole('button', { name: 'Finish without share 2 (Frank) and share 3 (Erin)' }).click()
  await expect(page.getByRole('heading', { name: '2. Operation' })).toBeVisible()
  expect((await recorded(record)).slice(-3)).toEqual([
    ['init_abandoned', { reason: 'operator', not_handed_out: [2, 3] }],
    ['wiped', {}],
    ['closed', {}],
  ])
})

test('a share card shown is recorded as shown, and as printed only after the page printed it', async ({ tessera }) => {
  const { page } = tessera
  const record = await createNamed(page, tessera.dir)
  // Dana prints her card.
  await page.getByRole('button', { name: 'Print my share card' }).click()
  await expect(page.getByTestId('share-card')).toContainText('Key share card — Dana')
  expect(await handOuts(record)).toEqual([{ share_number: 1, holder: 'Dana', how: 'card_shown' }])
  await page.getByRole('button', { name: 'Print', exact: true }).click()
  await expect(page.getByTestId('card-printed')).toHaveText('Card printed: the ceremony record says so.')
  expect(await handOuts(record)).toEqual([
    { share_number: 1, holder: 'Dana', how: 'card_shown' },
    { share_number: 1, holder: 'Dana', how: 'card_printed' },
  ])
  await photograph(tessera, 'handout-card-printed')
  await page.getByRole('button', { name: 'I have my card: wipe it from the screen' }).click()

  // Frank's card is only shown: the record says shown, never printed.
  await page.getByRole('button', { name: 'Print my share card' }).click()
  await expect(page.getByTestId('share-card')).toContainText('Key share card — Frank')
  await page.getByRole('button', { name: 'I have my card: wipe it from the screen' }).click()
  await expect(page.getByText('Holder 3 of 3 — Erin')).toBeVisible()
  expect((await handOuts(record)).slice(2)).toEqual([{ share_number: 2, holder: 'Frank', how: 'card_shown' }])
  await expect(page.getByTestId('record-hash')).toHaveText(await recordFileHash(record))
})

test('Finish waits for a root token being shown: no "never shown" while it is on its way', async ({ tessera }) => {
  const { page, dir } = tessera
  await createNamed(page, dir)
  for (const n of [1, 2, 3]) {
    await page.getByRole('button', { name: `Show share ${n}` }).click()
    await page.getByRole('button', { name: `I have recorded share ${n}: hide it` }).click()
  }
  // A slow main: the token is on its way when Finish is pressed.
  await page.route('**/rpc/handout.revealRootToken', async (route) => {
    await new Promise((r) => setTimeout(r, 1500))
    await route.continue()
  })
  await page.getByRole('button', { name: 'Show the root token' }).click()
  await page.getByRole('button', { name: /Finish — wipe/ }).click()
  await expect(page.getByText('The initial root token was never shown')).toHaveCount(0)
  await expect(page.getByRole('heading', { name: '2. Operation' })).toBeVisible()
})
