/**
 * The form of a holder's name, one rule for the renderer and for main: the
 * Create-keyset form shows each problem at its field as it is typed, and main
 * refuses the same names (`--holders`, the IPC channels, the web host, the
 * record), adding the check that a name is not shaped like a secret.
 */

/** How long a holder's name may be: it is shown and logged, never interpreted. */
export const MAX_HOLDER_CHARS = 64

const NAME_CHARS = /^[\p{L}\p{M}\p{N}][\p{L}\p{M}\p{N} .'’()_@-]*$/u

/** Each rule of the form, with the words that finish "holder name 2 …" when it fails. */
const RULES: ReadonlyArray<{ ok: (name: string) => boolean; problem: string }> = [
  { ok: (name) => name.length >= 1, problem: 'must not be empty' },
  { ok: (name) => name.length <= MAX_HOLDER_CHARS, problem: `must be at most ${MAX_HOLDER_CHARS} characters` },
  { ok: (name) => NAME_CHARS.test(name), problem: 'must be letters, digits, spaces and . \' ( ) _ @ -, starting with a letter or digit' },
]

/** What is wrong with the form of `name`, or null. */
export function holderNameProblem(name: string): string | null {
  return RULES.find((rule) => !rule.ok(name))?.problem ?? null
}

/** Per name, in order: its form's problem, or that it repeats an earlier one (case aside), or null. */
export function holderNamesProblems(names: readonly string[]): Array<string | null> {
  const seen = new Set<string>()
  return names.map((name) => {
    const problem = holderNameProblem(name)
    if (problem) return problem
    const folded = name.toLowerCase()
    if (seen.has(folded)) return 'repeats an earlier one: each holder needs their own name'
    seen.add(folded)
    return null
  })
}
