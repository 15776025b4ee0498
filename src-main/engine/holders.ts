import * as v from 'valibot'
import { holderNameProblem, MAX_HOLDER_CHARS } from '../../src-shared/holder-name'
import { looksLikeSecret } from '../support/secret-shape'

/**
 * A holder's name: the form the renderer checks too (src-shared/holder-name),
 * and not shaped like a secret (a share typed in groups of four passes the
 * characters). The one rule for every entry that takes a name: `--holders`,
 * the IPC channels and the web host, and the record.
 */
export const HolderName = v.pipe(
  v.string(),
  v.check((name) => holderNameProblem(name) === null, (issue) => holderNameProblem(issue.input) ?? ''),
  // A name past the bound is refused above; the scan is not run on it.
  v.check((name) => name.length > MAX_HOLDER_CHARS || !looksLikeSecret(name), 'looks like a share, token, OTP or key, not a name'),
)
