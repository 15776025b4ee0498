import type { HandOutSummary } from '../../../src-main/ipc/channels'
import type { RekeyPhase } from './rekey.svelte'
import type { Step } from './places'

/** The five steps the stepper shows, in order, and their names. */
export const STEPS = ['backend', 'operation', 'protection', 'collect', 'result'] as const
export type ShownStep = (typeof STEPS)[number]
export const STEP_NAME: Record<ShownStep, string> = { backend: 'Backend', operation: 'Operation', protection: 'Protection', collect: 'Collect shares', result: 'Result' }

/** What decides the step of a screen that serves more than one ceremony. */
export interface StepContext {
  handOut: HandOutSummary | null
  rekey: RekeyPhase
  /** The unseal found every node unsealed. */
  unsealed: boolean
}

/**
 * Which step a screen is in its ceremony. A new keyset's hand-out is part of
 * choosing the backend; a server's init and a rekey hand out what they made,
 * their result (a rekey then collects the new shares back to verify them).
 * Checking shares belongs to choosing the operation; unsealing collects
 * shares until every node is unsealed. A rekey's form is the operation, its
 * shares are collected, its end is the result.
 */
export function shownStep(step: Step, at: StepContext): ShownStep {
  switch (step) {
    case 'handout':
      return at.handOut?.ceremony === 'init' && at.handOut.place.kind === 'keyset' ? 'backend' : 'result'
    case 'check':
      return 'operation'
    case 'unseal':
      return at.unsealed ? 'result' : 'collect'
    case 'rekey':
      return REKEY_STEP[at.rekey]
    default:
      return step
  }
}

const REKEY_STEP: Record<RekeyPhase, ShownStep> = { form: 'operation', current: 'collect', verify: 'collect', complete: 'result', cancelled: 'result' }
