import type { Page } from '@playwright/test'
import { test, expect, enterShare, photograph } from './fixtures'
import { runCli } from '../test/helpers/cli'

/** A root ceremony with the OTP held by Tessera, up to the Result screen. */
async function finishRootCeremony(page: Page, keys: string[]): Promise<string> {
  await page.getByRole('button', { name: 'Start: root token' }).click()
  await page.getByRole('button', { name: 'Start the attempt' }).click()
  await enterShare(page, 'Alice', keys[0]!)
  await enterShare(page, 'Bob', keys[1]!)
  await expect(page.getByRole('heading', { name: /5\. Result/ })).toBeVisible()
  return (await page.getByTestId('encoded').textContent())!.trim()
}

async function decodeHeld(page: Page): Promise<string> {
  await page.getByRole('button', { name: 'Decode', exact: true }).click()
  await page.getByRole('button', { name: 'Reveal' }).click()
  return (await page.getByTestId('secret-value').textContent())!.trim()
}

/** Whether the page would ask before being left (the guard `tessera web` sets while a secret is held). */
async function leaveGuarded(page: Page): Promise<boolean> {
  return page.evaluate(() => {
    const event = new Event('beforeunload', { cancelable: true })
    window.dispatchEvent(event)
    return event.defaultPrevented
  })
}

test('a failed action shows the backend\'s sentence next to its control', async ({ tessera }) => {
  const { page, dir, keysetPath } = tessera
  await page.getByRole('button', { name: 'Change' }).click()
  await page.getByLabel('Keyset file', { exact: true }).fill(`${dir}/missing.json`)
  await page.getByRole('button', { name: 'Open keyset' }).click()
  const openForm = page.getByRole('form', { name: 'Open a keyset' })
  await expect(openForm.getByRole('alert')).toContainText('missing.json')
  await expect(page.getByRole('heading', { name: '1. Backend' })).toBeVisible()

  await page.getByLabel('New keyset file').fill(keysetPath)
  await page.getByRole('button', { name: 'Create keyset' }).click()
  const createForm = page.getByRole('form', { name: 'Create a keyset' })
  await expect(createForm.getByRole('alert')).toContainText(/exists/)
  // Each error stays beside the form whose action failed.
  await expect(openForm.getByRole('alert')).toHaveCount(0)
  await photograph(tessera, 'backend-errors')
})

test('a finished result survives "Change", a reload and another keyset until it is wiped', async ({ tessera }) => {
  test.skip(tessera.rpc === null, 'the leave-page guard is the browser transport\'s')
  const { page, keyset, dir } = tessera
  const encoded = await finishRootCeremony(page, keyset.keys)
  expect(await leaveGuarded(page)).toBe(true)
  await photograph(tessera, 'result')

  // "Change" drops nothing: the result is one click away.
  await page.getByRole('button', { name: 'Change' }).click()
  await expect(page.getByTestId('held-result')).toBeVisible()
  await photograph(tessera, 'backend-held-result')
  await page.getByRole('button', { name: 'Back to the result' }).click()
  await expect(page.getByTestId('encoded')).toHaveText(encoded)

  // A reload asks first; once through, the app opens on the same result, still decodable.
  const asked = new Promise<string>((resolve) =>
    page.once('dialog', (d) => {
      resolve(d.type())
      void d.accept()
    }),
  )
  await page.reload()
  expect(await asked).toBe('beforeunload')
  await expect(page.getByRole('heading', { name: /5\. Result — Root token/ })).toBeVisible()
  await expect(page.getByTestId('encoded')).toHaveText(encoded)
  const token = await decodeHeld(page)
  expect(token).toMatch(/^hvs\./)
  await expect(page.getByTestId('decode-verified')).toContainText('belongs to the keyset')

  // Another keyset opened meanwhile: the result and its OTP are still held.
  const other = `${dir}/other.json`
  expect((await runCli(['init', '--keyset', other, '--shares', '2', '--threshold', '2'])).code).toBe(0)
  await page.getByRole('button', { name: 'Change' }).click()
  await page.getByLabel('Keyset file', { exact: true }).fill(other)
  await page.getByRole('button', { name: 'Open keyset' }).click()
  await expect(page.getByTestId('backend-label')).toContainText('other.json')
  await expect(page.getByRole('button', { name: 'Start: root token' })).toBeDisabled()
  await photograph(tessera, 'operation-held-result')
  await page.getByRole('button', { name: 'Back to the result' }).click()
  // The held OTP was not used up by the first decode.
  expect(await decodeHeld(page)).toBe(token)

  await page.getByRole('button', { name: 'Done — wipe' }).click()
  await page.getByRole('button', { name: 'Yes, wipe' }).click()
  await expect(page.getByTestId('notice')).toHaveText('The result was wiped from memory.')
  expect(await leaveGuarded(page)).toBe(false)
  await page.reload()
  await expect(page.getByRole('heading', { name: '2. Operation' })).toBeVisible()
})

