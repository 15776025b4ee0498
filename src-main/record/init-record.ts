import { sharedKey } from '../engine/holder-keys'
import type { BackendFacts, CeremonyEvent, HandOutHow } from './events'
import { keyringFingerprint } from './attempt-record'
import type { AbandonReason, HandOutRecord } from './hand-out-record'
import { RecordWriter } from './writer'

export type { AbandonReason } from './hand-out-record'

/** What an init ceremony's record says of the keyset it created. */
export interface InitFacts {
  /** SHA-256 of the new keyset's encrypted keyring, as `backend_opened` names a keyset. */
  keysetFingerprint: string
  scheme: 'vault' | 'secretsjs'
  shares: number
  threshold: number
  /** Per share, in share order: its number, its holder's name, and the PGP key it was encrypted to. */
  handed: ReadonlyArray<{ number: number; holder: string | null; recipient?: string }>
  /** One PGP key was given for several holders, as the operator confirmed. */
  sharedKey: boolean
}

/** The facts of a keyset just prepared, in the shapes `engine/init` hands them over. */
export function initFacts(
  keyset: { keyringCiphertext: string; scheme: InitFacts['scheme']; shares: number; threshold: number },
  handed: ReadonlyArray<{ number: number; holder: string | null; encrypted: boolean }>,
  recipients: ReadonlyArray<{ fingerprint: string; keyFingerprints: readonly string[] }>,
): InitFacts {
  return {
    keysetFingerprint: keyringFingerprint(keyset.keyringCiphertext),
    scheme: keyset.scheme,
    shares: keyset.shares,
    threshold: keyset.threshold,
    handed: handed.map((s, i) => ({ number: s.number, holder: s.holder, ...(s.encrypted ? { recipient: recipients[i]!.fingerprint.toLowerCase() } : {}) })),
    sharedKey: anyKeyShared(recipients),
  }
}

/** What the record of a server's init says: the server, and the shares asked for, in the order sys/init returns them. */
export interface ServerInitFacts {
  /** The server's origin, as `backend_opened` names a server. */
  server: string
  serverVersion: string
  shares: number
  threshold: number
  /** Per share, in share order: its number, its holder's name, and the PGP key Tessera encrypts it to. */
  handed: InitFacts['handed']
  sharedKey: boolean
}

/** Each share's number and holder, and the fingerprint of the key it goes to, in share order. */
export function handedFacts(
  holders: readonly string[] | undefined,
  recipients: ReadonlyArray<{ fingerprint: string }>,
  shares: number,
): InitFacts['handed'] {
  return Array.from({ length: shares }, (_, i) => ({
    number: i + 1,
    holder: holders?.[i] ?? null,
    ...(recipients[i] ? { recipient: recipients[i].fingerprint.toLowerCase() } : {}),
  }))
}

/** Whether two of `recipients` share a key, primary or subkey. */
export function anyKeyShared(recipients: ReadonlyArray<{ fingerprint: string; keyFingerprints: readonly string[] }>): boolean {
  return sharedKey([], recipients.map((r) => ({ label: r.fingerprint, fingerprints: r.keyFingerprints }))) !== undefined
}

/** The parts of `keyset_created` and `server_initialized` that say who holds which share. */
function holdersAndKeys(handed: InitFacts['handed'], shared: boolean) {
  const holders = handed.map((s) => s.holder)
  const encrypted = handed.flatMap((s) => (s.recipient ? [{ share_number: s.number, fingerprint: s.recipient }] : []))
  return {
    ...(holders.every((h) => h !== null) ? { holders: holders as string[] } : {}),
    ...(encrypted.length > 0 ? { encrypted_to: encrypted } : {}),
    ...(shared ? { shared_key: true as const } : {}),
  }
}

/**
 * Creates an init's record: its first line (an init is never a recovery), then
 * `opening`. When the opening fails the record is left as the valid prefix it is.
 */
async function createRecord(path: string, backend: Omit<BackendFacts, 'recovery_mode'>, ...opening: CeremonyEvent[]): Promise<RecordWriter> {
  const writer = await RecordWriter.create(path, { ...backend, recovery_mode: false })
  try {
    for (const event of opening) await writer.append(event)
  } catch (err) {
    await writer.abandon()
    throw err
  }
  return writer
}

