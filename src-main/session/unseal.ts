import { randomUUID } from 'node:crypto'
import { wipe } from '../crypto/wipe'
import type { ServerTarget } from '../remote/http-client'
import { readSeal, resetNode, unsealNode, type NodeAnswer, type NodeSeal } from '../remote/seal-node'
import type { BackendFacts } from '../record/events'
import { UnsealRecord, type NodeResetResult, type NodeResult, type NodeState } from '../record/unseal-record'
import { TesseraError, type RaisedCode } from '../support/errors'
import { forOperator } from '../support/plain-errors'
import { notReady } from './ceremony-session'
import type { OpenBackend } from './open-backend'
import type { Records } from './records'
import type { NodeOutcome, NodeSealView, UnsealNodeView, UnsealView } from './unseal-views'
import type { LogEntry } from './views'
import type { RecognizedServerShare } from '../profiles/server-checks'
import { shareLabel } from '../../src-shared/share-grammar'

/** One node of the open server: its number (1 is the profile's own address), how to reach it, and its origin as shown and recorded. */
interface Node {
  number: number
  target: ServerTarget
  address: string
}

/** One unseal ceremony: from the first share or reset sent to the end, one record. */
interface Run {
  /** The backend whose nodes it reaches: opening another ends it. */
  open: OpenBackend
  nodes: Node[]
  record: UnsealRecord | null
  log: LogEntry[]
  /** What the last share or reset did, per node (index = number - 1). */
  last: Array<UnsealNodeView['last']>
  ended: boolean
}

/** What one node made of one call, for the record, the node's line on screen and the log. */
interface Outcome<R> {
  result: R
  message: string
  ok: boolean
  /** The node's seal as this call left it, when its answer says (else the view reads it again). */
  seal?: NodeAnswer
}

const busy = () => new TesseraError('unseal_busy', 'a share is still on its way to the nodes: wait for what each node made of it')
const noSeal = () => new TesseraError('no_seal', 'unseal is for a server: a local keyset has no seal; connect to the server through its profile')

/** The sentence for a node's refusal or failure: the node named, the plain sentence, the server's own words. */
function nodeSays(node: Node, what: string, error: TesseraError): string {
  const { message, detail } = forOperator(error)
  return `Node ${node.number} (${node.address}) ${what}: ${message}${detail ? ` ${detail}` : ''}`
}

/**
 * The unseal of the open server's nodes. A holder's share is sent once to
 * every node still sealed, concurrently, each call with its own deadline; a
 * node that refuses or fails is named with its reason and never stops the
 * others. The share is a Buffer wiped once every node answered; nothing here
 * keeps it, logs it or records it.
 */
export class Unsealing {
  private run: Run | null = null
  /** A share or reset on its way: a second is refused until every node answered. */
  private sending = false
  /** The nodes' seal as last read, for the record's first line. */
  private seen: NodeAnswer[] = []

  constructor(
    private readonly records: Records,
    private readonly backend: () => OpenBackend | null,
  ) {}

  /** Each node's seal status, read now, with what this ceremony did there. */
  async status(): Promise<UnsealView> {
    return this.view(this.nodes().nodes)
  }

  /**
   * One holder's share, to every node still sealed. Where the server check file
   * knows the server's shares, the share is checked once first: one it refuses
   * is recorded once and sent to no node.
   */
  async submit(holder: string, key: string): Promise<UnsealView> {
    const share = Buffer.from(key, 'utf8')
    try {
      return await this.exclusive(async (run) => {
        const known = await this.recognize(run, holder, share)
        if (known) run.log.push({ at: new Date().toISOString(), operator: holder, outcome: `accepted ${shareLabel(known)}: sent to every node still sealed`, ok: true })
        const outcomes = await Promise.all(run.nodes.map((node) => this.sendShare(node, share)))
        this.note(run, holder, outcomes)
        await run.record?.share(holder, known?.number ?? null, outcomes.map((o) => o.result))
        // The share that unsealed a node is part of the key it combined: its generation is the server's.
        const settled = known && outcomes.some((o) => o.result.outcome === 'unsealed') ? await run.open.server!.checks.settle(known.generation, 'unseal') : null
        if (settled) await run.record?.settled(settled)
        const view = await this.view(run.nodes, outcomes.map((o) => o.seal))
        return known ? { ...view, share: { number: known.number, holder: known.holder } } : view
      })
    } finally {
      wipe(share)
    }
  }

