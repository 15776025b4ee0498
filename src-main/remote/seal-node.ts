import type * as v from 'valibot'
import { compactShare } from '../../src-shared/share-grammar'
import { TesseraError } from '../support/errors'
import { explainRefusal } from './explain'
import { vaultRequest, type ServerTarget } from './http-client'
import { parseReply, SealStatusReply } from './replies'

/**
 * Vault's raw seal endpoints on one node of a cluster: sys/seal-status and
 * sys/unseal. They take no token (Vault answers them unauthenticated, on every
 * node, standbys included), so none is sent.
 */

/** A node's seal, as its sys/seal-status (or its reply to sys/unseal) says. */
export type NodeSeal = v.InferOutput<typeof SealStatusReply>

/**
 * What a node made of a call: its seal status; a refusal (the node answered
 * 4xx, in its own words); or a failure (unreachable, out of time, a TLS
 * problem, a server error or a reply that is not Vault's).
 */
export type NodeAnswer = { ok: true; seal: NodeSeal } | { ok: false; refused: boolean; error: TesseraError }

async function sealCall(target: ServerTarget, method: 'GET' | 'PUT', path: string, body?: unknown): Promise<NodeAnswer> {
  try {
    const reply = await vaultRequest(target, method, path, { body })
    if (reply.status >= 200 && reply.status < 300) return { ok: true, seal: parseReply(SealStatusReply, reply.body, `${method} ${path}`) }
    const errors = (reply.body as { errors?: unknown } | null | undefined)?.errors
    const error = explainRefusal({
      path,
      method,
      status: reply.status,
      errors: Array.isArray(errors) ? errors.filter((e) => typeof e === 'string') : [],
      hasToken: false,
    })
    return { ok: false, refused: reply.status >= 400 && reply.status < 500, error }
  } catch (err) {
    if (err instanceof TesseraError) return { ok: false, refused: false, error: err }
    throw err
  }
}

export const readSeal = (target: ServerTarget): Promise<NodeAnswer> => sealCall(target, 'GET', 'sys/seal-status')

/** One share to one node: Vault's API takes it as a JSON string, made here for the request body (which is wiped once sent). */
export const unsealNode = (target: ServerTarget, share: Buffer): Promise<NodeAnswer> =>
  sealCall(target, 'PUT', 'sys/unseal', { key: compactShare(share.toString('utf8')) })

/** Drops the shares a node was given toward its unseal (Vault's `reset: true`). */
export const resetNode = (target: ServerTarget): Promise<NodeAnswer> => sealCall(target, 'PUT', 'sys/unseal', { reset: true })
