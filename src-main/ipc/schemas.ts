import * as v from 'valibot'
import { FLOWS } from '../backend'
import { HolderName } from '../engine/holders'
import { SCHEMES } from '../engine/schemes'
import { ProfileInput } from '../profiles/profile-schema'
import type { Channel, Input } from './channels'

/**
 * The input schemas, the main-only half of the IPC contract: the router checks
 * every input against its channel's schema before any handler runs. The channel
 * list (`./channels`) and this map cannot drift: both name the same channels, and
 * each schema accepts exactly the input type the list declares (checked below).
 */

const flow = v.picklist(FLOWS)
/** Shares, keys and encoded values are bounded: nothing legitimate is larger. */
const text = (max: number) => v.pipe(v.string(), v.maxLength(max))
const path = v.pipe(v.string(), v.minLength(1), v.maxLength(4096))
const noInput = v.optional(v.union([v.undefined(), v.null(), v.strictObject({})]))
/** A share count or threshold, within Vault's limits. */
const count = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(255))
const index = v.strictObject({ index: v.pipe(v.number(), v.integer(), v.minValue(0)) })

export const schemas = {
  'app.info': noInput,

  'backend.describe': noInput,
  'backend.openKeyset': v.strictObject({ path, recovery: v.optional(v.boolean(), false) }),
  'backend.initKeyset': v.strictObject({
    path,
    shares: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(255)),
    threshold: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(255)),
    scheme: v.optional(v.picklist(SCHEMES), 'vault'),
    pgpKeys: v.optional(v.array(text(1024 * 1024))),
    // Bounded here, loosely: each name is held to the holder rule by the keyset (checkHolders), whose sentence counts from 1.
    holders: v.optional(v.pipe(v.array(text(1024)), v.maxLength(255))),
    allowSharedKey: v.optional(v.boolean()),
  }),
  'backend.connectRemote': v.strictObject({ id: text(64), token: v.optional(text(4096)) }),
  'backend.initServer': v.strictObject({
    shares: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(255)),
    threshold: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(255)),
    pgpKeys: v.optional(v.pipe(v.array(text(1024 * 1024)), v.maxLength(255))),
    holders: v.optional(v.pipe(v.array(text(1024)), v.maxLength(255))),
    allowSharedKey: v.optional(v.boolean()),
    rootTokenPgpKey: v.optional(text(1024 * 1024)),
  }),
  'backend.recent': noInput,

  'profiles.list': noInput,
  'profiles.save': v.strictObject({ id: v.optional(text(64)), profile: ProfileInput, token: v.optional(v.nullable(text(4096))) }),
  'profiles.remove': v.strictObject({ id: text(64) }),
  'profiles.test': v.strictObject({ id: text(64), token: v.optional(text(4096)) }),

  'handout.revealShare': index,
  'handout.shareCard': index,
  'handout.shareSaved': index,
  'handout.cardPrinted': index,
  'handout.printCard': index,
  'handout.revealRootToken': noInput,
  'handout.finish': v.optional(v.union([v.undefined(), v.null(), v.strictObject({ abandon: v.optional(v.boolean(), false) })])),

  'attempt.status': v.strictObject({ flow }),
  'attempt.start': v.strictObject({
    flow,
    pgpKey: v.optional(text(1024 * 1024)),
    newHolder: v.optional(HolderName),
    allowSharedKey: v.optional(v.boolean()),
  }),
  'attempt.cancel': v.strictObject({ flow }),
  'attempt.confirmNonce': v.strictObject({ flow, nonce: text(64), holder: HolderName }),
  'attempt.update': v.strictObject({ flow, key: text(4096), nonce: text(64), holder: v.optional(HolderName) }),

  'rekey.status': noInput,
  'rekey.start': v.strictObject({
    shares: count,
    threshold: count,
    pgpKeys: v.optional(v.pipe(v.array(text(1024 * 1024)), v.maxLength(255))),
    holders: v.optional(v.pipe(v.array(text(1024)), v.maxLength(255))),
    backup: v.optional(v.boolean()),
    verification: v.picklist(['none', 'threshold', 'all']),
  }),
  'rekey.confirmNonce': v.strictObject({ nonce: text(64), holder: HolderName }),
  'rekey.update': v.strictObject({ key: text(4096), nonce: text(64), holder: v.optional(HolderName) }),
  'rekey.verify': v.strictObject({ key: text(4096), nonce: text(64), holder: v.optional(HolderName) }),
  'rekey.restartVerification': noInput,
  'rekey.cancel': noInput,
  'rekey.backup': noInput,
  'rekey.deleteBackup': noInput,

  'result.revealShare': noInput,
  'result.shareSaved': noInput,
  'result.shareCard': noInput,
  'result.cardPrinted': noInput,

  'shares.list': noInput,
  'shares.check': v.strictObject({ share: text(4096) }),

  'decode.held': v.strictObject({ flow, encoded: text(64 * 1024) }),
  'decode.otp': v.strictObject({ encoded: text(64 * 1024), otp: text(4096), verify: v.optional(v.boolean(), true) }),
  'decode.pgp': v.strictObject({
    encoded: text(64 * 1024),
    privateKey: text(1024 * 1024),
    passphrase: v.optional(text(4096)),
    verify: v.optional(v.boolean(), true),
  }),

  'decode.gpg': v.strictObject({ encoded: text(64 * 1024), verify: v.optional(v.boolean(), true) }),

  'pgp.inspect': v.strictObject({ key: text(1024 * 1024) }),

  'clipboard.copy': v.strictObject({ text: text(4096) }),

  'record.setDirectory': v.strictObject({ path }),
  'record.printable': noInput,
  'record.printPdf': v.strictObject({ pageSize: v.picklist(['A4', 'Letter']) }),

  'session.wipe': noInput,
  'session.state': noInput,
  'session.snapshot': noInput,

  'unseal.status': noInput,
  'unseal.submit': v.strictObject({ holder: HolderName, key: text(4096) }),
  'unseal.reset': v.optional(v.union([v.undefined(), v.null(), v.strictObject({ node: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(16))) })])),
  'unseal.finish': noInput,
} as const satisfies Record<Channel, v.GenericSchema>

export type Schemas = typeof schemas

/** True only when A and B are the same type (not merely assignable each way, which misses an extra optional field). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
/** Fails to compile, naming the channels, unless T is empty. */
type NoneOf<T extends never> = T
type _InputDrift = NoneOf<{ [C in Channel]: Same<v.InferInput<Schemas[C]>, Input<C>> extends true ? never : C }[Channel]>
