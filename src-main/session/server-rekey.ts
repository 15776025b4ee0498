import type { PublicKeyInfo } from '../crypto/pgp'
import { wipe } from '../crypto/wipe'
import { checkRekeyRequest } from '../engine/rekey-request'
import { codecFor } from '../engine/share-codec'
import { dropPending, promotePending, retireServerChecks, withPending, writeServerChecks, type ServerChecks } from '../profiles/server-checks'
import type { IssuedShares, RecognizedShare, RekeyConfig, Rekeyer, RekeyState, VerifyState } from '../rekey-interface'
import { rekeyRequest, type RemoteRekeyer } from '../remote/remote-rekey'
import { TesseraError } from '../support/errors'
import { forOperator } from '../support/plain-errors'
import type { ServerShareChecks } from './server-share-checks'
import { encryptShares } from './share-encryption'

/** A rekey started here on a server with a check file: what it does with that file. */
type Plan =
  /** Tessera asked for the new shares in the clear, to write their check values as the pending generation, then encrypted each itself. */
  | { kind: 'follow'; nonce: string; recipients: PublicKeyInfo[]; holders: readonly string[] | undefined; entered: number | null; wrote: boolean }
  /** The server encrypts (a backup asked): no check value of the new shares can be made, so the file is moved aside once they take effect. */
  | { kind: 'retire'; nonce: string }

/**
 * The rekey of a server Tessera initialized: Vault's rekey (RemoteRekeyer),
 * with the server check file kept true. Each current share is checked against
 * the file before it is sent; the new shares' check values are on disk, as the
 * pending generation, before any new share is shown; each new share entered
 * back is checked against them before it is sent; the verification that
 * completes makes them current, a cancel drops them. Without a usable check
 * file it is the server's own behaviour, as RemoteRekeyer's.
 */
export class ServerRekeyer implements Rekeyer {
  private plan: Plan | null = null

  constructor(
    private readonly remote: RemoteRekeyer,
    private readonly book: ServerShareChecks,
    private readonly path: () => string,
  ) {}

  get api(): 'legacy' | 'rotate' {
    return this.remote.api
  }

  get verifyAll(): boolean {
    return this.remote.verifyAll
  }

  /** The status, with the PGP fingerprints of the holders' keys where Tessera encrypts (the server was given none). */
  async status(): Promise<RekeyState> {
    const state = await this.remote.status()
    const p = this.plan
    return p?.kind === 'follow' && state.started && state.nonce === p.nonce && p.recipients.length ? { ...state, pgp_fingerprints: p.recipients.map((r) => r.fingerprint) } : state
  }

  async start(config: RekeyConfig): Promise<RekeyState> {
    this.plan = null
    const checks = this.book.file
    if (!checks) return this.remote.start(config)
    if (config.backup) {
      const state = await this.remote.start(config)
      this.plan = { kind: 'retire', nonce: state.nonce }
      return state
    }
    // The holders' keys are checked as the server would check them, then kept here: the server is sent none.
    const { pgpKeys: _kept, ...plain } = config
    const { recipients } = await checkRekeyRequest(rekeyRequest(config))
    const state = await this.remote.start(plain)
    this.plan = { kind: 'follow', nonce: state.nonce, recipients, holders: config.holders, entered: null, wrote: false }
    return this.status()
  }

  /**
   * Cancels the rekey, and drops its pending generation only where this
   * cancel is what ended it: a rekey already gone (its verification completed
   * elsewhere, or it was cancelled there) leaves the pending generation to be
   * settled by what the server proves.
   */
  async cancel(): Promise<void> {
    const p = this.plan
    this.plan = null
    const wrote = p?.kind === 'follow' && p.wrote
    const running = wrote && (await this.remote.status().then((s) => s.started && s.nonce === p.nonce, () => false))
    try {
      await this.remote.cancel()
    } finally {
      if (running) await this.write(dropPending)
    }
  }

