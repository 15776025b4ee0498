import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { test, expect, enterShare, photograph } from './fixtures'
import { runCli, startServe } from '../test/helpers/cli'

test('the backend screen: one way back, only keysets that exist, words that do not break', async ({ tessera }) => {
  const { page, keyset, dir } = tessera
  const other = join(dir, 'other.json')
  expect((await runCli(['init', '--keyset', other, '--shares', '2', '--threshold', '2'])).code).toBe(0)
  const gone = join(dir, 'gone.json')
  expect((await runCli(['init', '--keyset', gone, '--shares', '2', '--threshold', '2'])).code).toBe(0)

  // A relative path that finds nothing says where it looked, and points to the form beside it.
  await page.getByRole('button', { name: 'Change' }).click()
  await page.getByLabel('Keyset file', { exact: true }).fill('no-such-keyset.json')
  await page.getByRole('button', { name: 'Open keyset' }).click()
  const error = page.getByTestId('open-error')
  await expect(error).toContainText(/There is no keyset at \/\S+\/no-such-keyset\.json \(no-such-keyset\.json, read from the folder Tessera was started in\)/)
  await expect(error).toContainText('create a new keyset with "Create a keyset"')
  await expect(error).not.toContainText('tessera init')

  for (const path of [gone, other]) {
    await page.getByLabel('Keyset file', { exact: true }).fill(path)
    await page.getByLabel(/Recovery mode/).check()
    await page.getByRole('button', { name: 'Open keyset' }).click()
    await expect(page.getByTestId('backend-label')).toContainText(path)
    await page.getByRole('button', { name: 'Change' }).click()
  }
  await page.getByLabel(/Recovery mode/).uncheck()
  await page.getByLabel('Keyset file', { exact: true }).fill(tessera.keysetPath)
  await page.getByRole('button', { name: 'Open keyset' }).click()
  await expect(page.getByTestId('backend-label')).toContainText(tessera.keysetPath)
  await rm(gone)
  await tessera.reopen()
  await page.getByRole('button', { name: 'Change' }).click()
  const recent = page.getByRole('region', { name: 'Recently opened' })
  await expect(recent.getByRole('button')).toHaveCount(1)
  await expect(recent).not.toContainText('gone.json')
  // Narrow enough to wrap: the path may break anywhere, "(recovery mode)" never.
  await page.setViewportSize({ width: 700, height: 900 })
  const mode = recent.locator('.mode')
  await expect(mode).toHaveCount(1)
  expect(await mode.evaluate((e) => e.getClientRects().length)).toBe(1)
  await photograph(tessera, 'recent')
  await page.setViewportSize({ width: 1280, height: 900 })

  // With a result held, "Back to the result" is the one way back.
  await page.getByRole('button', { name: 'Back to keyset' }).click()
  await page.getByRole('button', { name: 'Start: root token' }).click()
  await page.getByRole('button', { name: 'Start the attempt' }).click()
  await enterShare(page, 'Alice', keyset.keys[0]!)
  // The holder log's times in UTC, as the record has them.
  await expect(page.getByTestId('log').locator('li').first()).toHaveText(/^\d\d:\d\d:\d\d UTC Alice: accepted/)
  await enterShare(page, 'Bob', keyset.keys[1]!)
  await page.getByRole('button', { name: 'Change' }).click()
  await expect(page.getByRole('button', { name: /^Back/ })).toHaveCount(1)
  await expect(page.getByRole('button', { name: 'Back to the result' })).toBeVisible()
  await photograph(tessera, 'backend-with-held-result')
})

test('dark theme: native controls are dark, disabled buttons look disabled', async ({ tessera }) => {
  const { page } = tessera
  await page.getByRole('button', { name: 'Switch to dark theme' }).click()
  await page.getByRole('button', { name: 'Change' }).click()
  const box = page.getByLabel(/Recovery mode/)
  expect(await box.evaluate((e) => getComputedStyle(e).colorScheme)).toBe('dark')
  const open = page.getByRole('button', { name: 'Open keyset' })
  await expect(open).toBeDisabled()
  const style = await open.evaluate((e) => {
    const s = getComputedStyle(e)
    return { border: s.borderTopStyle, background: s.backgroundColor }
  })
  expect(style).toEqual({ border: 'dashed', background: 'rgba(0, 0, 0, 0)' })
  await tessera.shot('dark-disabled')
})

