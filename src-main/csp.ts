/**
 * The renderer's Content-Security-Policy, the same in the Electron window and in
 * `tessera web`: only the app's own files, no eval, no inline script, no remote
 * origin anywhere. connect-src 'self' is what the web transport's /rpc needs.
 */
export const RENDERER_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')
