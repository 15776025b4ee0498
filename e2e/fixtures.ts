import { test as base, expect, chromium, _electron, type Page } from '@playwright/test'
import AxeBuilder from '@axe-core/playwright'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli, TESSERA } from '../test/helpers/cli'
import { verifyRecord } from '../src-main/record/verify'

export { expect }

import { CHROMIUM, CHROMIUM_ARGS } from './chromium'

export { CHROMIUM, CHROMIUM_ARGS }
export const SHOTS = join(process.cwd(), 'test-results', 'screenshots')

export interface InitResult {
  keys: string[]
  keys_base64: string[]
  root_token: string
}

export interface KeysetOptions {
  shares: number
  threshold: number
  scheme: 'vault' | 'secretsjs'
  /** Holder names, one per share (`init --holders`). */
  holders?: string[]
}

export interface Tessera {
  page: Page
  dir: string
  keysetPath: string
  keyset: InitResult
  /** The address `tessera web` printed, with its access token (web transport only). */
  address: string | null
  /** Calls the web host directly, as a second client would (web transport only). */
  rpc: ((channel: string, input?: unknown) => Promise<{ status: number; body: any }>) | null
  /** Opens the app afresh: the printed address again (web), or a reload (Electron). */
  reopen: () => Promise<void>
  /** A screenshot of the current screen, named for the journey and step. */
  shot: (step: string) => Promise<void>
  /** Fails on any accessibility violation of the current screen. */
  axe: () => Promise<void>
}

/**
 * The Electron binary, or why there is none: journeys skip rather than pretend.
 * Looked up the way the electron package does, without its download-on-demand.
 */
export function electronBinary(): { path?: string; reason?: string } {
  const pkg = join(process.cwd(), 'node_modules', 'electron')
  const pathFile = join(pkg, 'path.txt')
  const name = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : 'electron'
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH
  const path = override ? join(override, name) : join(pkg, 'dist', name)
  return existsSync(path)
    ? { path }
    : { reason: `no Electron binary at ${path} (set ELECTRON_OVERRIDE_DIST_PATH to a local Electron build)` }
}

function startWeb(keysetPath: string, configDir: string): Promise<{ child: ChildProcess; url: string; origin: string; token: string; output: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TESSERA, 'web', '--keyset', keysetPath, '--port', '0'], {
      env: { ...process.env, TESSERA_CONFIG_DIR: configDir },
    })
    let out = ''
    child.stdout!.on('data', (d) => {
      out += d
      const m = /open (http:\/\/127\.0\.0\.1:\d+)\/#access=([A-Za-z0-9_-]+)/.exec(out)
      if (m) resolve({ child, url: `${m[1]}/#access=${m[2]}`, origin: m[1]!, token: m[2]!, output: () => out })
    })
    child.stderr!.on('data', (d) => (out += d))
    child.on('close', (code) => reject(new Error(`tessera web exited ${code}: ${out}`)))
  })
}

