/** Debian's Chromium, and the flags it needs on a machine with no network (see TOOLCHAIN). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  // window.print() takes the system dialog's path, which headless completes at
  // once and then fires afterprint, as an operator's print does; print preview
  // would stay open, unseen, for ever.
  '--disable-print-preview',
]
