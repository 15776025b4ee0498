import type { CheckFileSettlement } from '../backend-interface'
import type { ErrorCode } from '../support/error-codes'
import { reasonFor, type BackendFacts, type CeremonyEvent } from './events'
import { RecordWriter } from './writer'

type ShareResult = Extract<CeremonyEvent, { type: 'unseal_share' }>['data']['results'][number]
type ResetResult = Extract<CeremonyEvent, { type: 'unseal_reset' }>['data']['results'][number]
/** What one node (numbered from 1, the profile's own address first) made of a share: its outcome, its progress after it, and why it refused or failed. */
export type NodeResult = Omit<ShareResult, 'reason'> & { code?: ErrorCode }
export type NodeResetResult = Omit<ResetResult, 'reason'> & { code?: ErrorCode }
export type NodeState = Extract<CeremonyEvent, { type: 'unseal_ended' }>['data']['nodes'][number]['state']

/** A result as the record holds it: the error code as one of the record's reasons. */
const recorded = <T extends { code?: ErrorCode }>(results: readonly T[]) =>
  results.map(({ code, ...r }) => ({ ...r, ...(code ? { reason: reasonFor(code) } : {}) }))

/**
 * The record of one unseal of a cluster: its nodes, each holder's share with
 * what each node made of it, the resets, and each node's state at the end.
 * Names, numbers, origins and reason codes; never a share.
 */
export class UnsealRecord {
  private constructor(readonly writer: RecordWriter) {}

  /** `servers`: the nodes' origins, the profile's own address first. */
  static async open(path: string, facts: BackendFacts, servers: readonly string[]): Promise<UnsealRecord> {
    const writer = await RecordWriter.create(path, facts)
    try {
      await writer.append({ type: 'unseal_nodes', data: { nodes: servers.map((server, i) => ({ node: i + 1, server })) } })
    } catch (err) {
      await writer.abandon()
      throw err
    }
    return new UnsealRecord(writer)
  }

  /** `shareNumber`: the share's number where the server check file recognized it. */
  async share(holder: string, shareNumber: number | null, results: readonly NodeResult[]): Promise<void> {
    await this.writer.append({ type: 'unseal_share', data: { holder, ...(shareNumber ? { share_number: shareNumber } : {}), results: recorded(results) } })
  }

  /** The server check file refused a share: once, since it was sent to no node. */
  async refused(holder: string, code: ErrorCode): Promise<void> {
    await this.writer.append({ type: 'share_refused', data: { holder, reason: reasonFor(code) } })
  }

  /** The share that unsealed a node settled the server check file's pending generation. */
  async settled(settlement: CheckFileSettlement): Promise<void> {
    await this.writer.append({ type: 'check_file_settled', data: settlement })
  }

  async reset(results: readonly NodeResetResult[]): Promise<void> {
    await this.writer.append({ type: 'unseal_reset', data: { results: recorded(results) } })
  }

  /** The ceremony is over: each node's state, then the closing line. Resolves with the final hash. */
  async ended(states: readonly NodeState[]): Promise<string> {
    await this.writer.append({ type: 'unseal_ended', data: { nodes: states.map((state, i) => ({ node: i + 1, state })) } })
    return this.writer.close()
  }
}