  /** Which of the server's shares `share` is, by its check file (null without one); a refusal is logged and recorded, then thrown. */
  private async recognize(run: Run, holder: string, share: Buffer): Promise<(RecognizedServerShare & { generation: number }) | null> {
    try {
      return (await run.open.server?.checks.recognize(share, holder)) ?? null
    } catch (err) {
      const { code, message } = forOperator(err)
      run.log.push({ at: new Date().toISOString(), operator: holder, outcome: `${message} Sent to no node.`, ok: false })
      await run.record?.refused(holder, code)
      throw err
    }
  }

  /** Drops the shares given toward the unseal on node `number`, or on every node still sealed. */
  async reset(number?: number): Promise<UnsealView> {
    return this.exclusive(async (run) => {
      if (number !== undefined && !run.nodes[number - 1]) {
        throw new TesseraError('bad_request', `there is no node ${number}: this server has ${run.nodes.length}`)
      }
      const chosen = number === undefined ? run.nodes : [run.nodes[number - 1]!]
      const outcomes = (await Promise.all(chosen.map((node) => this.resetOne(node, number === undefined)))).filter((o) => o !== null)
      this.note(run, null, outcomes)
      if (outcomes.length > 0) await run.record?.reset(outcomes.map((o) => o.result))
      return this.view(run.nodes)
    })
  }

  /** The operator leaves the unseal: its record ends with each node's state, read now. */
  async finish(): Promise<UnsealView> {
    if (this.sending) throw busy()
    const { nodes } = this.nodes()
    const run = this.run
    this.run = null
    const answers = await Promise.all(nodes.map((n) => readSeal(n.target)))
    if (run && !run.ended) await this.end(run, answers)
    return this.view(nodes, answers)
  }

  /** Another backend replaces the open one: a run under way ends with each node's state as last read (no node is asked again). */
  async left(): Promise<void> {
    const run = this.run
    const seen = this.seen
    this.run = null
    this.seen = []
    if (run && !run.ended) await this.end(run, run.nodes.map((_, i) => seen[i]))
  }

  /** The open backend's nodes: those of its run when one is under way. */
  private nodes(): { open: OpenBackend; nodes: Node[] } {
    const open = this.backend()
    if (!open) throw notReady()
    if (!open.cluster) throw noSeal()
    const run = this.run
    return { open, nodes: run && run.open === open ? run.nodes : numbered(open.cluster) }
  }

  /** Runs one share or reset at a time, in the ceremony's run (opening it, and its record, at the first). */
  private async exclusive(task: (run: Run) => Promise<UnsealView>): Promise<UnsealView> {
    if (this.sending) throw busy()
    this.sending = true
    try {
      const { open, nodes } = this.nodes()
      if (!this.run || this.run.open !== open || this.run.ended) this.run = await this.begin(open, nodes)
      return await task(this.run)
    } finally {
      this.sending = false
    }
  }

  private async begin(open: OpenBackend, nodes: Node[]): Promise<Run> {
    const facts = await this.facts(nodes)
    const servers = nodes.map((n) => n.address)
    const record = await this.records.openOther(`unseal-${randomUUID()}`, (path) => UnsealRecord.open(path, facts, servers))
    return { open, nodes, record, log: [], last: nodes.map(() => null), ended: false }
  }

  /** What the record's first line says of the server: its own address, and the seal of the first node that answered. */
  private async facts(nodes: Node[]): Promise<BackendFacts> {
    const answered = (answers: NodeAnswer[]) => answers.find((a) => a.ok && a.seal.t >= 1)
    const found = answered(this.seen) ?? answered((this.seen = await Promise.all(nodes.map((n) => readSeal(n.target)))))
    if (!found?.ok) {
      throw new TesseraError('unreachable', `no node of ${nodes[0]!.address} answered with its seal status: nothing was sent`)
    }
    const seal = found.seal
    return {
      backend: 'remote',
      server: nodes[0]!.address,
      server_version: seal.version.slice(0, 80) || 'unknown',
      shares: seal.n,
      threshold: seal.t,
      recovery_mode: false,
    }
  }

