import { test, expect, enterShare, photograph } from './fixtures'
import { downgradeToV1 } from '../test/helpers/keysets'

/** The same share with one hex digit changed in its middle: well formed, but not the holder's. */
function mistype(share: string): string {
  const i = 20
  return share.slice(0, i) + (share[i] === '0' ? '1' : '0') + share.slice(i + 1)
}

test.describe('named holders', () => {
  test.use({ keysetOptions: { shares: 3, threshold: 2, scheme: 'vault', holders: ['Alice', 'Bob', 'Carol'] } })

  test('each share is checked as it is entered, and refused next to the share field', async ({ tessera }) => {
    const { page, keyset } = tessera
    await page.getByRole('button', { name: 'Start: root token' }).click()
    await page.getByRole('button', { name: 'Start the attempt' }).click()

    // Another named holder's share: the holder sees whose it is and retries at once.
    await enterShare(page, 'Alice', keyset.keys[1]!)
    const refusal = page.getByTestId('collect-error')
    await expect(refusal).toHaveText("This is share 2 (Bob), not Alice's: each holder enters their own share.")
    await expect(page.getByLabel('Key share')).toBeFocused()
    await expect(page.getByLabel(/Your name or role/)).toHaveValue('Alice')
    await expect(page.getByTestId('progress')).toHaveText('0 of 2')

    // A typing mistake is found as it is entered, not at the threshold.
    await page.getByLabel('Key share').fill(mistype(keyset.keys[0]!))
    await page.getByRole('button', { name: 'Submit share' }).click()
    await expect(refusal).toHaveText('This does not match share 1 (Alice) — probably a typing mistake.')
    await expect(page.getByLabel('Key share')).toBeFocused()
    await expect(page.getByLabel('Key share')).toHaveValue('')
    await photograph(tessera, 'collect-refused')

    await page.getByLabel('Key share').fill(keyset.keys[0]!)
    await page.getByRole('button', { name: 'Submit share' }).click()
    await expect(page.getByTestId('accepted')).toHaveText('Accepted share 1 (Alice) from Alice.')
    await expect(refusal).toHaveCount(0)
    await expect(page.getByTestId('progress')).toHaveText('1 of 2')
    await expect(page.getByTestId('log')).toContainText('Alice: accepted share 1 (Alice) (1 of 2)')
    // Accepted: the next holder's name is what comes next.
    await expect(page.getByLabel(/Your name or role/)).toBeFocused()
    await expect(page.getByLabel(/Your name or role/)).toHaveValue('')
    await photograph(tessera, 'collect-accepted')
    await enterShare(page, 'Carol', keyset.keys[2]!)
    await expect(page.getByRole('heading', { name: /5\. Result/ })).toBeVisible()
  })

  test('holders check their shares with no ceremony', async ({ tessera }) => {
    const { page, keyset, rpc } = tessera
    await page.getByRole('button', { name: 'Check shares…' }).click()
    await expect(page.getByRole('heading', { name: 'Check shares' })).toBeVisible()
    const field = page.getByLabel(/^Key share/)
    await expect(field).toHaveAttribute('type', 'password')
    await field.fill(keyset.keys[2]!)
    await page.getByRole('button', { name: 'Check share' }).click()
    await expect(page.getByTestId('check-verdict')).toHaveText('share 3 of 3 (Carol): valid')
    await expect(field).toHaveValue('')
    await expect(field).toBeFocused()
    await field.fill(mistype(keyset.keys[0]!))
    await page.getByRole('button', { name: 'Check share' }).click()
    await expect(page.getByTestId('check-verdict')).toHaveText('Not valid: this does not match share 1 (Alice) — probably a typing mistake')
    await field.fill(keyset.keys_base64[0]!)
    await page.getByRole('button', { name: 'Check share' }).click()
    await expect(page.getByTestId('check-summary')).toHaveText('2 of 3 shares confirmed: share 1 (Alice), share 3 (Carol).')
    await photograph(tessera, 'check-shares')
    // Nothing was started.
    if (rpc) expect((await rpc('attempt.status', { flow: 'root' })).body).toMatchObject({ started: false })
    await page.getByRole('button', { name: 'Done' }).click()
    await expect(page.getByRole('heading', { name: '2. Operation' })).toBeVisible()
    await page.getByRole('button', { name: 'Check shares…' }).click()
    await expect(page.getByTestId('check-summary')).toHaveText('No share of 3 confirmed yet.')
  })
})

