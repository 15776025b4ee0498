/**
 * What the two rekey APIs say where they differ: Vault's legacy sys/rekey/*
 * and OpenBao's authenticated sys/rotate/root/* run the same ceremony in
 * other words (and keep separate state: one is invisible to the other).
 */
export interface RekeyWords {
  /** The prefix of a seal-configuration refusal: "invalid rekey seal configuration". */
  readonly config: string
  readonly inProgress: string
  /** An update with none running. */
  readonly noneOnUpdate: string
  readonly verificationPending: (verificationNonce: string) => string
  readonly wrongNonce: (nonce: string) => string
  readonly duplicate: string
  /** A verify with none running. */
  readonly noneOnVerify: string
  readonly noVerification: string
  readonly verificationFailed: string
  /** A verification status with none running. */
  readonly noConfiguration: string
}

export const LEGACY_WORDS: RekeyWords = {
  config: 'invalid rekey seal configuration',
  inProgress: 'rekey already in progress',
  noneOnUpdate: 'no barrier rekey in progress',
  verificationPending: (n) => `rekey operation already finished; verification must be performed; nonce for the verification operation is "${n}"`,
  wrongNonce: (n) => `incorrect nonce supplied; nonce for this rekey operation is "${n}"`,
  duplicate: 'given key has already been provided during this generation operation',
  noneOnVerify: 'no rekey in progress',
  noVerification: 'no rekey verification in progress',
  verificationFailed: 'rekey verification failed; incorrect key shares supplied',
  noConfiguration: 'no rekey configuration found',
}

export const ROTATE_WORDS: RekeyWords = {
  config: 'invalid rotate seal configuration',
  inProgress: 'rotation already in progress',
  noneOnUpdate: 'no rotation in progress',
  verificationPending: (n) => `rotation already finished; verification must be performed; nonce for the verification operation is "${n}"`,
  wrongNonce: (n) => `incorrect nonce supplied; nonce for rotation is "${n}"`,
  duplicate: 'given key has already been provided during this rotation',
  noneOnVerify: 'no rotation in progress',
  noVerification: 'no rotation verification in progress',
  verificationFailed: 'rotation verification failed; incorrect key shares supplied',
  noConfiguration: 'no rotation configuration found',
}
