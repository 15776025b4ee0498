import { app, BrowserWindow, clipboard, dialog, ipcMain, Menu, protocol, session } from 'electron'
import { join } from 'node:path'
import { CHANNELS, type IpcResult } from '../ipc/channels'
import { sessionRouter } from '../ipc/handlers'
import type { Dispatch } from '../ipc/router'
import type { Session } from '../session/session'
import { pdfPrinter } from './record-printer'
import { openConnections } from '../profiles/connections'
import { redact } from '../support/redact'
import { APP_SCHEME, APP_URL, appProtocolHandler, isAppPage } from './app-protocol'

// The Electron shell only: one hardened window and the IPC wiring. Everything it
// serves comes from the transport-free router that `tessera web` serves too.

const RENDERER_DIR = join(import.meta.dirname, '../renderer')
// A standard, secure scheme: the page has an origin of its own, and 'self' in its CSP means it.
protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }])

const CLOSE_WARNING: Record<'result' | 'hand-out', string> = {
  result: 'A finished result is held and has not been wiped. Closing Tessera wipes it: if nobody has recorded it, the ceremony must be run again.',
  'hand-out': 'Some key shares of the new keyset have not been handed out yet. Closing Tessera wipes them, and a share never seen is lost for good.',
}

/** Closing while a secret is held asks first: a click must not lose a ceremony. */
function confirmClose(win: BrowserWindow, held: () => 'result' | 'hand-out' | null): void {
  let confirmed = false
  win.on('close', (event) => {
    const what = held()
    if (!what || confirmed) return
    const choice = dialog.showMessageBoxSync(win, {
      type: 'warning',
      buttons: ['Keep Tessera open', 'Close and wipe'],
      defaultId: 0,
      cancelId: 0,
      noLink: true,
      title: 'Tessera',
      message: 'Close Tessera?',
      detail: CLOSE_WARNING[what],
    })
    if (choice === 0) event.preventDefault()
    else confirmed = true
  })
}

function createWindow(held: () => 'result' | 'hand-out' | null): BrowserWindow {
  const win = new BrowserWindow({
    width: 1180,
    height: 860,
    minWidth: 760,
    minHeight: 600,
    show: false,
    title: 'Tessera',
    webPreferences: {
      preload: join(import.meta.dirname, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
      // Middle-click would otherwise open links in a new window, bypassing the handler.
      disableBlinkFeatures: 'Auxclick',
      devTools: !app.isPackaged,
      partition: 'tessera',
    },
  })
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }))
  win.webContents.on('will-navigate', (event) => event.preventDefault())
  win.webContents.on('will-attach-webview', (event) => event.preventDefault())
  confirmClose(win, held)
  win.once('ready-to-show', () => win.show())
  void win.loadURL(APP_URL)
  return win
}

function wireIpc(dispatch: Dispatch): void {
  for (const channel of CHANNELS) {
    ipcMain.handle(channel, (event, input: unknown): Promise<IpcResult<unknown>> | IpcResult<unknown> => {
      // Only our own page may call in: never a navigated-to or injected frame.
      if (!isAppPage(event.senderFrame?.url)) {
        return { ok: false, error: { code: 'forbidden', message: 'caller is not the Tessera window' } }
      }
      return dispatch(channel, input)
    })
  }
}

if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  let ceremony: Session | undefined
  app.on('second-instance', () => {
    const win = BrowserWindow.getAllWindows()[0]
    if (win?.isMinimized()) win.restore()
    win?.focus()
  })
  app.on('web-contents-created', (_event, contents) => {
    contents.setWindowOpenHandler(() => ({ action: 'deny' }))
    contents.on('will-navigate', (event) => event.preventDefault())
  })
  void app.whenReady().then(async () => {
    const ses = session.fromPartition('tessera')
    // Every permission is refused; copying goes through main (clipboard.copy).
    ses.setPermissionRequestHandler((_wc, _permission, callback) => callback(false))
    ses.setPermissionCheckHandler(() => false)
    ses.protocol.handle(APP_SCHEME, appProtocolHandler(RENDERER_DIR))
    // Nothing remote and no file:, ever: only the app's own files load (and blob:
    // URLs the page makes itself, which is how an encrypted share is saved to a file).
    const local = /^(tessera:\/\/app\/|blob:tessera:\/\/app\/|devtools:)/
    ses.webRequest.onBeforeRequest((details, callback) => callback({ cancel: !local.test(details.url) }))
    Menu.setApplicationMenu(
      Menu.buildFromTemplate([
        { role: 'fileMenu' },
        { role: 'editMenu' },
        { label: 'View', submenu: [{ role: 'resetZoom' }, { role: 'zoomIn' }, { role: 'zoomOut' }, { role: 'togglefullscreen' }] },
        { role: 'windowMenu' },
      ]),
    )
    const configDir = process.env.TESSERA_CONFIG_DIR ?? app.getPath('userData')
    const shown = () => BrowserWindow.getAllWindows().find((w) => w.isVisible())
    const printer = pdfPrinter(shown)
    // A share card prints from the window itself (its print styles leave only the card); Electron says whether the printer took it.
    const printWindow = () =>
      new Promise<boolean>((resolve) => {
        const win = shown()
        if (win) win.webContents.print({}, (success) => resolve(success))
        else resolve(false)
      })
    const { session: opened, dispatch } = sessionRouter(
      { connections: await openConnections(configDir), clipboard, configDir, printer, printWindow },
      (channel, err) => console.error(redact(`internal error on ${channel}: ${(err as Error)?.name ?? 'unknown'}`)),
    )
    ceremony = opened
    wireIpc(dispatch)
    // `tessera-app --keyset FILE` opens a keyset at start, as `tessera web --keyset` does.
    const at = process.argv.indexOf('--keyset')
    const keyset = at > 0 ? process.argv[at + 1] : undefined
    const ready = keyset ? opened.ceremony.openKeyset(keyset).catch((err: Error) => console.error(redact(err.message))) : Promise.resolve()
    void ready.then(() => createWindow(() => opened.heldSecret))
  })
  // Quitting closes the windows first, each asking while a secret is held
  // (nothing is wiped before that answer); then every secret is dropped, what
  // nobody took recorded as dropped, and the backend closed (a running attempt
  // cancelled, what it collected wiped) before the app exits.
  let closed = false
  app.on('will-quit', (event) => {
    const open = ceremony
    if (closed || !open) return
    event.preventDefault()
    void open
      .close()
      .catch((err: Error) => console.error(redact(`closing the backend failed: ${err?.name ?? 'unknown'}`)))
      .finally(() => {
        closed = true
        app.quit()
      })
  })
  app.on('window-all-closed', () => app.quit())
}
