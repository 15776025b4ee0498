import * as v from 'valibot'

const SECONDS = 'must be a whole number of seconds from 1 to 300'
/** A cluster of Vault or OpenBao runs a handful of nodes: with the profile's own address, at most 16 (as a record lists them). */
export const MAX_NODES = 15
const address = v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(2048))

/** What a server profile holds: how to reach a server, never a secret. */
export const ProfileInput = v.strictObject({
  name: v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(100)),
  address,
  /** The cluster's other nodes, reached with the same TLS settings: an unseal goes to each of them too. */
  nodes: v.optional(v.pipe(v.array(address), v.maxLength(MAX_NODES, `must list at most ${MAX_NODES} nodes`))),
  namespace: v.optional(v.pipe(v.string(), v.maxLength(512))),
  caFile: v.optional(v.pipe(v.string(), v.maxLength(4096))),
  serverName: v.optional(v.pipe(v.string(), v.maxLength(255))),
  allowInsecureHttp: v.optional(v.boolean(), false),
  skipVerify: v.optional(v.boolean(), false),
  /** Overall deadline of each call to the server; 30 s when not set. */
  timeoutSeconds: v.optional(v.pipe(v.number(SECONDS), v.integer(SECONDS), v.minValue(1, SECONDS), v.maxValue(300, SECONDS))),
})
export type ProfileInput = v.InferInput<typeof ProfileInput>
export const Profile = v.strictObject({ id: v.string(), ...ProfileInput.entries })
export type Profile = v.InferOutput<typeof Profile>
