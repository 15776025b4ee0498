/** Overwrites secret bytes in place; JS strings cannot be wiped, so secrets live in Buffers. */
export function wipe(...buffers: Array<Uint8Array | null | undefined>): void {
  for (const b of buffers) b?.fill(0)
}
