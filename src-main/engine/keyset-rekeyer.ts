import type { IssuedShares, RecognizedShare, RekeyConfig, Rekeyer, RekeyState, VerifyState } from '../rekey-interface'
import type { NewShares, RekeyStatus, Rekeying, VerifyStatus } from './rekey'

/**
 * The `Rekeyer` of a local keyset: the engine's rekey (Vault's legacy
 * sys/rekey), its new shares always held until the hand-out ends or they are
 * verified, so that shares nobody received never take effect. The keyset's
 * backup lives in memory only. Callers check that the keyset is unsealed.
 */
export class KeysetRekeyer implements Rekeyer {
  readonly api = 'keyset'
  readonly verifyAll = true
  /** What the engine said of the share just admitted, and of the new shares just made. */
  private admitted: RecognizedShare | undefined
  private issued: Array<{ number: number; holder: string | null }> = []

  constructor(private readonly rekey: Rekeying) {
    // The engine tells which share it admitted only to its observer.
    rekey.observe(async (event) => {
      if (event.type === 'share_accepted') this.admitted = { ...event.share }
      if (event.type === 'shares_issued') this.issued = event.shares.map(({ number, holder }) => ({ number, holder }))
    })
  }

  async status(): Promise<RekeyState> {
    return stateOf(this.rekey.status())
  }

  async start(config: RekeyConfig): Promise<RekeyState> {
    const checked = await this.rekey.check({
      shares: config.shares,
      threshold: config.threshold,
      pgpKeys: config.pgpKeys ?? [],
      backup: config.backup ?? false,
      requireVerification: config.verification === 'threshold',
      verifyAll: config.verification === 'all',
      ...(config.holders ? { holders: config.holders } : {}),
      hold: true,
    })
    return stateOf(await this.rekey.start(checked))
  }

  cancel(): Promise<void> {
    return this.rekey.cancel()
  }

  async update(key: Buffer, nonce: string, holder?: string): Promise<{ state: RekeyState; share?: RecognizedShare; issued?: IssuedShares }> {
    this.admitted = undefined
    const answer = await this.rekey.update(this.rekey.parse(key), nonce, holder)
    const share = this.admitted
    if (!('keys' in answer)) return { state: stateOf(answer), ...(share ? { share } : {}) }
    return { state: stateOf(this.rekey.status()), ...(share ? { share } : {}), issued: this.issuedShares(answer) }
  }

  async verifyStatus(): Promise<VerifyState> {
    return verifyStateOf(this.rekey.verifyStatus())
  }

  async verify(key: Buffer, nonce: string, holder?: string): Promise<{ state: VerifyState; share?: RecognizedShare; complete: boolean }> {
    this.admitted = undefined
    const before = this.rekey.verifyStatus()
    const answer = await this.rekey.verify(this.rekey.parse(key), nonce, holder)
    const share = this.admitted ? { share: this.admitted } : {}
    if ('complete' in answer) {
      // The rekey is over: its verification is whole.
      const required = before.tessera_required
      return { state: { started: false, nonce: answer.nonce, t: before.t, n: before.n, progress: required, required }, ...share, complete: true }
    }
    return { state: verifyStateOf(answer), ...share, complete: false }
  }

  async restartVerification(): Promise<VerifyState> {
    return verifyStateOf(await this.rekey.restartVerification())
  }

  async readBackup(): Promise<{ nonce: string; keys: Record<string, string[]> } | null> {
    const backup = this.rekey.readBackup()
    return backup && { nonce: backup.nonce, keys: backup.keys }
  }

  async deleteBackup(): Promise<void> {
    this.rekey.deleteBackup()
  }

  release(): Promise<void> {
    return this.rekey.release()
  }

  /** The engine's answer as the interface's: each share's bytes (the caller's, to wipe), number and holder. */
  private issuedShares(made: NewShares & { verification_nonce?: string }): IssuedShares {
    const encrypted = made.pgp_fingerprints !== null
    return {
      keys: made.keys.map((key) => (encrypted ? Buffer.from(key, 'hex') : Buffer.from(key, 'ascii'))),
      encrypted,
      shares: this.issued,
      pgp_fingerprints: made.pgp_fingerprints,
      backup: made.backup,
      // A rekey without verification is held until its hand-out ends: that is not a verification.
      ...(made.verification_required && made.verification_nonce ? { verification_nonce: made.verification_nonce } : {}),
    }
  }
}

function stateOf(s: RekeyStatus): RekeyState {
  const { tessera_verify_all: _all, ...state } = s
  return state
}

function verifyStateOf(s: VerifyStatus): VerifyState {
  const { tessera_required: required, ...rest } = s
  return { ...rest, required }
}