test('the held OTP decodes again after hiding, "Change" and back', async ({ tessera }) => {
  const { page, keyset } = tessera
  await finishRootCeremony(page, keyset.keys)
  const token = await decodeHeld(page)
  await page.getByRole('button', { name: 'Hide' }).click()
  await page.getByRole('button', { name: 'Change' }).click()
  // With a result held, the way back is to the result, and only that one.
  await expect(page.getByRole('button', { name: /^Back to keyset/ })).toHaveCount(0)
  await page.getByRole('button', { name: 'Back to the result' }).click()
  expect(await decodeHeld(page)).toBe(token)
})

test('an on-screen hand-out shows the share in one step, and a reload resumes at the next holder', async ({ tessera }) => {
  const { page, dir } = tessera
  await page.getByRole('button', { name: 'Change' }).click()
  await page.getByLabel('New keyset file').fill(`${dir}/handout.json`)
  await page.getByLabel('Shares').fill('2')
  await page.getByLabel('Threshold').fill('2')
  await page.getByRole('button', { name: 'Create keyset' }).click()
  await page.getByRole('button', { name: 'Show share 1' }).click()
  await expect(page.getByTestId('secret-value')).toHaveText(/^[0-9a-f ]+$/)
  await expect(page.getByText('•••• hidden ••••')).toHaveCount(0)
  await photograph(tessera, 'handout-shown')
  await page.getByRole('button', { name: 'I have recorded share 1: hide it' }).click()
  // Focus is on the next holder's button, not lost to the page.
  await expect(page.getByRole('button', { name: 'Show share 2' })).toBeFocused()

  // A reload in the middle of the hand-out resumes it at holder 2.
  if (tessera.rpc) {
    page.once('dialog', (d) => void d.accept())
    await page.reload()
    await expect(page.getByText('Holder 2 of 2')).toBeVisible()
    const state = await tessera.rpc('session.state')
    expect(state.body.handOut.handedOut).toEqual([true, false])
    // Main refuses to end the hand-out with share 2 unseen.
    const refused = await tessera.rpc('handout.finish')
    expect(refused.body.code).toBe('shares_not_handed_out')
  }
  await page.getByRole('button', { name: 'Show share 2' }).click()
  await page.getByRole('button', { name: 'I have recorded share 2: hide it' }).click()
  await expect(page.getByRole('heading', { name: 'Initial root token' })).toBeVisible()
  await page.getByRole('button', { name: /Finish — wipe/ }).click()
  await expect(page.getByText('The initial root token was never shown')).toBeVisible()
  await photograph(tessera, 'handout-finish-unrevealed-token')
  await page.getByRole('button', { name: 'Finish without the root token' }).click()
  await expect(page.getByRole('heading', { name: '2. Operation' })).toBeVisible()
})