test('the init form names the holders, and the hand-out says whose share it is', async ({ tessera }) => {
  const { page } = tessera
  await page.getByRole('button', { name: 'Change' }).click()
  await page.getByLabel('New keyset file').fill(`${tessera.dir}/named.json`)
  await page.getByLabel('Shares').fill('3')
  await page.getByLabel('Threshold').fill('2')
  await page.getByLabel('Holder 1', { exact: true }).fill('Dana')
  await page.getByLabel('Holder 2', { exact: true }).fill('dana')
  await page.getByLabel('Holder 3', { exact: true }).fill('Erin')
  await page.getByRole('button', { name: 'Create keyset' }).click()
  // The keyset's sentence, next to the field it names.
  await expect(page.getByTestId('holder-error')).toHaveText('Holder name 2 repeats an earlier one: each holder needs their own name.')
  await expect(page.getByLabel('Holder 2', { exact: true })).toHaveAttribute('aria-invalid', 'true')
  await photograph(tessera, 'init-holder-refused')
  await page.getByLabel('Holder 2', { exact: true }).fill('Frank')
  await page.getByRole('button', { name: 'Create keyset' }).click()
  await expect(page.getByText('Holder 1 of 3 — Dana')).toBeVisible()
  await page.getByRole('button', { name: 'Show share 1' }).click()
  await expect(page.getByRole('heading', { name: 'Share 1 — Dana' })).toBeVisible()
  await photograph(tessera, 'init-named-share')
})

test('a format-1 keyset says that its shares cannot be checked one by one', async ({ tessera }) => {
  const { page } = tessera
  await downgradeToV1(tessera.keysetPath)
  await page.getByRole('button', { name: 'Change' }).click()
  await page.getByLabel('Keyset file', { exact: true }).fill(tessera.keysetPath)
  await page.getByRole('button', { name: 'Open keyset' }).click()
  await expect(page.getByRole('heading', { name: '2. Operation' })).toBeVisible()
  // Offered only where it can check.
  await expect(page.getByRole('button', { name: 'Check shares…' })).toHaveCount(0)
  await expect(page.getByTestId('cannot-check')).toHaveText('This keyset (format 1) records no check values: its shares cannot be checked one by one.')
  await page.getByRole('button', { name: 'Start: root token' }).click()
  await page.getByRole('button', { name: 'Start the attempt' }).click()
  await expect(page.getByTestId('cannot-check')).toHaveText(/cannot be checked one by one, so a mistyped share is\s+found only when the threshold is reached/)
  await photograph(tessera, 'collect-format-1')

  // Carol mistyped hers, Dan gives the last share: the whole set failed, and the
  // screen and the log say so, without blaming Dan.
  await enterShare(page, 'Carol', mistype(tessera.keyset.keys[0]!))
  await expect(page.getByTestId('progress')).toHaveText('1 of 2')
  await enterShare(page, 'Dan', tessera.keyset.keys[1]!)
  const setFailure = 'The shares entered do not open this keyset or server: progress was reset, the attempt and its nonce remain. Each holder should check their share, then enter it again.'
  await expect(page.getByTestId('collect-error').locator('.sentence')).toHaveText(setFailure)
  await expect(page.getByTestId('collect-error-detail')).toContainText('Engine said: root generation aborted')
  await expect(page.getByTestId('progress')).toHaveText('0 of 2')
  const log = page.getByTestId('log')
  await expect(log).toContainText('Dan: gave the last share needed')
  await expect(log).toContainText(`Tessera: ${setFailure}`)
  const dans = (await log.locator('li').allTextContents()).filter((line) => line.includes('Dan:'))
  expect(dans).toHaveLength(1)
  expect(dans[0]).not.toMatch(/abort|do not open/)
  await photograph(tessera, 'collect-set-failed')
})
