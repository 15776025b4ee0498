import type { AttemptStatus, Flow, SealStatus } from '../backend'
import type { Backend, Started, StartInput, Updated, UpdateInput } from '../backend-interface'
import type { LocalEngine } from '../engine/local-engine'
import { wipe } from '../crypto/wipe'
import type { AttemptRecord, Identify } from './attempt-record'

/**
 * Where a recording backend finds the record of an attempt: one record for
 * every attempt (`tessera serve --record`), or one file per attempt (the app).
 */
export interface AttemptRecords {
  /** The record of an attempt just started; null when nothing is recorded. */
  started(flow: Flow, status: AttemptStatus): Promise<AttemptRecord | null>
  /** The record of the running attempt a call acts on; null when nothing is recorded. */
  running(flow: Flow, nonce: string): Promise<AttemptRecord | null>
  /** The record a cancel of `flow` goes to; null when nothing is recorded. */
  cancelling(flow: Flow): AttemptRecord | null
  /** The cancel was recorded: a record per attempt ends here. */
  cancelled(flow: Flow): Promise<void>
}

/** Every attempt recorded in one record. */
export function oneRecord(record: AttemptRecord): AttemptRecords {
  return {
    started: async () => record,
    running: async () => record,
    cancelling: () => record,
    cancelled: async () => undefined,
  }
}

/**
 * Any backend, with its attempt calls recorded around the calls themselves: a
 * refused call is recorded and its error rethrown unchanged; a call that cannot
 * be recorded fails, because a ceremony that leaves no record must stop.
 */
export class RecordingBackend implements Backend {
  constructor(
    private readonly inner: Backend,
    private readonly records: AttemptRecords,
    /** Names a refused share where the backend can tell which it is. */
    private readonly identify?: (key: Buffer) => Promise<{ number: number | null; holder: string | null } | null>,
  ) {}

  sealStatus(): Promise<SealStatus> {
    return this.inner.sealStatus()
  }

  status(flow: Flow): Promise<AttemptStatus> {
    return this.inner.status(flow)
  }

  close(): Promise<void> {
    return this.inner.close()
  }

  async start(flow: Flow, input: StartInput): Promise<Started> {
    const started = await this.inner.start(flow, input)
    try {
      const record = await this.records.started(flow, started.status)
      await record?.started(flow, started.status, started.sharedKey)
    } catch (err) {
      // A ceremony that leaves no record does not go on.
      wipe(started.otp)
      await this.inner.cancel(flow).catch(() => undefined)
      throw err
    }
    return started
  }

  async update(flow: Flow, input: UpdateInput): Promise<Updated> {
    const record = await this.records.running(flow, input.nonce)
    if (!record) return this.inner.update(flow, input)
    // A refused share is named only when its check value says which it is: the call
    // itself may be what was wrong (a stale nonce, a share given twice).
    const identify: Identify | undefined = this.identify && (() => this.identify!(input.key))
    return record.update(flow, input.holder, () => this.inner.update(flow, input), identify)
  }

  async cancel(flow: Flow): Promise<void> {
    const record = this.records.cancelling(flow)
    if (!record) return this.inner.cancel(flow)
    await record.cancel(flow, () => this.inner.cancel(flow))
    await this.records.cancelled(flow)
  }
}

/**
 * The local engine with its attempt, unseal and seal calls recorded in one
 * record: what `tessera serve --record` needs. Every other member is the engine's own,
 * so a LocalEngine stays one.
 */
export function recording(engine: LocalEngine, record: AttemptRecord): LocalEngine {
  const identify = async (key: Buffer) => {
    if (!Buffer.isBuffer(key) || key.length === 0) return null
    const known = await engine.keyset.check(key).catch(() => null)
    return known?.valid ? known : null
  }
  const recorded = new RecordingBackend(engine, oneRecord(record), identify)
  const calls: Partial<LocalEngine> = {
    start: (flow, input) => recorded.start(flow, input),
    update: (flow, input) => recorded.update(flow, input),
    cancel: (flow) => recorded.cancel(flow),
    unseal: (typed) =>
      record.unseal(engine.keyset.threshold, () => engine.unseal(typed), async () => (await engine.sealStatus()).progress, () => identify(typed)),
    resetUnseal: () => record.unsealReset(() => engine.resetUnseal()),
    sealBarrier: () => record.sealed('sys_seal', () => engine.sealBarrier()),
  }
  return new Proxy(engine, {
    get(target, prop) {
      if (prop in calls) return calls[prop as keyof LocalEngine]
      const value = Reflect.get(target, prop, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}
