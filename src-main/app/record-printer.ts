import { BrowserWindow, dialog, session } from 'electron'
import type { RecordPrinter } from '../session/records'
import { writeFileAtomic } from '../support/files'

/** The print window's own session: it loads the one page it is given and nothing else. */
const PARTITION = 'tessera-print'

/**
 * Prints a ceremony record to PDF: the printed record's HTML is laid out in a hidden
 * window with JavaScript off, printed at the page size asked for, and saved
 * where the operator says. The printed record holds no secret, only the record.
 */
export function pdfPrinter(parent: () => BrowserWindow | undefined): RecordPrinter {
  let guarded = false
  return {
    async printToPdf(html, pageSize) {
      const ses = session.fromPartition(PARTITION)
      if (!guarded) {
        ses.webRequest.onBeforeRequest((details, callback) => callback({ cancel: !details.url.startsWith('data:') }))
        guarded = true
      }
      const win = new BrowserWindow({
        show: false,
        webPreferences: {
          javascript: false,
          contextIsolation: true,
          sandbox: true,
          nodeIntegration: false,
          webSecurity: true,
          disableBlinkFeatures: 'Auxclick',
          devTools: false,
          session: ses,
        },
      })
      let pdf: Buffer
      try {
        await win.loadURL(`data:text/html;charset=utf-8,${encodeURIComponent(html)}`)
        pdf = await win.webContents.printToPDF({ pageSize, printBackground: true, preferCSSPageSize: true })
      } finally {
        win.destroy()
      }
      const owner = parent()
      const options = { defaultPath: 'ceremony-record.pdf', filters: [{ name: 'PDF', extensions: ['pdf'] }] }
      const choice = owner ? await dialog.showSaveDialog(owner, options) : await dialog.showSaveDialog(options)
      if (choice.canceled || !choice.filePath) return null
      // The dialog has asked before replacing a file: the PDF replaces it (or a link there) with a new 0600 file.
      await writeFileAtomic(choice.filePath, pdf, { overwrite: true })
      return choice.filePath
    },
  }
}
