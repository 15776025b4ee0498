/** Overwrites secret bytes in place; JS strings cannot be wiped, so secrets live in Buffers. */
export function wipe(...buffers: Array<Uint8Array | null | undefined>): void {
  for (const b of buffers) b?.fill(0)
}

/** Runs `fn` and wipes `secret` afterwards, whatever happens. */
export async function usingSecret<T>(secret: Uint8Array, fn: (s: Uint8Array) => Promise<T> | T): Promise<T> {
  try {
    return await fn(secret)
  } finally {
    secret.fill(0)
  }
}
