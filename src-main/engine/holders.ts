import * as v from 'valibot'

/** How long a holder's name may be: it is shown and logged, never interpreted. */
const MAX_HOLDER_CHARS = 64

/**
 * A holder's name: letters, digits, spaces and a little punctuation, starting
 * with a letter or digit.
 */
export const HolderName = v.pipe(
  v.string(),
  v.minLength(1, 'must not be empty'),
  v.maxLength(MAX_HOLDER_CHARS, `must be at most ${MAX_HOLDER_CHARS} characters`),
  v.regex(/^[\p{L}\p{M}\p{N}][\p{L}\p{M}\p{N} .'’()_@-]*$/u, 'must be letters, digits, spaces and . \' ( ) _ @ -, starting with a letter or digit'),
)
