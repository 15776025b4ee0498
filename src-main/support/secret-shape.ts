import { looksSecret } from './redact'

/**
 * The record's secret guard. Tessera displays secrets grouped for reading:
 * in fours ("a1B2 c3D4 …"), on share-card lines (" 1: 9f2c 41aa …  5e1b"),
 * as `hvs.` tokens. Typed back into a name field, the separators hide the
 * shape from a plain scan, so the text is also judged with them removed.
 */

/** What Tessera puts between groups, line numbers and checks; none of it is part of a secret. */
const SEPARATORS = /[\s.:-]+/g
/** An IPv6 literal in a server's address: hex between colons, which is an address and no key. */
const IPV6_LITERAL = /\[[0-9A-Fa-f:.]+(?:%[\w.-]+)?\]/g

/** Hex of 16 bytes and more: a share, a key, a whole share card of a hex share. */
const HEX_RUN = /[0-9A-Fa-f]{32,}/
/** A Vault token with its dot removed. */
const TOKEN = /hv[sbr][A-Za-z0-9_]{20,}/
/** Text shown in groups: short groups, one after another, between separators. */
const GROUPS = /(?:[A-Za-z0-9+/=_]{1,4}[\s.:-]+){3,}[A-Za-z0-9+/=_]{1,4}/g
/**
 * Four groups of exactly four or more, as on one line of a share card (16
 * characters of a share): a secret unless every group is a word.
 */
const FOURS = /(?<![^\s.:-])(?:[A-Za-z0-9+/=_]{4}[\s.:-]+){3,}[A-Za-z0-9+/=_]{4}(?![^\s.:-])/g
const WORD = /^(?:[A-Z]?[a-z]{3}|[a-z]{4}|[A-Z]{4})$/
/** Base62/base64 runs as long as the shortest secret shown (a legacy OTP). */
const RUNS = /[A-Za-z0-9+/=_]{22,}/g

/**
 * A name's words, run together, are long runs of one case after a capital;
 * random characters change class every one or two.
 */
const WORDS = /[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+|[+/=_]+/g
const averageWord = (run: string) => run.length / (run.match(WORDS)?.length ?? 1)

/** Random base62/64 mixes both cases and changes class every few characters; host names are lower case. */
function randomRun(run: string): boolean {
  if (!/[A-Z]/.test(run) || !/[a-z]/.test(run)) return false
  return /[+/=]/.test(run) || averageWord(run) < 4
}

/**
 * True when `text`, as written or with spaces, dots, dashes, colons and line
 * breaks removed, has the shape of a share, token, OTP or key.
 */
export function looksLikeSecret(text: string): boolean {
  if (looksSecret(text)) return true
  const spaced = text.replace(IPV6_LITERAL, ' ')
  const joined = spaced.replace(SEPARATORS, '')
  if (HEX_RUN.test(joined) || TOKEN.test(joined)) return true
  // Groups of at most four are how Tessera shows a secret, not how people write names: judged as one run.
  if ((spaced.match(GROUPS) ?? []).some((groups) => looksSecret(groups.replace(SEPARATORS, '')))) return true
  if ((spaced.match(FOURS) ?? []).some((fours) => fours.split(SEPARATORS).some((group) => !WORD.test(group)))) return true
  return (joined.match(RUNS) ?? []).some(randomRun)
}