test('after a submit, focus is on the next holder\'s name, never one Tab from cancelling', async ({ tessera }) => {
  const { page, keyset } = tessera
  await page.getByRole('button', { name: 'Start: root token' }).click()
  await page.getByRole('button', { name: 'Start the attempt' }).click()
  await expect(page.getByLabel(/Your name or role/)).toBeFocused()
  const submitWithEnter = async (name: string, share: string) => {
    await page.getByLabel(/Your name or role/).fill(name)
    await page.getByTestId('confirm-nonce').check()
    await page.getByLabel('Key share').fill(share)
    await page.getByLabel('Key share').press('Enter')
  }
  await submitWithEnter('Alice', keyset.keys[0]!)
  await expect(page.getByTestId('progress')).toHaveText('1 of 2')
  await expect(page.getByLabel(/Your name or role/)).toBeFocused()
  // The sequence that used to cancel the attempt: Tab, Space, Tab, Enter. At most it asks,
  // with focus on keeping the attempt.
  for (const key of ['Tab', 'Space', 'Tab', 'Enter']) await page.keyboard.press(key)
  await expect(page.getByRole('button', { name: 'No, keep it' })).toBeFocused()
  await page.keyboard.press('Enter')
  await expect(page.getByTestId('notice')).toHaveCount(0)
  await expect(page.getByTestId('progress')).toHaveText('1 of 2')

  // A refused share: the same holder retries at once, so focus is on the (emptied) share
  // field, the name and the nonce confirmation kept, the refusal right under the field.
  await page.getByTestId('confirm-nonce').uncheck()
  await submitWithEnter('Alice again', keyset.keys_base64[0]!)
  await expect(page.getByTestId('collect-error')).toContainText('This share was already entered in this attempt')
  await expect(page.getByLabel('Key share')).toBeFocused()
  await expect(page.getByLabel('Key share')).toHaveValue('')
  await expect(page.getByLabel(/Your name or role/)).toHaveValue('Alice again')
  await expect(page.getByTestId('confirm-nonce')).toBeChecked()
  await page.keyboard.press('Tab')
  await expect(page.getByRole('button', { name: 'Show' })).toBeFocused()
  await photograph(tessera, 'collect-refused-focus')

  await submitWithEnter('Bob', keyset.keys[1]!)
  await expect(page.getByRole('heading', { name: /5\. Result/ })).toBeFocused()
})

test('a cancelled attempt says so', async ({ tessera }) => {
  const { page, keyset } = tessera
  await page.getByRole('button', { name: 'Start: root token' }).click()
  await page.getByRole('button', { name: 'Start the attempt' }).click()
  await enterShare(page, 'Alice', keyset.keys[0]!)
  await page.getByRole('button', { name: 'Cancel attempt…' }).click()
  await page.getByRole('button', { name: 'Yes, cancel the attempt' }).click()
  await expect(page.getByTestId('notice')).toContainText('The root token attempt was cancelled')
  await expect(page.getByText('No attempt running.').first()).toBeVisible()
  await photograph(tessera, 'operation-cancelled')
})

test('a token decoded with a mistyped OTP is refused, not shown', async ({ tessera }) => {
  const { page, keyset } = tessera
  // A result made elsewhere for this keyset's root token, with an OTP of Vault's alphabet.
  const token = keyset.root_token
  const otp = (await runCli(['generate-otp', '--length', String(token.length)])).stdout.trim()
  const raw = Buffer.from([...token].map((ch, i) => ch.charCodeAt(0) ^ otp.charCodeAt(i)))
  const encoded = raw.toString('base64')
  // One character off, chosen so that the wrong token still looks like a token.
  const swap = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'].find(
    (c) => c !== otp[12] && /[0-9A-Za-z]/.test(String.fromCharCode(c.charCodeAt(0) ^ raw[12]!)),
  )!
  const mistyped = otp.slice(0, 12) + swap + otp.slice(13)

  await page.getByRole('button', { name: 'Decode tool' }).click()
  await page.getByLabel(/Encoded value/).fill(encoded)
  await page.getByLabel(/One-time password/).fill(mistyped)
  await page.getByRole('button', { name: 'Decode', exact: true }).click()
  await expect(page.getByTestId('decode-error')).toContainText('probably mistyped')
  await expect(page.getByTestId('secret-value')).toHaveCount(0)
  await photograph(tessera, 'decode-mistyped-otp')
  await page.getByLabel(/One-time password/).fill(otp)
  await page.getByRole('button', { name: 'Decode', exact: true }).click()
  await expect(page.getByTestId('decode-verified')).toContainText('belongs to the keyset')
  await page.getByRole('button', { name: 'Reveal' }).click()
  await expect(page.getByTestId('secret-value')).toHaveText(token)
  await photograph(tessera, 'decode-verified')
  // "Decode another" drops the value from the page.
  await page.getByRole('button', { name: 'Decode another' }).click()
  await expect(page.getByText(token)).toHaveCount(0)
  await expect(page.getByLabel(/Encoded value/)).toHaveValue('')
})

