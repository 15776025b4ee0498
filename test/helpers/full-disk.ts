/**
 * A full disk, for real: while `disk.full` is set, the temp file of every
 * atomic write is opened on /dev/full, whose writes the kernel fails with
 * ENOSPC. A test mocks node:fs/promises with `fullDiskFs`:
 *
 *   vi.mock('node:fs/promises', async (original) => (await import('./helpers/full-disk')).fullDiskFs(original))
 */
export const disk = { full: false }

type FsPromises = typeof import('node:fs/promises')

export async function fullDiskFs(importOriginal: () => Promise<FsPromises>): Promise<FsPromises & { default: FsPromises }> {
  const real = await importOriginal()
  const open: FsPromises['open'] = (path, flags, mode) => (disk.full && String(path).endsWith('.tmp') ? real.open('/dev/full', 'w') : real.open(path, flags, mode))
  return { ...real, open, default: { ...real, open } }
}
