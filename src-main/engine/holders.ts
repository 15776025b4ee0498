import * as v from 'valibot'
import { looksLikeSecret } from '../support/secret-shape'

/** How long a holder's name may be: it is shown and logged, never interpreted. */
const MAX_HOLDER_CHARS = 64

/**
 * A holder's name: letters, digits, spaces and a little punctuation, starting
 * with a letter or digit, and not shaped like a secret (a share typed in groups
 * of four passes the characters). The one rule for every entry that takes a
 * name: `--holders`, the IPC channels and the web host, and the record.
 */
export const HolderName = v.pipe(
  v.string(),
  v.minLength(1, 'must not be empty'),
  v.maxLength(MAX_HOLDER_CHARS, `must be at most ${MAX_HOLDER_CHARS} characters`),
  v.regex(/^[\p{L}\p{M}\p{N}][\p{L}\p{M}\p{N} .'’()_@-]*$/u, 'must be letters, digits, spaces and . \' ( ) _ @ -, starting with a letter or digit'),
  // A name past the bound is refused above; the scan is not run on it.
  v.check((name) => name.length > MAX_HOLDER_CHARS || !looksLikeSecret(name), 'looks like a share, token, OTP or key, not a name'),
)
