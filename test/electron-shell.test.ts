import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { lstat, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { CHANNELS } from '../src-main/ipc/channels'
import { RENDERER_CSP } from '../src-main/csp'
import { appProtocolHandler } from '../src-main/app/app-protocol'

// The Electron shell's security wiring, checked against a RECORDING STAND-IN for
// the `electron` module: every call the shell makes is recorded and every handler
// it installs is called here as Electron would call it. It proves what the shell
// asks of Electron, not what Electron does; the real-Electron journeys in e2e/
// run wherever an Electron binary exists.

type Handler = (...args: any[]) => any

interface Recording {
  isPackaged: boolean
  lockGranted: boolean
  quit: number
  appEvents: Map<string, Handler[]>
  windows: Array<{ options: any; windowOpen?: Handler; events: Map<string, Handler[]>; windowEvents: Map<string, Handler[]>; loaded?: string }>
  dialogs: any[]
  dialogAnswer: number
  /** Where the save dialog says the operator chose to save. */
  savePath?: string
  /** What the system print dialog answers (Electron's webContents.print callback), and how often it was opened. */
  printAnswer: boolean
  prints: number
  ipc: Map<string, Handler>
  sessions: Map<string, { permissionRequest?: Handler; permissionCheck?: Handler; beforeRequest?: Handler; protocols: Map<string, Handler> }>
  schemes: unknown[]
  menu: unknown
}

let rec: Recording

function standIn() {
  const on = (map: Map<string, Handler[]>) => (event: string, fn: Handler) => {
    map.set(event, [...(map.get(event) ?? []), fn])
  }
  const instances: BrowserWindow[] = []
  class BrowserWindow {
    webContents: any
    constructor(options: any) {
      const win: Recording['windows'][number] = { options, events: new Map(), windowEvents: new Map() }
      rec.windows.push(win)
      instances.push(this)
      this.webContents = {
        setWindowOpenHandler: (fn: Handler) => (win.windowOpen = fn),
        on: on(win.events),
        printToPDF: async () => Buffer.from(`%PDF-1.7 of ${win.loaded}`),
        print: (_options: unknown, done: (success: boolean) => void) => {
          rec.prints++
          done(rec.printAnswer)
        },
      }
      this.loadURL = async (url: string) => void (win.loaded = url)
      this.on = on(win.windowEvents)
    }
    on: (event: string, fn: Handler) => void
    loadURL: (url: string) => Promise<void>
    destroy() {}
    once() {}
    show() {}
    isVisible() {
      return true
    }
    static getAllWindows() {
      return [...instances]
    }
  }
  return {
    app: {
      get isPackaged() {
        return rec.isPackaged
      },
      requestSingleInstanceLock: () => rec.lockGranted,
      quit: () => void rec.quit++,
      on: (event: string, fn: Handler) => on(rec.appEvents)(event, fn),
      whenReady: () => Promise.resolve(),
      getPath: () => tmpdir(),
    },
    BrowserWindow,
    clipboard: { writeText() {}, readText: () => '', clear() {} },
    dialog: {
      showMessageBoxSync: (_win: unknown, options: unknown) => {
        rec.dialogs.push(options)
        return rec.dialogAnswer
      },
      showSaveDialog: async (options: unknown) => {
        rec.dialogs.push(options)
        return rec.savePath ? { canceled: false, filePath: rec.savePath } : { canceled: true }
      },
    },
    ipcMain: { handle: (channel: string, fn: Handler) => rec.ipc.set(channel, fn) },
    protocol: { registerSchemesAsPrivileged: (schemes: unknown[]) => rec.schemes.push(...schemes) },
    Menu: { setApplicationMenu: (m: unknown) => (rec.menu = m), buildFromTemplate: (t: unknown) => t },
    session: {
      fromPartition(name: string) {
        const s: Recording['sessions'] extends Map<string, infer S> ? S : never = { protocols: new Map() }
        rec.sessions.set(name, s)
        return {
          setPermissionRequestHandler: (fn: Handler) => (s.permissionRequest = fn),
          setPermissionCheckHandler: (fn: Handler) => (s.permissionCheck = fn),
          protocol: { handle: (scheme: string, fn: Handler) => s.protocols.set(scheme, fn) },
          webRequest: {
            onBeforeRequest: (fn: Handler) => (s.beforeRequest = fn),
          },
        }
      },
    },
  }
}

vi.mock('electron', () => standIn())

let configDir: string

async function startShell(opts: { isPackaged?: boolean; lockGranted?: boolean } = {}): Promise<Recording> {
  rec = {
    isPackaged: opts.isPackaged ?? false,
    lockGranted: opts.lockGranted ?? true,
    quit: 0,
    appEvents: new Map(),
    windows: [],
    ipc: new Map(),
    sessions: new Map(),
    schemes: [],
    menu: undefined,
    dialogs: [],
    dialogAnswer: 0,
    printAnswer: true,
    prints: 0,
  }
  vi.resetModules()
  await import('../src-main/app/main')
  if (rec.lockGranted) await vi.waitFor(() => expect(rec.windows.length).toBe(1), { timeout: 10_000 })
  return rec
}

beforeEach(async () => {
  configDir = await mkdtemp(join(tmpdir(), 'tessera-shell-'))
  vi.stubEnv('TESSERA_CONFIG_DIR', configDir)
})

afterEach(async () => {
  vi.unstubAllEnvs()
  await rm(configDir, { recursive: true, force: true })
})

describe('the Electron shell (against a recording stand-in for electron)', () => {
  it('opens one window with the renderer isolated, sandboxed and in its own partition', async () => {
    const r = await startShell()
    const { webPreferences } = r.windows[0]!.options
    expect(webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      partition: 'tessera',
      devTools: true,
    })
    expect(webPreferences.preload).toMatch(/preload[/\\]index\.cjs$/)
    expect(r.windows[0]!.loaded).toBe('tessera://app/index.html')
  })

  it('closes devtools in packaged builds', async () => {
    const r = await startShell({ isPackaged: true })
    expect(r.windows[0]!.options.webPreferences.devTools).toBe(false)
  })

  it('denies new windows and navigation, in the window and in any web contents created later', async () => {
    const r = await startShell()
    const win = r.windows[0]!
    expect(win.windowOpen?.({ url: 'https://example.com' })).toEqual({ action: 'deny' })
    for (const event of ['will-navigate', 'will-attach-webview']) {
      const prevent = vi.fn()
      for (const fn of win.events.get(event) ?? []) fn({ preventDefault: prevent }, 'https://example.com')
      expect(prevent, event).toHaveBeenCalled()
    }
    const created = r.appEvents.get('web-contents-created') ?? []
    expect(created.length).toBeGreaterThan(0)
    const contents = { handler: undefined as Handler | undefined, events: new Map<string, Handler>() }
    for (const fn of created) {
      fn({}, { setWindowOpenHandler: (h: Handler) => (contents.handler = h), on: (e: string, h: Handler) => contents.events.set(e, h) })
    }
    expect(contents.handler?.({ url: 'https://example.com' })).toEqual({ action: 'deny' })
    const prevent = vi.fn()
    contents.events.get('will-navigate')?.({ preventDefault: prevent })
    expect(prevent).toHaveBeenCalled()
  })

  it('refuses every permission, and loads nothing remote and nothing from file:', async () => {
    const r = await startShell()
    const s = r.sessions.get('tessera')!
    for (const permission of ['clipboard-read', 'media', 'notifications', 'geolocation']) {
      const callback = vi.fn()
      s.permissionRequest?.({}, permission, callback)
      expect(callback).toHaveBeenCalledWith(false)
      expect(s.permissionCheck?.({}, permission)).toBe(false)
    }
    const decide = (url: string) => {
      const callback = vi.fn()
      s.beforeRequest?.({ url }, callback)
      return callback.mock.calls[0]![0].cancel as boolean
    }
    expect(decide('https://example.com/x.js')).toBe(true)
    expect(decide('http://127.0.0.1:8200/v1/sys/health')).toBe(true)
    expect(decide('ws://127.0.0.1/')).toBe(true)
    // No file: request at all, not even the app's own files: they come through its protocol.
    expect(decide(pathToFileURL('/app/out/renderer/index.html').href)).toBe(true)
    expect(decide('file:///etc/passwd')).toBe(true)
    expect(decide('tessera://elsewhere/index.html')).toBe(true)
    expect(decide('tessera://app/index.html')).toBe(false)
    expect(decide('tessera://app/assets/index-abc.js')).toBe(false)
    expect(decide('blob:tessera://app/1b2c3d')).toBe(false)
    expect(decide('blob:file:///abc')).toBe(true)
  })

  it('serves the app over its own standard, secure protocol in the window partition', async () => {
    const r = await startShell()
    expect(r.schemes).toEqual([{ scheme: 'tessera', privileges: expect.objectContaining({ standard: true, secure: true }) }])
    expect([...r.sessions.get('tessera')!.protocols.keys()]).toEqual(['tessera'])
  })

  it('serves every channel of the contract, and only to its own page', async () => {
    const r = await startShell()
    expect([...r.ipc.keys()].sort()).toEqual([...CHANNELS].sort())
    const handle = r.ipc.get('app.info')!
    const foreign = await handle({ senderFrame: { url: 'https://evil.example/' } }, undefined)
    expect(foreign).toMatchObject({ ok: false, error: { code: 'forbidden' } })
    const file = pathToFileURL(join(import.meta.dirname, '..', 'src-main', 'renderer', 'index.html')).href
    expect(await handle({ senderFrame: { url: file } }, undefined)).toMatchObject({ ok: false, error: { code: 'forbidden' } })
    expect(await handle({ senderFrame: { url: 'tessera://app/other.html' } }, undefined)).toMatchObject({ ok: false, error: { code: 'forbidden' } })
    const ours = await handle({ senderFrame: { url: 'tessera://app/index.html' } }, undefined)
    expect(ours).toMatchObject({ ok: true, value: { name: 'tessera' } })
  })

  it('prints a shown share card from the window through the system dialog, and records it printed only when the printer took it', async () => {
    const r = await startShell()
    const own = 'tessera://app/index.html'
    const call = async (channel: string, input?: unknown) => {
      const res = await r.ipc.get(channel)!({ senderFrame: { url: own } }, input)
      if (!res.ok) throw new Error(res.error.message)
      return res.value
    }
    await call('backend.initKeyset', { path: join(configDir, 'printed.json'), shares: 2, threshold: 2 })
    await call('handout.shareCard', { index: 0 })
    r.printAnswer = false
    expect(await call('handout.printCard', { index: 0 })).toEqual({ printed: false })
    r.printAnswer = true
    expect(await call('handout.printCard', { index: 0 })).toEqual({ printed: true })
    expect(r.prints).toBe(2)
    const { path } = (await call('session.state')).record
    const how = (await readFile(path, 'utf8')).trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'share_handed_out').map((l) => l.data.how)
    expect(how).toEqual(['card_shown', 'card_printed'])
  })

  it('a second instance quits at once and opens nothing', async () => {
    const r = await startShell({ lockGranted: false })
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(r.quit).toBe(1)
    expect(r.windows).toEqual([])
    expect(r.ipc.size).toBe(0)
  })

  it('quitting wipes nothing before the window has asked: "Keep Tessera open" keeps the result', async () => {
    const r = await startShell()
    const { Session } = await import('../src-main/session/session')
    const wipe = vi.spyOn(Session.prototype, 'wipe')
    const held = vi.spyOn(Session.prototype, 'heldSecret', 'get').mockReturnValue('result')
    // Electron's order on Quit (Ctrl+Q): before-quit, then each window's close, then will-quit.
    for (const fn of r.appEvents.get('before-quit') ?? []) fn({ preventDefault() {} })
    const prevent = vi.fn()
    for (const fn of r.windows[0]!.windowEvents.get('close') ?? []) fn({ preventDefault: prevent })
    expect(r.dialogs).toHaveLength(1)
    expect(prevent).toHaveBeenCalled()
    expect(wipe).not.toHaveBeenCalled()
    held.mockRestore()
  })

  it('holds the quit until the session has closed its backend, then quits', async () => {
    const r = await startShell()
    const { Session } = await import('../src-main/session/session')
    let finish: (() => void) | undefined
    const close = vi.spyOn(Session.prototype, 'close').mockImplementation(() => new Promise((done) => (finish = () => done({ cancelled: null, dropped: [] }))))
    const quits = r.quit
    const prevent = vi.fn()
    for (const fn of r.appEvents.get('will-quit') ?? []) fn({ preventDefault: prevent })
    expect(close).toHaveBeenCalledTimes(1)
    expect(prevent).toHaveBeenCalled()
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(r.quit).toBe(quits)
    finish!()
    await vi.waitFor(() => expect(r.quit).toBe(quits + 1))
    // The quit that follows is let through.
    const again = vi.fn()
    for (const fn of r.appEvents.get('will-quit') ?? []) fn({ preventDefault: again })
    expect(again).not.toHaveBeenCalled()
    expect(close).toHaveBeenCalledTimes(1)
  })

  it('closing while a result or unhanded shares are held asks first, and keeps the window open unless told to wipe', async () => {
    const r = await startShell()
    const { Session } = await import('../src-main/session/session')
    const close = () => {
      const prevent = vi.fn()
      for (const fn of r.windows[0]!.windowEvents.get('close') ?? []) fn({ preventDefault: prevent })
      return prevent.mock.calls.length > 0
    }
    expect(close()).toBe(false)
    expect(r.dialogs).toEqual([])

    const held = vi.spyOn(Session.prototype, 'heldSecret', 'get').mockReturnValue('result')
    r.dialogAnswer = 0
    expect(close()).toBe(true)
    expect(r.dialogs[0]).toMatchObject({ type: 'warning', defaultId: 0, cancelId: 0, buttons: ['Keep Tessera open', 'Close and wipe'] })
    expect(r.dialogs[0].detail).toMatch(/result is held/)

    held.mockReturnValue('hand-out')
    expect(close()).toBe(true)
    expect(r.dialogs[1].detail).toMatch(/not been handed out/)

    r.dialogAnswer = 1
    expect(close()).toBe(false)
    // Once the operator chose to close, the quit that follows is not asked again.
    expect(close()).toBe(false)
    expect(r.dialogs).toHaveLength(3)
    held.mockRestore()
  })

  it('saves the record\'s PDF as a new file of mode 0600, replacing a link rather than writing through it', async () => {
    const r = await startShell()
    const { pdfPrinter } = await import('../src-main/app/record-printer')
    const printer = pdfPrinter(() => undefined)

    r.savePath = join(configDir, 'record.pdf')
    const umask = process.umask(0o022)
    try {
      expect(await printer.printToPdf('<p>record</p>', 'A4')).toBe(r.savePath)
    } finally {
      process.umask(umask)
    }
    expect((await lstat(r.savePath)).mode & 0o777).toBe(0o600)
    expect((await readFile(r.savePath, 'utf8')).startsWith('%PDF-1.7 of data:text/html')).toBe(true)

    // A link where the operator saves: the file it points to is left alone.
    const victim = join(configDir, 'victim.txt')
    await writeFile(victim, 'not yours', { mode: 0o644 })
    r.savePath = join(configDir, 'linked.pdf')
    await symlink(victim, r.savePath)
    expect(await printer.printToPdf('<p>record</p>', 'Letter')).toBe(r.savePath)
    expect(await readFile(victim, 'utf8')).toBe('not yours')
    const saved = await lstat(r.savePath)
    expect(saved.isFile()).toBe(true)
    expect(saved.mode & 0o777).toBe(0o600)
    // No temporary file is left beside it.
    expect((await readdir(configDir)).filter((f) => f.endsWith('.tmp'))).toEqual([])

    // A cancelled dialog writes nothing.
    r.savePath = undefined
    expect(await printer.printToPdf('<p>record</p>', 'A4')).toBeNull()
  })
})

