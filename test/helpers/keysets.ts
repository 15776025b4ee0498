import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { initKeyset } from '../../src-main/engine/init'
import { Keyset } from '../../src-main/engine/keyset'
import type { Scheme } from '../../src-main/engine/share-codec'

/** `text` with the character at `at` changed, as a holder mistypes: same length, same alphabet. */
export function mistypeAt(text: string, at: number): string {
  return text.slice(0, at) + (text[at] === 'a' ? 'b' : 'a') + text.slice(at + 1)
}

/** Every engine case runs over both share schemes, as Vault's tests run over two seal setups. */
export const SCHEMES: Scheme[] = ['vault', 'secretsjs']

export interface TestKeyset {
  path: string
  dir: string
  scheme: Scheme
  /** sys/init's `keys`: hex for Vault shares, the share string for secrets.js. */
  keys: string[]
  keys_base64: string[]
  rootToken: string
  /** Each share's number (its x byte). */
  numbers: number[]
}

export async function tempDir(prefix = 'tessera-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) }
}

export async function makeKeyset(
  dir: string,
  opts: { scheme?: Scheme; shares?: number; threshold?: number; name?: string; holders?: string[] } = {},
): Promise<TestKeyset> {
  const scheme = opts.scheme ?? 'vault'
  const path = join(dir, opts.name ?? `keyset-${scheme}-${Math.random().toString(36).slice(2)}.json`)
  const { handedOut } = await initKeyset(
    { path, shares: opts.shares ?? 5, threshold: opts.threshold ?? 3, scheme, holders: opts.holders },
    async (shares, rootToken) => ({ shares: shares.map((s) => ({ number: s.number, ...s.forms() })), rootToken: rootToken.toString('ascii') }),
  )
  return {
    path,
    dir,
    scheme,
    keys: handedOut.shares.map((f) => f.key),
    keys_base64: handedOut.shares.map((f) => f.key_base64),
    rootToken: handedOut.rootToken,
    numbers: handedOut.shares.map((f) => f.number),
  }
}

/**
 * Rewrites a keyset as format 1 wrote it (no share records, no integrity
 * check): the keyring is unchanged, so the same shares open it.
 */
export async function downgradeToV1(path: string): Promise<void> {
  const { share_check: _check, issued_shares, integrity: _integrity, ...rest } = JSON.parse(await readFile(path, 'utf8'))
  const v1 = { ...rest, tessera_keyset: 1, issued_share_ids: rest.secret_threshold === 1 ? [] : issued_shares.map((s: { x: number }) => s.x) }
  await writeFile(path, `${JSON.stringify(v1, null, 2)}\n`, { mode: 0o600 })
}

/** Whether `keys` (hex or base64) combine into the root key of the keyset now at `path`; opening it clears a killed writer's litter. */
export async function keysOpen(path: string, keys: string[]): Promise<boolean> {
  const keyset = await Keyset.open(path)
  const shares = keys.map((k) => keyset.parseShare(Buffer.from(k)))
  try {
    return keyset.verify(await keyset.codec.combine(shares))
  } catch {
    return false
  }
}
