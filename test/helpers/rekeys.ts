import { makeKeyset, tempDir, type TestKeyset } from './keysets'
import { secret, type Secret } from './secret-forms'

/**
 * A fresh folder and the keyset the rekey tests rekey: 2 of 3 shares, held by
 * Alice, Bob and Carol. The folder goes with `cleanup`, also when the keyset
 * cannot be made.
 */
export async function keysetToRekey(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void>; ks: TestKeyset }> {
  const { dir, cleanup } = await tempDir(prefix)
  try {
    return { dir, cleanup, ks: await makeKeyset(dir, { shares: 3, threshold: 2, holders: ['Alice', 'Bob', 'Carol'] }) }
  } catch (err) {
    await cleanup()
    throw err
  }
}

/** Every share a rekey saw, for the leak scans: the keyset's shares before it, and the new ones. */
export function rekeySecrets(old: readonly string[], fresh: readonly string[]): Secret[] {
  return [...old.map((k, i) => secret(`old share ${i + 1}`, k)), ...fresh.map((k, i) => secret(`new share ${i + 1}`, k))]
}
