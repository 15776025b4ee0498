import { RENDERER_CSP } from '../csp'
import { rendererFile, StaticFiles } from '../web/static-files'

// The window loads the app from a protocol of its own, never file:, so that no
// other file of the machine is one request away (Electron's security checklist, item 18).
export const APP_SCHEME = 'tessera'
export const APP_URL = `${APP_SCHEME}://app/index.html`

/** The app's own page, whatever its fragment: the only caller IPC answers. */
export function isAppPage(url: string | undefined): boolean {
  return url !== undefined && url.split('#')[0] === APP_URL
}

/** Answers tessera://app/… with the built renderer's files, and nothing else, the CSP on every reply. */
export function appProtocolHandler(rendererDir: string): (request: Request) => Promise<Response> {
  const files = new StaticFiles()
  return async (request) => {
    const url = new URL(request.url)
    const file = url.protocol === `${APP_SCHEME}:` && url.host === 'app' ? rendererFile(rendererDir, url.pathname) : null
    const found = file && request.method === 'GET' ? await files.get(file) : null
    if (!found) return new Response('not found', { status: 404 })
    return new Response(new Uint8Array(found.body), {
      headers: { 'Content-Type': found.type, 'Content-Security-Policy': RENDERER_CSP, 'X-Content-Type-Options': 'nosniff' },
    })
  }
}