test('the create form: every count problem at once, each gone when fixed; keys named by their holders', async ({ tessera }) => {
  const { page, dir } = tessera
  await page.getByRole('button', { name: 'Change' }).click()
  await page.getByLabel('Shares').fill('0')
  await page.getByLabel('Threshold').fill('0')
  const limits = page.getByTestId('init-limits')
  await expect(limits.getByRole('listitem')).toHaveText(['Shares must be from 1 to 255.', 'The threshold must be at least 1.'])
  await page.getByLabel('Shares').fill('2')
  await expect(limits.getByRole('listitem')).toHaveText(['The threshold must be at least 1.'])
  await page.getByLabel('Threshold').fill('2')
  await expect(limits).toHaveCount(0)

  // A refusal from main goes once the field it names is edited.
  await page.getByLabel('New keyset file').fill(join(dir, 'named.json'))
  await page.getByLabel('Holder 1', { exact: true }).fill('Dana')
  await page.getByLabel('Holder 2', { exact: true }).fill('dana')
  await page.getByRole('button', { name: 'Create keyset' }).click()
  await expect(page.getByTestId('holder-error')).toBeVisible()
  await page.getByLabel('Holder 2', { exact: true }).fill('Erin')
  await expect(page.getByTestId('holder-error')).toHaveCount(0)

  await page.getByLabel(/Encrypt each share to its holder's PGP key/).check()
  await expect(page.getByLabel("Dana's public key (holder 1)")).toBeVisible()
  await expect(page.getByLabel("Erin's public key (holder 2)")).toBeVisible()
  await photograph(tessera, 'create-form')
})

test('the create form: two bad names and too high a threshold show at once, each at its field, each gone when fixed', async ({ tessera }) => {
  const { page, dir } = tessera
  await page.getByRole('button', { name: 'Change' }).click()
  await page.getByLabel('New keyset file').fill(join(dir, 'named.json'))
  await page.getByLabel('Shares').fill('3')
  await page.getByLabel('Threshold').fill('4')
  await page.getByLabel('Holder 1', { exact: true }).fill('Dana')
  await page.getByLabel('Holder 2', { exact: true }).fill('#2')
  await page.getByLabel('Holder 3', { exact: true }).fill('dana')
  // Nothing was sent: the form knows the keyset's rules.
  const limits = page.getByTestId('init-limits')
  await expect(limits.getByRole('listitem')).toHaveText(['The threshold cannot exceed the number of shares.'])
  const named = (i: number) => page.getByLabel(`Holder ${i}`, { exact: true })
  await expect(page.getByTestId('holder-error')).toHaveText([
    "Holder name 2 must be letters, digits, spaces and . ' ( ) _ @ -, starting with a letter or digit.",
    'Holder name 3 repeats an earlier one: each holder needs their own name.',
  ])
  await expect(named(2)).toHaveAttribute('aria-invalid', 'true')
  await expect(named(3)).toHaveAttribute('aria-invalid', 'true')
  await expect(named(1)).toHaveAttribute('aria-invalid', 'false')
  await photograph(tessera, 'create-form-problems')

  // Fixing one name takes its message only.
  await named(2).fill('Erin')
  await expect(page.getByTestId('holder-error')).toHaveText(['Holder name 3 repeats an earlier one: each holder needs their own name.'])
  await expect(named(2)).toHaveAttribute('aria-invalid', 'false')
  await expect(limits).toBeVisible()
  await page.getByLabel('Threshold').fill('2')
  await expect(limits).toHaveCount(0)
  // Create with a name still wrong sends nothing: the name takes the focus.
  await page.getByRole('button', { name: 'Create keyset' }).click()
  await expect(named(3)).toBeFocused()
  await named(3).fill('Frank')
  await expect(page.getByTestId('holder-error')).toHaveCount(0)
  await page.getByRole('button', { name: 'Create keyset' }).click()
  await expect(page.getByText('Holder 1 of 3 — Dana')).toBeVisible()
})

test('remote mode: the token is not "saved" where no keychain keeps it; the OTP is named as Tessera made it', async ({ tessera }) => {
  const { page, rpc } = tessera
  test.skip(rpc === null, 'needs the web transport to know whether a keychain answers')
  const keychain = (await rpc!('profiles.list', null)).body.credentials === 'keychain'
  const server = await startServe(['--keyset', tessera.keysetPath])
  try {
    await page.getByRole('button', { name: 'Change' }).click()
    const remote = page.getByRole('region', { name: 'Remote server' })
    await remote.getByRole('button', { name: 'Add a server profile' }).click()
    await remote.getByLabel('Name', { exact: true }).fill('Rehearsal')
    await remote.getByLabel(/Address/).fill(server.url)
    await remote.getByLabel(/^Token/).fill(tessera.keyset.root_token)
    await remote.getByRole('button', { name: 'Save profile' }).click()
    const hint = remote.getByText(/optional: a token is/)
    await expect(hint).toHaveText(keychain ? 'optional: a token is saved in the keychain' : 'optional: a token is kept until Tessera closes')
    await photograph(tessera, 'remote-token-hint')
    await remote.getByRole('button', { name: 'Connect', exact: true }).click()
    await page.getByRole('button', { name: 'Start: root token' }).click()
    await expect(page.getByTestId('otp-choice')).toContainText('made by Tessera, given to the server with the start')
    await expect(page.getByTestId('otp-choice')).not.toContainText('engine')
  } finally {
    await server.stop()
  }
})
