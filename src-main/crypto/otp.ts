/**
 * XOR of two equal-length byte strings: Vault's OTP protection of a token, and
 * its inverse when decoding. Unequal lengths mean the OTP belongs to another
 * value, which callers report in their own words.
 */
export function xorBytes(a: Uint8Array, b: Uint8Array): Buffer {
  if (a.length !== b.length) throw new RangeError(`lengths differ: ${a.length} and ${b.length} bytes`)
  const out = Buffer.alloc(a.length)
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!
  return out
}