test('a reload keeps the page working and the holder log; a new printed address is taken at once', async ({ tessera }) => {
  test.skip(tessera.rpc === null, 'the access token is the browser transport\'s')
  const { page, keyset } = tessera
  await page.getByRole('button', { name: 'Start: root token' }).click()
  await page.getByRole('button', { name: 'Start the attempt' }).click()
  await enterShare(page, 'Alice', keyset.keys[0]!)
  await expect(page.getByTestId('progress')).toHaveText('1 of 2')
  await page.reload()
  await expect(page.getByRole('heading', { name: '2. Operation' })).toBeVisible()
  expect(page.url()).not.toContain('access=')
  await page.getByRole('button', { name: 'Resume this attempt' }).click()
  await expect(page.getByTestId('log')).toContainText('Alice: accepted share 1 (1 of 2)')
  await photograph(tessera, 'collect-after-reload')

  // A tab without the key says so in plain words...
  await page.evaluate(() => sessionStorage.clear())
  await page.reload()
  const lockedOut = page.getByRole('alert')
  await expect(lockedOut).toContainText('Open the address that the tessera web command printed')
  expect(await lockedOut.textContent()).not.toContain('`')
  await photograph(tessera, 'no-access-key')
  // ...and pasting the printed address into the same tab (only the fragment changes) lets it in.
  await page.goto(tessera.address!)
  await expect(page.getByRole('heading', { name: '2. Operation' })).toBeVisible()
  expect(page.url()).not.toContain('access=')
})

test('"Change" is a round trip: back in one click, recent keysets one click away', async ({ tessera }) => {
  const { page, dir, keysetPath } = tessera
  const other = `${dir}/second.json`
  expect((await runCli(['init', '--keyset', other, '--shares', '2', '--threshold', '2'])).code).toBe(0)
  await page.getByRole('button', { name: 'Change' }).click()
  // The header's "Change" is not offered where it would do nothing.
  await expect(page.getByRole('button', { name: 'Change' })).toHaveCount(0)
  await page.getByRole('button', { name: `Back to keyset ${keysetPath}` }).click()
  await expect(page.getByRole('heading', { name: '2. Operation' })).toBeVisible()

  await page.getByRole('button', { name: 'Change' }).click()
  await page.getByLabel('Keyset file', { exact: true }).fill(other)
  await page.getByRole('button', { name: 'Open keyset' }).click()
  await expect(page.getByTestId('backend-label')).toContainText('second.json')
  await page.getByRole('button', { name: 'Change' }).click()
  const recent = page.getByRole('region', { name: 'Recently opened' })
  // The open keyset is named, not offered: the one way back is the button above.
  await expect(recent.getByRole('button')).toHaveText([`Open ${keysetPath}`])
  await expect(recent).toContainText(`${other} — open now`)
  await photograph(tessera, 'backend-recent')
  await recent.getByRole('button', { name: `Open ${keysetPath}` }).click()
  await expect(page.getByTestId('backend-label')).toContainText(keysetPath)
  await expect(page.getByRole('heading', { name: '2. Operation' })).toBeVisible()
})
test('a slow main never mixes two holders: what is sent is what the form held at the press, under that name', async ({ tessera }) => {
  const { page, keyset } = tessera
  await page.getByRole('button', { name: 'Start: root token' }).click()
  await page.getByRole('button', { name: 'Start the attempt' }).click()
  // The nonce confirmation takes its time: the next holder is already at the keyboard.
  await page.route('**/rpc/attempt.confirmNonce', async (route) => {
    await new Promise((r) => setTimeout(r, 1500))
    await route.continue()
  })
  await enterShare(page, 'Alice', keyset.keys[0]!)
  await enterShare(page, 'Bob', keyset.keys[1]!)
  await expect(page.getByRole('heading', { name: /5\. Result/ })).toBeVisible()
  // The held result's holder log, as main keeps it: each holder with their own share.
  test.skip(tessera.rpc === null, 'reading main\'s log directly needs the web transport')
  const { log } = (await tessera.rpc!('session.state')).body as { log: Array<{ operator: string; outcome: string }> }
  expect(log.map((e) => `${e.operator}: ${e.outcome}`)).toEqual(['Alice: accepted share 1 (1 of 2)', 'Bob: accepted share 2 (2 of 2)'])
})

test('the recently opened list arrives late without moving "Open keyset" under the pointer', async ({ tessera }) => {
  const { page } = tessera
  let answered = false
  await page.route('**/rpc/backend.recent', async (route) => {
    await new Promise((done) => setTimeout(done, 800))
    await route.continue()
    answered = true
  })
  await page.getByRole('button', { name: 'Change' }).click()
  const open = page.getByRole('button', { name: 'Open keyset' })
  const before = await open.boundingBox()
  expect(answered).toBe(false)
  await expect(page.getByRole('heading', { name: 'Recently opened' })).toBeVisible()
  expect(await open.boundingBox()).toEqual(before)
})
