import * as v from 'valibot'

/** What a server profile holds: how to reach a server, never a secret. */
export const ProfileInput = v.strictObject({
  name: v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(100)),
  address: v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(2048)),
  namespace: v.optional(v.pipe(v.string(), v.maxLength(512))),
  caFile: v.optional(v.pipe(v.string(), v.maxLength(4096))),
  serverName: v.optional(v.pipe(v.string(), v.maxLength(255))),
  allowInsecureHttp: v.optional(v.boolean(), false),
  skipVerify: v.optional(v.boolean(), false),
  /** Overall deadline of each call to the server; 30 s when not set. */
  timeoutSeconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(300))),
})
export type ProfileInput = v.InferInput<typeof ProfileInput>
export const Profile = v.strictObject({ id: v.string(), ...ProfileInput.entries })
export type Profile = v.InferOutput<typeof Profile>
