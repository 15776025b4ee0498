import type { Page } from '@playwright/test'
import { test, expect, photograph } from './fixtures'

/** The channels the page calls from now on, in order (the web transport's /rpc/ requests). */
function callsFrom(page: Page): string[] {
  const calls: string[] = []
  page.on('request', (r) => {
    const m = /\/rpc\/([\w.]+)$/.exec(new URL(r.url()).pathname)
    if (m) calls.push(m[1]!)
  })
  return calls
}

test('the first screen costs the page one call to main', async ({ tessera }) => {
  const { page, rpc } = tessera
  test.skip(rpc === null, 'counts the web transport\'s requests')
  const calls = callsFrom(page)
  await page.reload()
  await expect(page.getByRole('button', { name: 'Start: root token' })).toBeEnabled()
  await expect(page.getByRole('button', { name: 'Start: new key share' })).toBeEnabled()
  await expect(page.getByTestId('quorum')).toHaveText('2 of the 3 shares out')
  await page.waitForTimeout(500)
  expect(calls).toEqual(['session.snapshot'])
})

test('every screen comes with the first: none waits for a file of its own', async ({ tessera }) => {
  const { page, rpc } = tessera
  test.skip(rpc === null, 'watches the web transport\'s requests')
  // Nothing but the page's entry module and its style sheet may be fetched.
  const others = /\/assets\/(?!index-)/
  const fetched: string[] = []
  page.on('request', (r) => {
    if (others.test(r.url())) fetched.push(r.url())
  })
  await page.route(others, (route) => route.abort())
  await page.reload()
  await page.getByRole('button', { name: 'Decode tool' }).click()
  await expect(page.getByRole('heading', { name: 'Decode tool' })).toBeVisible()
  await page.getByRole('button', { name: 'Ceremony' }).click()
  await page.getByRole('button', { name: 'Start: root token' }).click()
  await expect(page.getByRole('heading', { name: /3\. Protection/ })).toBeVisible()
  expect(fetched).toEqual([])
})

for (const flow of ['root token', 'new key share'] as const) {
test(`an accepted share costs the page one call to main (${flow})`, async ({ tessera }) => {
  const { page, keyset, rpc } = tessera
  test.skip(rpc === null, 'counts the web transport\'s requests')
  await page.getByRole('button', { name: `Start: ${flow}` }).click()
  if (flow === 'new key share') {
    await page.getByLabel(/Reveal the new share on screen/).check()
    await page.getByLabel(/New holder's name/).fill('Dana')
  }
  await page.getByRole('button', { name: 'Start the attempt' }).click()
  await expect(page.getByRole('heading', { name: /4\. Collect shares/ })).toBeVisible()
  const calls = callsFrom(page)

  for (const [i, name] of ['Alice', 'Bob'].entries()) {
    await page.getByLabel(/Your name or role/).fill(name)
    const ticked = calls.length
    await page.getByTestId('confirm-nonce').check()
    // The confirmation is recorded, so the record on screen is read again.
    await expect.poll(() => calls.slice(ticked)).toEqual(['attempt.confirmNonce', 'session.state'])
    await page.getByLabel('Key share').fill(keyset.keys[i]!)
    const before = calls.length
    await page.getByRole('button', { name: 'Submit share' }).click()
    if (i === 0) await expect(page.getByTestId('log')).toContainText('Alice: accepted share 1 (1 of 2)')
    else await expect(page.getByRole('heading', { name: /5\. Result/ })).toBeVisible()
    // Whatever the page would still ask for has been asked by now.
    await page.waitForTimeout(500)
    expect(calls.slice(before), `share ${i + 1}`).toEqual(['attempt.update'])
  }
  // The log and the record shown are main's as of the last share.
  await expect(page.getByTestId('record-hash')).toHaveText((await rpc!('session.state')).body.record.finalHash)
})
}

test('a keyset opened after another shows none of the first one\'s ceremony', async ({ tessera }) => {
  const { page, dir } = tessera
  // On the first keyset, the share flow's new holder is named and a key is chosen, then left.
  await page.getByRole('button', { name: 'Start: new key share' }).click()
  await page.getByLabel(/New holder's name/).fill('Dana')
  await page.getByRole('button', { name: 'Back' }).click()
  await expect(page.getByRole('heading', { name: '2. Operation' })).toBeVisible()

  // A new keyset is created and its one share handed out.
  await page.getByRole('button', { name: 'Change' }).click()
  await page.getByLabel('New keyset file').fill(`${dir}/second.json`)
  await page.getByLabel('Shares').fill('2')
  await page.getByLabel('Threshold').fill('2')
  await page.getByRole('button', { name: 'Create keyset' }).click()
  for (const n of [1, 2]) {
    await page.getByRole('button', { name: `Show share ${n}` }).click()
    await page.getByRole('button', { name: `I have recorded share ${n}: hide it` }).click()
  }
  await page.getByRole('button', { name: 'Show the root token' }).click()
  await page.getByRole('button', { name: /Finish — wipe/ }).click()
  await expect(page.getByRole('heading', { name: '2. Operation' })).toBeVisible()
  await expect(page.getByTestId('backend-label')).toContainText('second.json')

  // The second keyset's share flow starts blank: no holder of the first one.
  await page.getByRole('button', { name: 'Start: new key share' }).click()
  await expect(page.getByLabel(/New holder's name/)).toHaveValue('')
  await photograph(tessera, 'second-keyset-protection')
})