/**
 * The record of an init ceremony: the keyset created (or the server initialized), each share as it leaves
 * the hand-out (and how), the initial root token revealed, and how the hand-out
 * ended. It names shares by number and holders by name; never a share, the
 * token or a key. A recording failure fails the step that was being recorded.
 */
export class InitRecord implements HandOutRecord {
  private readonly handedOut = new Set<number>()

  protected constructor(
    readonly writer: RecordWriter,
    private readonly facts: Pick<InitFacts, 'handed'>,
  ) {}

  static async open(path: string, facts: InitFacts): Promise<InitRecord> {
    const keyset = { keyset_fingerprint: facts.keysetFingerprint, scheme: facts.scheme, shares: facts.shares, threshold: facts.threshold }
    const created: CeremonyEvent = { type: 'keyset_created', data: { ...keyset, ...holdersAndKeys(facts.handed, facts.sharedKey) } }
    return new InitRecord(await createRecord(path, { backend: 'local', ...keyset }, created), facts)
  }

  /**
   * Opens the record of a server's init, before sys/init is called: a server
   * whose init cannot be recorded is not initialized. `serverInitialized` or
   * `refused` follows.
   */
  static async openServer(path: string, facts: ServerInitFacts): Promise<ServerInitRecord> {
    const server = { server: facts.server, server_version: facts.serverVersion, shares: facts.shares, threshold: facts.threshold }
    return new ServerInitRecord(await createRecord(path, { backend: 'remote', ...server }), facts)
  }

  async shareHandedOut(number: number, how: HandOutHow): Promise<void> {
    const holder = this.facts.handed.find((s) => s.number === number)?.holder
    await this.writer.append({ type: 'share_handed_out', data: { share_number: number, ...(holder ? { holder } : {}), how } })
    this.handedOut.add(number)
  }

  async rootTokenRevealed(how: Extract<CeremonyEvent, { type: 'root_token_revealed' }>['data']['how']): Promise<void> {
    await this.writer.append({ type: 'root_token_revealed', data: { how } })
  }

  /**
   * The hand-out is over and its secrets dropped: the record says how it ended
   * (finished when every share was handed out, else abandoned with the shares
   * that never were; `reason` says why it ended early), then the wipe, and
   * closes. Resolves with the final hash.
   */
  async ended(reason: AbandonReason = 'operator'): Promise<string> {
    await this.handOutEnded(reason)
    await this.writer.append({ type: 'wiped', data: {} })
    return this.writer.close()
  }

  /**
   * Records how the hand-out ended and leaves the record open: `tessera serve
   * --uninitialized` goes on recording the server's ceremonies in it.
   */
  async handOutEnded(reason: AbandonReason = 'operator'): Promise<void> {
    const missing = this.facts.handed.map((s) => s.number).filter((n) => !this.handedOut.has(n))
    await this.writer.append(
      missing.length === 0 && reason === 'operator'
        ? { type: 'init_finished', data: {} }
        : { type: 'init_abandoned', data: { reason, not_handed_out: missing } },
    )
  }
}

/** The record of a server's init: opened before sys/init, it says what the server made (or that it refused). */
export class ServerInitRecord extends InitRecord {
  constructor(
    writer: RecordWriter,
    private readonly server: ServerInitFacts,
  ) {
    super(writer, server)
  }

  /** The server made the shares: who holds which, how the root token came back, and whether the check file was written. */
  async serverInitialized(opts: { rootTokenEncryptedTo: string | null; checkFile: boolean }): Promise<void> {
    await this.writer.append({
      type: 'server_initialized',
      data: {
        shares: this.server.shares,
        threshold: this.server.threshold,
        ...holdersAndKeys(this.server.handed, this.server.sharedKey),
        ...(opts.rootTokenEncryptedTo ? { root_token_encrypted_to: opts.rootTokenEncryptedTo.toLowerCase() } : {}),
        check_file: opts.checkFile,
      },
    })
  }

  /** The server refused the init: no share was made; the record ends (or stays a valid prefix when even that fails). */
  async refused(): Promise<void> {
    try {
      await this.writer.append({ type: 'init_abandoned', data: { reason: 'server_refused', not_handed_out: [] } })
      await this.writer.append({ type: 'wiped', data: {} })
      await this.writer.close()
    } catch {
      await this.writer.abandon()
    }
  }
}
