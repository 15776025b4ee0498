import type { Component } from 'svelte'

export type LaterScreen = () => Promise<{ default: Component }>

/**
 * A screen off the first one's path, in a module of its own: the first screen
 * downloads less, and the screens after it are fetched while the operator reads
 * it (see `prefetch`). A failed load is forgotten, so the next use tries again.
 */
export function later(load: LaterScreen): LaterScreen {
  let loading: Promise<{ default: Component }> | undefined
  return () =>
    (loading ??= load().catch((err: unknown) => {
      loading = undefined
      throw err
    }))
}

/** Starts loading every screen now; a failure shows when its screen is opened. */
export function prefetch(screens: LaterScreen[]): void {
  for (const screen of screens) void screen().catch(() => undefined)
}