  /** A node still sealed gets the share; one already unsealed does not; one that cannot be read is not sent it. */
  private async sendShare(node: Node, share: Buffer): Promise<Outcome<NodeResult>> {
    const n = node.number
    const before = await readSeal(node.target)
    if (!before.ok) return { ...this.notDone(node, before, 'could not be read, so the share was not sent to it'), seal: before }
    if (!before.seal.sealed) {
      return { result: { node: n, outcome: 'already_unsealed' }, message: `Node ${n} (${node.address}) is already unsealed: the share was not sent to it.`, ok: true, seal: before }
    }
    const after = await unsealNode(node.target, share)
    // A refusal may have reset the node's progress: the view reads it again.
    if (!after.ok) return this.notDone(node, after, after.refused ? 'refused the share' : 'failed')
    const s = after.seal
    if (!s.sealed) return { result: { node: n, outcome: 'unsealed' }, message: `Node ${n} (${node.address}) took the share and is unsealed.`, ok: true, seal: after }
    // Vault ignores a share it already holds toward this unseal, in silence.
    if (before.seal.progress > 0 && s.progress === before.seal.progress && s.nonce === before.seal.nonce) {
      return {
        result: { node: n, outcome: 'refused', progress: s.progress, code: 'duplicate_key' },
        message: `Node ${n} (${node.address}) already holds this share: its progress stays at ${s.progress} of ${s.t}.`,
        ok: false,
        seal: after,
      }
    }
    return {
      result: { node: n, outcome: 'accepted', progress: s.progress },
      message: `Node ${n} (${node.address}) accepted the share: ${s.progress} of ${s.t} given.`,
      ok: true,
      seal: after,
    }
  }

  /** `onlySealed`: a reset of every node leaves those already unsealed alone (null). */
  private async resetOne(node: Node, onlySealed: boolean): Promise<Outcome<NodeResetResult> | null> {
    if (onlySealed) {
      const before = await readSeal(node.target)
      if (before.ok && !before.seal.sealed) return null
    }
    const answer = await resetNode(node.target)
    if (!answer.ok) return this.notDone(node, answer, answer.refused ? 'refused the reset' : 'failed')
    return { result: { node: node.number, outcome: 'reset' }, message: `Node ${node.number} (${node.address}) dropped the shares given toward its unseal.`, ok: true }
  }

  private notDone(node: Node, answer: Extract<NodeAnswer, { ok: false }>, what: string): Outcome<{ node: number; outcome: 'refused' | 'failed'; code: RaisedCode }> {
    return {
      result: { node: node.number, outcome: answer.refused ? 'refused' : 'failed', code: answer.error.code },
      message: nodeSays(node, what, answer.error),
      ok: false,
    }
  }

  /** Each outcome on its node's line and in the log. */
  private note(run: Run, holder: string | null, outcomes: ReadonlyArray<Outcome<{ node: number; outcome: NodeOutcome }>>): void {
    const at = new Date().toISOString()
    for (const { result, message, ok } of outcomes) {
      run.last[result.node - 1] = { holder, outcome: result.outcome, message }
      run.log.push({ at, operator: holder ?? 'Reset', outcome: message, ok })
    }
  }

  /** Ends a run's record with each node's state as `answers` read it (unknown where there is none). */
  private async end(run: Run, answers: ReadonlyArray<NodeAnswer | undefined>): Promise<void> {
    run.ended = true
    if (!run.record) return
    const record = run.record
    const states = answers.map((a): NodeState => (!a?.ok ? 'unknown' : a.seal.sealed ? 'sealed' : 'unsealed'))
    await this.records.endOther(() => record.ended(states))
  }

  /**
   * The nodes as read now, or as a share just left them (`known`, per node: a
   * node that was just asked is not asked again, so a node out of time costs
   * one deadline, not two). After a share, a ceremony whose every node is
   * unsealed ends there.
   */
  private async view(nodes: Node[], known?: ReadonlyArray<NodeAnswer | undefined>): Promise<UnsealView> {
    const answers = await Promise.all(nodes.map((n, i) => known?.[i] ?? readSeal(n.target)))
    this.seen = answers
    const unsealed = answers.every((a) => a.ok && !a.seal.sealed)
    const run = this.run
    if (known && unsealed && run && !run.ended) await this.end(run, answers)
    return {
      nodes: nodes.map((node, i) => {
        const a = answers[i]!
        return {
          number: node.number,
          address: node.address,
          seal: a.ok ? sealView(a.seal) : null,
          error: a.ok ? null : nodeSays(node, 'could not be read', a.error),
          last: run?.nodes === nodes ? (run.last[i] ?? null) : null,
        }
      }),
      unsealed,
      running: run !== null && !run.ended,
      log: run ? [...run.log] : [],
    }
  }
}

function sealView({ type: _type, ...seal }: NodeSeal): NodeSealView {
  return seal
}

function numbered(targets: readonly ServerTarget[]): Node[] {
  return targets.map((target, i) => ({ number: i + 1, target, address: new URL(target.address).origin }))
}
