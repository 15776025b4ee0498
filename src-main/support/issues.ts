import type * as v from 'valibot'

/** Longest field path or expectation an error names; schema names are far shorter. */
const MAX_PART_CHARS = 120

/**
 * Why a parse failed, as "field: expected X": the field and what was expected,
 * never anything received. Not a value (it may be a share), and not an unknown
 * key either (a key is as much the sender's text as a value is): only keys the
 * schema itself declares are named. The one describer of a schema's refusal:
 * IPC input, the files Tessera reads (keysets, profiles, ceremony records), a
 * server's replies and the events the ceremony record writes.
 */
export function describeIssue(issues: readonly [v.BaseIssue<unknown>, ...v.BaseIssue<unknown>[]], whole = 'input'): string {
  const issue = issues[0]
  const names: string[] = []
  for (const item of issue.path ?? []) {
    // An unknown key of a strict object: the path item's key is the sender's own text.
    if (item.origin === 'key' && issue.expected === 'never') {
      return `${names.join('.') || whole}: unexpected field`.slice(0, MAX_PART_CHARS * 2)
    }
    names.push(typeof item.key === 'number' ? String(item.key) : String(item.key).slice(0, MAX_PART_CHARS))
  }
  const where = names.join('.').slice(0, MAX_PART_CHARS) || whole
  if (issue.input === undefined && names.length > 0 && /object$/.test(issue.type)) return `${where}: missing`
  // A schema's own words ("must not be empty", "should be true or false") are fixed text; valibot's default messages start "Invalid" and quote the value.
  if (!issue.message.startsWith('Invalid ')) return `${where} ${issue.message.slice(0, MAX_PART_CHARS)}`
  return `${where}: expected ${String(issue.expected ?? issue.type).slice(0, MAX_PART_CHARS)}`
}
