import type { Locator, Page } from '@playwright/test'
import { test, expect } from './fixtures'

/** Presses Tab until `target` has focus: proves it is reachable without a mouse. */
async function tabTo(page: Page, target: Locator, max = 40): Promise<void> {
  for (let i = 0; i < max; i++) {
    if (await target.evaluate((el) => el === document.activeElement)) return
    await page.keyboard.press('Tab')
  }
  throw new Error(`not reachable by keyboard: ${target}`)
}

test('a root ceremony driven by keyboard alone', async ({ tessera }) => {
  const { page, keyset, shot } = tessera
  await expect(page.getByRole('heading', { name: '2. Operation' })).toBeVisible()
  await tabTo(page, page.getByRole('button', { name: 'Start: root token' }))
  await page.keyboard.press('Enter')
  await tabTo(page, page.getByRole('button', { name: 'Start the attempt' }))
  await page.keyboard.press('Enter')
  await expect(page.getByTestId('nonce')).toBeVisible()
  for (const [name, share] of [['Alice', keyset.keys[0]!], ['Bob', keyset.keys[1]!]] as const) {
    await tabTo(page, page.getByLabel(/Your name or role/))
    await page.keyboard.type(name)
    await tabTo(page, page.getByTestId('confirm-nonce'))
    await page.keyboard.press('Space')
    await tabTo(page, page.getByLabel('Key share'))
    await page.keyboard.type(share)
    await page.keyboard.press('Enter')
  }
  await expect(page.getByRole('heading', { name: /5\. Result/ })).toBeVisible()
  await tabTo(page, page.getByRole('button', { name: 'Decode', exact: true }))
  await page.keyboard.press('Enter')
  await tabTo(page, page.getByRole('button', { name: 'Reveal' }))
  await page.keyboard.press('Enter')
  await expect(page.getByTestId('secret-value')).toHaveText(/^hvs\./)
  await shot('keyboard-result')
})

test('the dark theme passes the same accessibility checks', async ({ tessera }) => {
  const { page, shot, axe } = tessera
  await page.getByRole('button', { name: /Switch to dark theme/ }).click()
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark')
  await shot('dark-operation')
  await axe()
  await page.getByRole('button', { name: 'Start: root token' }).click()
  await page.getByRole('button', { name: 'Start the attempt' }).click()
  await expect(page.getByTestId('nonce')).toBeVisible()
  await shot('dark-collect')
  await axe()
})
