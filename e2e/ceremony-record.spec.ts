import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test, expect, enterShare, photograph, recordFileHash } from './fixtures'
import { runCli } from '../test/helpers/cli'

test('a ceremony in the app leaves a record that verifies, shown on the result screen and printable after the wipe', async ({ tessera }) => {
  const { page, keyset, dir } = tessera
  await page.getByRole('button', { name: 'Start: root token' }).click()
  // The default record folder is shown on the protection step.
  await expect(page.getByLabel(/Ceremony record folder/)).toHaveValue(join(dir, 'config', 'records'))
  await photograph(tessera, 'protection-record-folder')
  await page.getByRole('button', { name: 'Start the attempt' }).click()
  const nonce = (await page.getByTestId('nonce').textContent())!

  // Ticking the nonce box is recorded; Bob ticks it before typing his name, so his is recorded at his submit.
  await enterShare(page, 'Alice', keyset.keys[0]!)
  await expect(page.getByTestId('progress')).toHaveText('1 of 2')
  await page.getByTestId('confirm-nonce').check()
  await page.getByLabel(/Your name or role/).fill('Bob')
  await page.getByLabel('Key share').fill(keyset.keys[1]!)
  await page.getByRole('button', { name: 'Submit share' }).click()
  await expect(page.getByRole('heading', { name: /5\. Result/ })).toBeVisible()

  const path = join(dir, 'config', 'records', `${new Date().toISOString().slice(0, 10)}-${nonce}.jsonl`)
  await expect(page.getByTestId('record-path')).toHaveText(path)
  await photograph(tessera, 'result-record')

  // Printed before the wipe, the record is not closed: it says so in large type and has no place to sign.
  const early = page.waitForEvent('download')
  await page.getByRole('button', { name: 'Print ceremony record' }).click()
  const earlyHtml = await readFile((await (await early).path())!, 'utf8')
  expect(earlyHtml).toContain('NOT CLOSED: the ceremony was still running')
  expect(earlyHtml).not.toContain('We witnessed this ceremony')
  const paper = await page.context().newPage()
  await paper.setContent(earlyHtml)
  await expect(paper.locator('.unclosed').first()).toBeVisible()
  expect(await paper.locator('.unclosed').first().evaluate((e) => parseFloat(getComputedStyle(e).fontSize))).toBeGreaterThanOrEqual(24)
  await paper.screenshot({ path: join('test-results', 'screenshots', 'record-printed-not-closed.png'), fullPage: true })
  await paper.close()

  await page.getByRole('button', { name: 'Done — wipe' }).click()
  await page.getByRole('button', { name: 'Yes, wipe' }).click()
  await expect(page.getByRole('heading', { name: '2. Operation' })).toBeVisible()
  await expect(page.getByTestId('ceremony-record')).toContainText('Recorded in')
  const finalHash = (await page.getByTestId('record-hash').textContent())!
  await photograph(tessera, 'operation-last-record')

  const verified = await runCli(['record', 'verify', path])
  expect(verified.code, verified.stderr).toBe(0)
  expect(verified.stdout).toContain(finalHash)
  const events = (await readFile(path, 'utf8')).trim().split('\n').map((l) => JSON.parse(l).type)
  expect(events).toEqual([
    'backend_opened', 'attempt_started',
    'nonce_confirmed', 'share_accepted', 'nonce_confirmed', 'share_accepted', 'completed',
    'wiped', 'closed',
  ])

  // The browser is handed the print-ready page as a file to open and print.
  const download = page.waitForEvent('download')
  await page.getByRole('button', { name: 'Print ceremony record' }).click()
  const file = await download
  expect(file.suggestedFilename()).toBe('ceremony-record.html')
  const html = await readFile((await file.path())!, 'utf8')
  expect(html).toContain('Key ceremony record')
  expect(html).toContain(nonce)
  expect(html).toMatch(/Alice[\s\S]*Bob/)
  expect(html).toContain('We witnessed this ceremony')
  expect(html).not.toContain('NOT CLOSED')
  await expect(page.getByTestId('record-printed')).toContainText('ceremony-record.html')
})

test('the record panel\'s final hash is the file\'s after a decode, a wipe and a cancel, the same the print shows', async ({ tessera }) => {
  const { page, keyset, dir } = tessera
  const panelHash = page.getByTestId('record-hash')
  await page.getByRole('button', { name: 'Start: root token' }).click()
  await page.getByRole('button', { name: 'Start the attempt' }).click()
  const nonce = (await page.getByTestId('nonce').textContent())!
  const path = join(dir, 'config', 'records', `${new Date().toISOString().slice(0, 10)}-${nonce}.jsonl`)
  await enterShare(page, 'Alice', keyset.keys[0]!)
  await enterShare(page, 'Bob', keyset.keys[1]!)
  await expect(page.getByRole('heading', { name: /5\. Result/ })).toBeVisible()
  await expect(panelHash).toHaveText(await recordFileHash(path))

  // A decode adds a line: the panel follows at once, before any other action.
  const before = (await panelHash.textContent())!
  await page.getByRole('button', { name: 'Decode', exact: true }).click()
  await expect(page.getByRole('heading', { name: /Decoded root token/ })).toBeVisible()
  const decoded = await recordFileHash(path)
  expect(decoded).not.toBe(before)
  await expect(panelHash).toHaveText(decoded)
  await photograph(tessera, 'record-hash-after-decode')
  // What the print shows is the same hash.
  const download = page.waitForEvent('download')
  await page.getByRole('button', { name: 'Print ceremony record' }).click()
  const printed = await readFile((await (await download).path())!, 'utf8')
  expect(printed).toContain(decoded.match(/.{4}/g)!.join(' '))

  await page.getByRole('button', { name: 'Done — wipe' }).click()
  await page.getByRole('button', { name: 'Yes, wipe' }).click()
  await expect(page.getByRole('heading', { name: '2. Operation' })).toBeVisible()
  await expect(panelHash).toHaveText(await recordFileHash(path))

  // A cancelled attempt: the panel shows the cancelled record's closing hash.
  await page.getByRole('button', { name: 'Start: root token' }).click()
  await page.getByRole('button', { name: 'Start the attempt' }).click()
  const second = join(dir, 'config', 'records', `${new Date().toISOString().slice(0, 10)}-${(await page.getByTestId('nonce').textContent())!}.jsonl`)
  await page.getByRole('button', { name: 'Cancel attempt…' }).click()
  await page.getByRole('button', { name: 'Yes, cancel the attempt' }).click()
  await expect(page.getByRole('heading', { name: '2. Operation' })).toBeVisible()
  await expect(page.getByTestId('record-path')).toHaveText(second)
  await expect(panelHash).toHaveText(await recordFileHash(second))
})