export const test = base.extend<{ keysetOptions: KeysetOptions; tessera: Tessera }>({
  keysetOptions: [{ shares: 3, threshold: 2, scheme: 'vault' }, { option: true }],

  tessera: async ({ keysetOptions }, use, testInfo) => {
    const transport = testInfo.project.metadata.transport as 'web' | 'electron'
    let electronPath: string | undefined
    if (transport === 'electron') {
      const found = electronBinary()
      if (!found.path) {
        console.log(`[electron] skipped "${testInfo.title}": ${found.reason}`)
        testInfo.skip(true, found.reason)
      }
      electronPath = found.path
    }

    const dir = await mkdtemp(join(tmpdir(), 'tessera-e2e-'))
    const keysetPath = join(dir, 'ceremony.json')
    const init = await runCli([
      'init', '--keyset', keysetPath,
      '--shares', String(keysetOptions.shares), '--threshold', String(keysetOptions.threshold),
      '--scheme', keysetOptions.scheme, '--format', 'json',
      ...(keysetOptions.holders ? ['--holders', keysetOptions.holders.join(',')] : []),
    ])
    expect(init.code, init.stderr).toBe(0)
    const keyset = JSON.parse(init.stdout) as InitResult
    await mkdir(SHOTS, { recursive: true })
    const slug = `${testInfo.project.name}-${testInfo.title.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`

    const cleanup: Array<() => Promise<unknown>> = [() => rm(dir, { recursive: true, force: true })]
    let page: Page
    let rpc: Tessera['rpc'] = null
    let address: string | null = null
    let reopen: Tessera['reopen']
    /** What a failed journey leaves behind to explain itself: the host's output, the calls still unanswered. */
    let diagnose: () => Promise<string> = async () => ''
    if (transport === 'electron') {
      const app = await _electron.launch({
        executablePath: electronPath,
        args: [join(process.cwd(), 'out/main/index.js'), '--keyset', keysetPath],
        env: { ...process.env, TESSERA_CONFIG_DIR: join(dir, 'config') } as Record<string, string>,
      })
      cleanup.unshift(() => app.close())
      page = await app.firstWindow()
      reopen = async () => void (await page.reload())
    } else {
      const web = await startWeb(keysetPath, join(dir, 'config'))
      address = web.url
      cleanup.unshift(async () => web.child.kill('SIGTERM'))
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
      cleanup.unshift(() => browser.close())
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: web.origin })
      page = await context.newPage()
      // A slow main (the project's slowRpc, or TESSERA_E2E_SLOW_RPC=MS for any run) answers each
      // call up to MS later, at random: a page that races its own calls then fails its journeys.
      const slow = Number(testInfo.project.metadata.slowRpc ?? process.env.TESSERA_E2E_SLOW_RPC ?? 0)
      if (slow > 0) {
        await page.route('**/rpc/**', async (route) => {
          await new Promise((r) => setTimeout(r, Math.random() * slow))
          await route.continue()
        })
      }
      const pending = new Map<object, string>()
      const console: string[] = []
      page.on('request', (r) => {
        if (r.url().includes('/rpc/')) pending.set(r, `${new URL(r.url()).pathname} at ${new Date().toISOString()}`)
      })
      page.on('requestfinished', (r) => pending.delete(r))
      page.on('requestfailed', (r) => pending.set(r, `${pending.get(r)} failed: ${r.failure()?.errorText}`))
      page.on('console', (m) => console.push(`${m.type()}: ${m.text()}`))
      page.on('pageerror', (e) => console.push(`page error: ${e.message}`))
      diagnose = async () =>
        [
          `calls unanswered or failed: ${[...pending.values()].join('; ') || 'none'}`,
          `console: ${console.join(' | ') || 'nothing'}`,
          `tessera web output: ${web.output().replace(/#access=\S+/g, "#access=(token)")}`,
        ].join('\n')
      await page.goto(web.url)
      // A fresh load: going to the same address would only change the fragment.
      reopen = async () => {
        await page.goto('about:blank')
        await page.goto(web.url)
      }
      rpc = async (channel, input) => {
        const res = await fetch(`${web.origin}/rpc/${channel}`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${web.token}`, 'Content-Type': 'application/json' },
          body: JSON.stringify(input ?? null),
        })
        return { status: res.status, body: await res.json() }
      }
    }
    let n = 0
    try {
      await use({
        page,
        dir,
        keysetPath,
        keyset,
        rpc,
        address,
        reopen: () => reopen(),
        shot: async (step) => {
          n += 1
          await page.screenshot({ path: join(SHOTS, `${slug}-${String(n).padStart(2, '0')}-${step}.png`), fullPage: true })
        },
        axe: async () => {
          const { violations } = await new AxeBuilder({ page }).analyze()
          expect(violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((x) => x.target.join(' ')).join('; ')})`)).toEqual([])
        },
      })
    } finally {
      if (testInfo.status !== testInfo.expectedStatus) {
        await page.screenshot({ path: testInfo.outputPath('failed.png'), fullPage: true }).catch(() => undefined)
        const text = await diagnose()
        // Printed as well as attached: CI keeps its log, not the test's output folder.
        if (text) process.stdout.write(`[diagnosis] ${testInfo.title}\n${text}\n`)
        await testInfo.attach('diagnosis', { body: text, contentType: 'text/plain' })
      }
      for (const step of cleanup) await step().catch(() => undefined)
    }
  },
})

/** Enters one holder's share the way a holder does: name, nonce confirmed, share, submit. */
export async function enterShare(page: Page, operator: string, share: string): Promise<void> {
  await page.getByLabel(/Your name or role/).fill(operator)
  await page.getByTestId('confirm-nonce').check()
  await page.getByLabel('Key share').fill(share)
  await page.getByRole('button', { name: 'Submit share' }).click()
}

/** Fills the Create form for a keyset at `path` whose shares are encrypted to `keyFiles`, one a holder (Create is left to the caller). */
export async function fillEncryptedKeyset(page: Page, path: string, keyFiles: string[]): Promise<void> {
  await page.getByRole('button', { name: 'Change' }).click()
  await page.getByLabel('New keyset file').fill(path)
  await page.getByLabel('Shares').fill(String(keyFiles.length))
  await page.getByLabel('Threshold').fill(String(keyFiles.length))
  await page.getByLabel(/Encrypt each share/).check()
  for (const [i, file] of keyFiles.entries()) await page.getByLabel(`Holder ${i + 1} public key`).setInputFiles(file)
}

/** Photographs the current screen in the light and the dark theme, each checked with axe. */
export async function photograph(tessera: Tessera, step: string): Promise<void> {
  const { page } = tessera
  await tessera.shot(`${step}-light`)
  await tessera.axe()
  await page.getByRole('button', { name: 'Switch to dark theme' }).click()
  await tessera.shot(`${step}-dark`)
  await tessera.axe()
  await page.getByRole('button', { name: 'Switch to light theme' }).click()
}

/** The hash of a record file's last line, as `tessera record verify` prints it (of its valid prefix, if damaged). */
export async function recordFileHash(path: string): Promise<string> {
  const v = verifyRecord(await readFile(path, 'utf8'))
  return v.ok ? v.finalHash : v.prefix.finalHash
}
