import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { test, expect, photograph } from './fixtures'

const run = promisify(execFile)
/** Letters and digits only: pdftotext spaces text as the layout falls. */
const squash = (text: string) => text.replace(/[^A-Za-z0-9]/g, '')

test('each holder prints only their own share card, which typed back (with or without its line numbers) opens the keyset and names a mistyped line', async ({ tessera }) => {
  const { page, dir } = tessera
  await page.getByRole('button', { name: 'Change' }).click()
  await page.getByLabel('New keyset file').fill(join(dir, 'cards.json'))
  await page.getByLabel('Shares').fill('3')
  await page.getByLabel('Threshold').fill('2')
  for (const [i, name] of ['Dana', 'Frank', 'Erin'].entries()) await page.getByLabel(`Holder ${i + 1}`, { exact: true }).fill(name)
  await page.getByRole('button', { name: 'Create keyset' }).click()
  // The hand-out is recorded from the start: its file is named by date and the new keyset's fingerprint.
  await expect(page.getByTestId('record-path')).toHaveText(new RegExp(`^${join(dir, 'config', 'records')}/\\d{4}-\\d\\d-\\d\\d-init-[0-9a-f]{16}\\.jsonl$`))
  let hash = (await page.getByTestId('record-hash').textContent())!

  const cards: string[][] = []
  for (const [i, name] of ['Dana', 'Frank', 'Erin'].entries()) {
    await expect(page.getByText(`Holder ${i + 1} of 3 — ${name}`)).toBeVisible()
    await page.getByRole('button', { name: 'Print my share card' }).click()
    const card = page.getByTestId('share-card')
    await expect(card).toHaveCount(1)
    await expect(card).toContainText(`Key share card — ${name}`)
    await expect(card).toContainText(/Share \d of 3, any 2 open it\./)
    await expect(card).toContainText(`tessera verify-share --keyset ${join(dir, 'cards.json')}`)
    const lines = (await page.getByTestId('card-lines').textContent())!.split('\n')
    cards.push(lines)
    if (i === 0) {
      await photograph(tessera, 'share-card')
      await page.screenshot({ path: join('resources', 'screenshots', 'share-card.png') })
      // Printed, only the card is on paper: one page, its holder and its lines, nothing else of the screen.
      await page.emulateMedia({ media: 'print' })
      const pdf = join(dir, 'card.pdf')
      await page.pdf({ path: pdf, format: 'A4' })
      await page.emulateMedia({ media: 'screen' })
      const { stdout: info } = await run('pdfinfo', [pdf])
      expect(info).toMatch(/Pages:\s+1\n/)
      const { stdout: text } = await run('pdftotext', ['-layout', pdf, '-'])
      expect(text).toContain('Dana')
      for (const line of lines) expect(squash(text)).toContain(squash(line))
      expect(text).not.toContain('Hand out the shares')
      expect(text).not.toContain('Tessera')
    }
    await page.getByRole('button', { name: 'I have my card: wipe it from the screen' }).click()
    await expect(page.getByTestId('share-card')).toHaveCount(0)
    // Each card shown is a line of the record: its final hash moves on.
    await expect(page.getByTestId('record-hash')).not.toHaveText(hash)
    hash = (await page.getByTestId('record-hash').textContent())!
  }
  expect(new Set(cards.map((c) => c.join())).size).toBe(3)

  // The record so far prints from the hand-out screen (a browser downloads it).
  const download = page.waitForEvent('download')
  await page.getByRole('button', { name: 'Print ceremony record' }).click()
  const record = await readFile((await (await download).path())!, 'utf8')
  expect(record).toContain('Keyset created')
  // Dana's card went to paper (the PDF above is the page's print); Frank's and Erin's were only shown.
  expect(record).toContain('<tr><td>Dana</td><td>1</td><td>shown on screen as a share card, printed on a share card</td></tr>')
  expect(record).toContain('<tr><td>Frank</td><td>2</td><td>shown on screen as a share card</td></tr>')
  // Its final hash in large type, in groups of four.
  expect(record).toContain(hash.match(/.{4}/g)!.join(' '))

  await page.getByRole('button', { name: 'Finish — wipe the shares from memory' }).click()
  await page.getByRole('button', { name: 'Finish without the root token' }).click()
  await expect(page.getByRole('heading', { name: '2. Operation' })).toBeVisible()
  await page.getByRole('button', { name: 'Start: root token' }).click()
  await page.getByRole('button', { name: 'Start the attempt' }).click()

  // Frank types his card on one line, numbers and checks included, with one character wrong on line 2.
  const frank = cards[1]!
  const wrongLine = frank[1]!.replace(/: (.)/, (_m, ch: string) => `: ${ch === 'a' ? 'b' : 'a'}`)
  await page.getByLabel(/Your name or role/).fill('Frank')
  await page.getByTestId('confirm-nonce').check()
  await page.getByLabel('Key share').fill([frank[0], wrongLine, ...frank.slice(2)].join('  '))
  await expect(page.getByRole('button', { name: 'Submit share' })).toBeEnabled()
  await page.getByRole('button', { name: 'Submit share' }).click()
  await expect(page.getByTestId('collect-error')).toContainText('Line 2 of the share card does not match its check')
  // Then on one line without the line numbers but with each line's check: still checked line by line.
  const unnumbered = (lines: string[]) => lines.map((l) => l.replace(/^\s*\d+:\s*/, '')).join(' ')
  await page.getByLabel('Key share').fill(unnumbered([frank[0]!, wrongLine, ...frank.slice(2)]))
  await expect(page.getByRole('button', { name: 'Submit share' })).toBeEnabled()
  await page.getByRole('button', { name: 'Submit share' }).click()
  await expect(page.getByTestId('collect-error')).toContainText('Line 2 of the share card does not match its check')
  await photograph(tessera, 'share-card-one-line-refused')
  await page.getByLabel('Key share').fill(unnumbered(frank))
  await page.getByRole('button', { name: 'Submit share' }).click()
  await expect(page.getByTestId('progress')).toHaveText('1 of 2')

  // Dana leaves the checks out.
  const dana = cards[0]!.map((l) => l.replace(/\s+[0-9a-f]{4}$/, ''))
  await page.getByLabel(/Your name or role/).fill('Dana')
  await page.getByTestId('confirm-nonce').check()
  await page.getByLabel('Key share').fill(dana.join(' '))
  await page.getByRole('button', { name: 'Submit share' }).click()
  await expect(page.getByRole('heading', { name: /5\. Result/ })).toBeVisible()
})