  /** One current share, checked against the check file before it is sent; the completing one's new shares follow the file. */
  async update(key: Buffer, nonce: string, holder?: string): Promise<{ state: RekeyState; share?: RecognizedShare; issued?: IssuedShares }> {
    const known = await this.book.identify(key, holder, 'any')
    const answer = await this.remote.update(key, nonce)
    const p = this.plan
    if (p?.kind === 'follow' && known) p.entered = known.generation
    const share = known ? { share: { number: known.number, holder: known.holder, checked: true } } : {}
    if (!answer.issued || p?.kind !== 'follow') return { ...answer, ...share }
    return { state: answer.state, ...share, issued: await this.follow(p, answer.issued, answer.state) }
  }

  /**
   * The server's new shares in the clear: each checked as a Vault share, their
   * check values written as the pending generation, then each encrypted to its
   * holder's key. Anything wrong cancels the rekey (verification keeps the
   * current shares in effect) and nothing is handed out.
   */
  private async follow(p: Extract<Plan, { kind: 'follow' }>, issued: IssuedShares, state: RekeyState): Promise<IssuedShares> {
    const parsed: Buffer[] = []
    try {
      const codec = codecFor('vault', state.t)
      try {
        for (const text of issued.keys) parsed.push(codec.parse(text))
      } catch {
        throw new TesseraError('bad_reply', `The server's new shares are not Vault shares: Tessera cancelled the rekey, and the current shares stay in effect.`)
      }
      const shares = parsed.map((share, i) => ({ share, holder: p.holders?.[i] ?? null, ...(p.recipients[i] ? { pgpKeys: p.recipients[i].keyFingerprints } : {}) }))
      const entered = p.entered ?? this.book.file!.generation
      const next = await withPending(this.book.file!, entered, state.t, shares)
      await this.write(() => next)
      p.wrote = true
      const keys = p.recipients.length ? await encryptShares(issued.keys, p.recipients) : issued.keys.map((k) => Buffer.from(k))
      return { ...issued, keys, encrypted: p.recipients.length > 0, pgp_fingerprints: p.recipients.length ? p.recipients.map((r) => r.fingerprint) : null }
    } catch (err) {
      await this.cancel().catch(() => undefined)
      throw err
    } finally {
      wipe(...parsed, ...issued.keys)
    }
  }

  async verifyStatus(): Promise<VerifyState> {
    return this.remote.verifyStatus()
  }

  /** One new share entered back: where Tessera wrote their check values, checked against them before it is sent. */
  async verify(key: Buffer, nonce: string, holder?: string): Promise<{ state: VerifyState; share?: RecognizedShare; complete: boolean }> {
    const p = this.plan
    const known = p?.kind === 'follow' ? await this.book.identify(key, holder, 'pending') : null
    const answer = await this.remote.verify(key, nonce)
    if (answer.complete) await this.completed(p)
    return known ? { ...answer, share: { number: known.number, holder: known.holder, checked: true } } : answer
  }

  /** The new shares took effect: the pending generation becomes current, or the file is moved aside (a backup asked). */
  private async completed(p: Plan | null): Promise<void> {
    this.plan = null
    const checks = this.book.file
    if (!p || !checks) return
    if (p.kind === 'follow') {
      // The server completed whatever the disk says: a file not updated keeps its pending generation, recognized as not seen to finish.
      await this.write(promotePending).catch(() => undefined)
      return
    }
    const why = "the rekey's new shares were encrypted by the server (a backup was asked), so Tessera holds no check values of them. Shares are checked by the server alone, as Vault does."
    try {
      const aside = await retireServerChecks(this.path(), checks.generation)
      this.book.retire(`The server check file of generation ${checks.generation} was moved aside to ${aside}: ${why}`)
    } catch (err) {
      this.book.retire(`${forOperator(err).message} It no longer describes the server's shares: ${why}`)
    }
  }

  async restartVerification(): Promise<VerifyState> {
    return this.remote.restartVerification()
  }

  readBackup(): ReturnType<Rekeyer['readBackup']> {
    return this.remote.readBackup()
  }

  deleteBackup(): Promise<void> {
    return this.remote.deleteBackup()
  }

  release(): Promise<void> {
    return this.remote.release()
  }

  /** Writes the check file as `change` makes it from the one in use, then uses it. */
  private async write(change: (checks: ServerChecks) => ServerChecks): Promise<void> {
    const now = this.book.file
    if (!now) return
    const next = change(now)
    await writeServerChecks(this.path(), next)
    this.book.use(next)
  }
}
