import { tick } from 'svelte'

/**
 * Moves keyboard focus to `node` once it is on screen: after a step change or a
 * submit, focus lands on what the operator does next, never on the page body
 * (from where the next Tab could reach a destructive button).
 */
export function focusOnMount(node: HTMLElement, when: boolean = true): void {
  if (when) void tick().then(() => node.focus())
}

/** Focuses the element with `id` after the screen has updated. */
export async function focusById(id: string): Promise<void> {
  await tick()
  document.getElementById(id)?.focus()
}