describe('the app protocol (tessera://app/)', () => {
  const handler = appProtocolHandler(join(import.meta.dirname, '..', 'out', 'renderer'))
  const get = (url: string, method = 'GET') => handler(new Request(url, { method }))

  it('serves the built renderer with the CSP on every file', async () => {
    const index = await get('tessera://app/index.html')
    expect(index.status).toBe(200)
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(index.headers.get('content-security-policy')).toBe(RENDERER_CSP)
    const html = await index.text()
    expect(html).toContain('<div id="app">')
    const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(html)![1]!
    const js = await get(`tessera://app/${script}`)
    expect(js.status).toBe(200)
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(js.headers.get('content-security-policy')).toBe(RENDERER_CSP)
    expect((await get('tessera://app/')).status).toBe(200)
  })

  it('serves the page\'s module with Chromium\'s compile hint on its first line', async () => {
    // The hint has Chromium compile the whole module while it streams in, off the
    // page's main thread (docs/benchmarks.md, "Kept for speed").
    const html = await (await get('tessera://app/index.html')).text()
    const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(html)![1]!
    expect((await (await get(`tessera://app/${script}`)).text()).split('\n', 1)[0]).toBe('//# allFunctionsCalledOnLoad')
  })

  it('serves nothing outside the renderer, on no other host, and only to GET', async () => {
    for (const url of [
      'tessera://app/%2e%2e/%2e%2e/package.json',
      'tessera://app/..%2f..%2fpackage.json',
      'tessera://app/%2fetc%2fpasswd',
      'tessera://app/%E0%A4%A',
      'tessera://app/no-such-file.js',
      'tessera://other/index.html',
    ]) {
      expect((await get(url)).status, url).toBe(404)
    }
    expect((await get('tessera://app/index.html', 'POST')).status).toBe(404)
  })
})
