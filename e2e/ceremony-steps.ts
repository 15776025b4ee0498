import type { Page } from '@playwright/test'
import { expect } from './fixtures'

// Steps shared by the journeys of several ceremonies, on a keyset or a server.

/** The step the stepper highlights, as it reads ("5. Result"): the one step marked current. */
export async function expectStep(page: Page, step: string): Promise<void> {
  await expect(page.getByRole('list', { name: 'Ceremony steps' }).locator('[aria-current="step"]')).toHaveText(step)
}

/** Opens the rekey form from the operation screen and fills it; Start is left to the caller. */
export async function fillRekey(page: Page, opts: { shares: number; threshold: number; holders?: string[]; verification: RegExp }): Promise<void> {
  await page.getByRole('button', { name: 'Start: rekey' }).click()
  await expect(page.getByRole('heading', { name: 'Rekey: the new shares' })).toBeVisible()
  await page.getByLabel('Number of new shares').fill(String(opts.shares))
  await page.getByLabel('New threshold').fill(String(opts.threshold))
  for (const [i, name] of (opts.holders ?? []).entries()) await page.getByLabel(`Holder ${i + 1}`, { exact: true }).fill(name)
  await page.getByLabel(opts.verification).check()
}

/** Shows new shares `from`..`to` (from 1) in turn to their holders, as the hand-out does; resolves the shares as shown. */
export async function handOut(page: Page, to: number, from = 1): Promise<string[]> {
  const shares: string[] = []
  for (let i = from; i <= to; i++) {
    await page.getByRole('button', { name: `Show share ${i}` }).click()
    shares.push(((await page.getByTestId('secret-value').textContent()) ?? '').replace(/\s+/g, ''))
    await page.getByRole('button', { name: `I have recorded share ${i}: hide it` }).click()
  }
  return shares
}

/** Presses Tab until `target` has the focus (at most 40 times): how a keyboard reaches a control. */
export async function tabTo(page: Page, target: ReturnType<Page['getByRole']>): Promise<void> {
  for (let i = 0; i < 40 && !(await target.evaluate((e) => e === document.activeElement)); i++) await page.keyboard.press('Tab')
  await expect(target).toBeFocused()
}

/** One holder's share entered from the keyboard alone, from the focused name field: name, nonce confirmed, share, Enter. */
export async function typeShare(page: Page, name: string, share: string): Promise<void> {
  await expect(page.getByLabel(/Your name or role/)).toBeFocused()
  await page.keyboard.type(name)
  await page.keyboard.press('Tab')
  await page.keyboard.press('Space')
  await page.keyboard.press('Tab')
  await page.keyboard.type(share)
  await page.keyboard.press('Enter')
}

/** From the operation screen, by keyboard alone: opens the rekey form and types the new count and threshold. */
export async function typeRekeyCounts(page: Page, shares: number, threshold: number): Promise<void> {
  await tabTo(page, page.getByRole('button', { name: 'Start: rekey' }))
  await page.keyboard.press('Enter')
  await expect(page.getByRole('heading', { name: 'Rekey: the new shares' })).toBeFocused()
  await page.keyboard.press('Tab')
  await expect(page.getByLabel('Number of new shares')).toBeFocused()
  await page.keyboard.press('Control+a')
  await page.keyboard.type(String(shares))
  await page.keyboard.press('Tab')
  await page.keyboard.press('Control+a')
  await page.keyboard.type(String(threshold))
}

/** The hand-out of `count` shares on screen by keyboard alone, each button focused in turn: the shares as shown. */
export async function handOutByKeyboard(page: Page, count: number): Promise<string[]> {
  const shares: string[] = []
  for (let i = 1; i <= count; i++) {
    await expect(page.getByRole('button', { name: `Show share ${i}` })).toBeFocused()
    await page.keyboard.press('Enter')
    shares.push(((await page.getByTestId('secret-value').textContent()) ?? '').replace(/\s+/g, ''))
    await expect(page.getByRole('button', { name: `I have recorded share ${i}: hide it` })).toBeFocused()
    await page.keyboard.press('Enter')
  }
  return shares
}
