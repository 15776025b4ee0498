import { groupHash } from './chain'
import type { CHECK_FILE_OUTCOMES, LegacyEvent, RecordEvent } from './events'
import type { VerifiedLine } from './verify'
import { STYLE } from './printed-style'

/**
 * The printable ceremony record: one self-contained HTML page (no script, no
 * remote content, its CSS inline) with the ceremony's facts, every event in
 * order, the final hash in large type, and lines for the lead and witnesses to
 * sign. Every piece of text from the record is HTML-escaped.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }
const esc = (value: unknown): string => String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]!)

/** An ISO time as a witness reads it. */
const when = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`

const FLOW_NAMES = { root: 'Root token', share: 'New key share', recovery: 'Recovery token' } as const

/** What a server's rekey did to its server check file, in words. */
const CHECK_FILE_WORDS: Record<(typeof CHECK_FILE_OUTCOMES)[number], (generation?: number) => string> = {
  updated: (g) => `server check file at generation ${g}`,
  retired: () => 'server check file moved aside (the server encrypted the new shares)',
  none: () => 'no server check file',
  not_updated: () => 'server check file not updated',
}

function protectionText(p: Extract<RecordEvent, { type: 'attempt_started' }>['data']['protection']): string {
  switch (p.kind) {
    case 'otp':
      return `one-time password (${p.length} characters)`
    case 'pgp':
      return `PGP key ${groupHash(p.fingerprint.toUpperCase())}`
    case 'none':
      return 'none: the result is the new share itself'
  }
}

const HAND_OUT_WORDS = {
  revealed: 'shown on screen',
  card_shown: 'shown on screen as a share card',
  card_printed: 'printed on a share card',
  encrypted_file_saved: "saved as a file encrypted to the holder's PGP key",
  written_to_output: 'written out by tessera init',
  sent_in_reply: 'sent in the reply to sys/init',
} as const

const SEALED_WORDS = { start: 'the server started sealed', init: 'the keyset was just created', sys_seal: 'sealed with a root token (sys/seal)' } as const

const ABANDON_WORDS = {
  operator: 'the operator confirmed',
  output_failed: 'the output failed',
  keyset_not_written: 'the keyset file was not written',
  stopped: 'Tessera was stopped',
  server_refused: 'the server refused the init: nothing was made',
} as const

const VERIFY_WORDS = {
  none: 'in effect at once',
  threshold: 'in effect once a threshold of them is entered back',
  all: 'in effect once every one is entered back',
} as const

const NODE_OUTCOME_WORDS = {
  accepted: 'accepted',
  unsealed: 'accepted, unsealed',
  already_unsealed: 'already unsealed, not sent',
  refused: 'refused',
  failed: 'failed',
} as const

/** Per node, in a line: "node 1 accepted (2), node 2 refused (share_unknown)". */
const perNode = <R extends { node: number; progress?: number; reason?: string }>(results: readonly R[], words: (r: R) => string) =>
  results.map((r) => `node ${r.node} ${words(r)}${r.progress !== undefined ? ` (${r.progress})` : ''}${r.reason ? ` (${r.reason})` : ''}`).join(', ')

const shortFingerprint = (fp: string) => `${groupHash(fp).slice(0, 19)}…`
const shareWords = (n: number | undefined) => (n ? `Share ${n}` : 'The new share')
const numbers = (ns: readonly number[]) => (ns.length === 1 ? `share ${ns[0]}` : `shares ${ns.join(', ')}`)
/** " (share N)" after a holder's name, where the share's number is known. */
const shareOf = (n: number | undefined) => (n ? ` (share ${n})` : '')

/** One event in words, for the table. */
function describe(e: RecordEvent | LegacyEvent): string {
  switch (e.type) {
    case 'header':
      return `Tessera ${e.data.version}, record format ${e.data.format}`
    case 'backend_opened': {
      const on = e.data.backend === 'local'
        ? `Local keyset ${e.data.keyset_fingerprint ? shortFingerprint(e.data.keyset_fingerprint) : ''} (${e.data.threshold} of ${e.data.shares ?? '?'}${e.data.recovery_mode ? ', recovery mode' : ''})`
        : `Server ${e.data.server ?? ''}${e.data.server_version ? ` (version ${e.data.server_version})` : ''}, threshold ${e.data.threshold}`
      return 'version' in e.data ? `${on}; recorded by Tessera ${e.data.version}, record format ${e.data.format}` : on
    }
    case 'keyset_created':
      return `New keyset ${shortFingerprint(e.data.keyset_fingerprint)}: ${e.data.shares} shares, threshold ${e.data.threshold}, scheme ${e.data.scheme}${e.data.encrypted_to?.length ? `; ${numbers(e.data.encrypted_to.map((r) => r.share_number))} encrypted to PGP keys` : ''}`
    case 'server_initialized':
      return `Server initialized: ${e.data.shares} shares, threshold ${e.data.threshold}${e.data.encrypted_to?.length ? `; ${numbers(e.data.encrypted_to.map((r) => r.share_number))} encrypted to PGP keys` : ''}${e.data.root_token_encrypted_to ? '; root token encrypted to a PGP key' : ''}; ${e.data.check_file ? 'server check file written' : 'no server check file written'}`
    case 'share_handed_out':
      return `${shareWords(e.data.share_number)}${e.data.holder ? ` (${e.data.holder})` : ''} ${HAND_OUT_WORDS[e.data.how]}`
    case 'root_token_revealed':
      return `Initial root token ${HAND_OUT_WORDS[e.data.how]}`
    case 'init_finished':
      return 'Hand-out finished'
    case 'init_abandoned':
      return `Hand-out ended (${ABANDON_WORDS[e.data.reason]})${e.data.not_handed_out.length ? `: ${numbers(e.data.not_handed_out)} never handed out` : ''}`
    case 'attempt_started':
      return `${FLOW_NAMES[e.data.flow]}: nonce ${e.data.nonce}, ${protectionText(e.data.protection)}, ${e.data.required} shares required`
    case 'nonce_confirmed':
      return `${e.data.holder} confirmed the nonce`
    case 'share_accepted':
      return `${e.data.holder ?? 'A holder'}${shareOf(e.data.share_number)}: accepted, ${e.data.progress} of ${e.data.required}`
    case 'share_refused':
      return `${e.data.holder ?? 'A holder'}${shareOf(e.data.share_number)}: refused (${e.data.reason})${e.data.progress !== undefined ? `, progress ${e.data.progress}` : ''}`
    case 'refusals_summarized':
      return `Further refusals in that run, counted rather than listed: ${e.data.counts.map((c) => `${c.count} ${c.reason}`).join(', ')}`
    case 'progress_reset':
      return `Progress reset from ${e.data.from} (${e.data.reason})`
    case 'completed':
      return `${FLOW_NAMES[e.data.flow]} complete; result SHA-256 ${groupHash(e.data.result_sha256)}`
    case 'decoded':
      return `Decoded the ${e.data.kind}; checksum shown: ${e.data.checksum}`
    case 'cancelled':
      return `${FLOW_NAMES[e.data.flow]} attempt cancelled`
    case 'sealed':
      return `Sealed: ${SEALED_WORDS[e.data.by]}`
    case 'unseal_started':
      return `Unseal: nonce ${e.data.nonce}, ${e.data.required} shares required`
    case 'unsealed':
      return 'Unsealed: the shares given open the keyset'
    case 'rekey_started':
      return `Rekey: nonce ${e.data.nonce}, ${e.data.shares} new shares, threshold ${e.data.threshold}, ${e.data.required} current shares required; ${VERIFY_WORDS[e.data.verification]}${e.data.encrypted_to?.length ? `; ${numbers(e.data.encrypted_to.map((r) => r.share_number))} encrypted to PGP keys` : ''}`
    case 'rekey_shares_issued':
      return `${e.data.shares} new shares made and returned; ${VERIFY_WORDS[e.data.verification]}`
    case 'new_share_verified':
      return `${e.data.holder ?? 'A holder'} (new share ${e.data.share_number}): entered back, ${e.data.progress} of ${e.data.required}`
    case 'rekey_verification_restarted':
      return e.data.reason === 'failed' ? 'Verification failed: it starts over with a new nonce' : 'Verification restarted with a new nonce'
    case 'rekey_completed':
      if ('check_file' in e.data) return `Rekey complete: the new shares are in effect on ${e.data.server}, ${e.data.threshold} of ${e.data.shares}; ${CHECK_FILE_WORDS[e.data.check_file](e.data.check_generation)}`
      return `Rekey complete: the new shares are in effect; keyset ${shortFingerprint(e.data.keyset_fingerprint)}, generation ${e.data.generation}, ${e.data.threshold} of ${e.data.shares}`
    case 'rekey_cancelled':
      return 'Rekey cancelled: the current shares stay in effect'
    case 'rekey_not_followed':
      return e.data.reason === 'not_running'
        ? 'Rekey no longer running on the server: it completed or was cancelled elsewhere, or the server was sealed or restarted; Tessera did not see which'
        : 'Rekey no longer followed here: this window connected again or opened another backend; the server keeps its rekey until it completes or is cancelled'
    case 'check_file_settled':
      return `Server check file: generation ${e.data.generation} is in effect; the pending generation of a rekey not seen to finish was ${e.data.pending === 'made_current' ? 'made current' : 'dropped'}`
    case 'unseal_nodes':
      return `Unseal of ${e.data.nodes.length === 1 ? 'one node' : `${e.data.nodes.length} nodes`}: ${e.data.nodes.map((n) => `node ${n.node} ${n.server}`).join(', ')}`
    case 'unseal_share':
      return `${e.data.holder ?? 'A holder'}${shareOf(e.data.share_number)}: ${perNode(e.data.results, (r) => NODE_OUTCOME_WORDS[r.outcome])}`
    case 'unseal_reset':
      return `Unseal progress reset: ${perNode(e.data.results, (r) => r.outcome)}`
    case 'unseal_ended':
      return `Unseal ended: ${perNode(e.data.nodes, (r) => r.state)}`
    case 'result_dropped':
      return `Tessera stopped: the finished ${FLOW_NAMES[e.data.flow].toLowerCase()} result was dropped, never decoded or handed out`
    case 'wiped':
      return 'Every secret wiped from memory'
    case 'closed':
      return 'Record closed'
    default:
      return missingCase(e)
  }
}

function missingCase(x: never): never {
  throw new Error(`no description for ${String(x)}`)
}

interface Facts {
  rows: Array<[string, string]>
  holders: Array<{ name: string; shares: string; outcome: string }>
}

interface HolderFacts {
  shares: Set<number>
  accepted: number
  refused: number
  /** How their share left an init hand-out. */
  handed: Set<string>
  confirmed: boolean
}

function outcome(h: HolderFacts): string {
  const parts = [h.accepted ? `${h.accepted} accepted` : '', h.refused ? `${h.refused} refused` : '', ...h.handed]
  return parts.filter(Boolean).join(', ') || (h.confirmed ? 'confirmed the nonce' : 'never handed out')
}

/** The facts a witness checks, gathered from the events in order. */
function gather(lines: VerifiedLine[]): Facts {
  const rows: Array<[string, string]> = []
  const holders = new Map<string, HolderFacts>()
  const holder = (name: string | undefined) => {
    const key = name ?? '(no name given)'
    if (!holders.has(key)) holders.set(key, { shares: new Set(), accepted: 0, refused: 0, handed: new Set(), confirmed: false })
    return holders.get(key)!
  }
  // An init's holders by share number: a hand-out names the share, the holder may be unnamed.
  const initHolders = new Map<number, HolderFacts>()
  for (const e of lines) {
    switch (e.type) {
      case 'header':
        rows.push(['Recorded by', `Tessera ${e.data.version}`], ['Started', when(e.time)])
        break
      case 'backend_opened':
        if ('version' in e.data) rows.push(['Recorded by', `Tessera ${e.data.version}`], ['Started', when(e.time)])
        rows.push(['Backend', e.data.backend === 'local' ? 'local keyset' : 'remote server'])
        if (e.data.keyset_fingerprint) rows.push(['Keyset fingerprint', groupHash(e.data.keyset_fingerprint)])
        if (e.data.scheme) rows.push(['Share scheme', e.data.scheme])
        if (e.data.server) rows.push(['Server', `${e.data.server}${e.data.server_version ? ` (version ${e.data.server_version})` : ''}`])
        rows.push(['Threshold', `${e.data.threshold}${e.data.shares ? ` of ${e.data.shares}` : ''}${e.data.recovery_mode ? ' (recovery mode)' : ''}`])
        break
      case 'attempt_started':
        rows.push(['Operation', FLOW_NAMES[e.data.flow]], ['Nonce', e.data.nonce], ['Protection', protectionText(e.data.protection)])
        break
      case 'nonce_confirmed':
        holder(e.data.holder).confirmed = true
        break
      case 'keyset_created':
      case 'server_initialized': {
        // A keyset's fingerprint, a server's address: the backend's, already a row.
        rows.push(['Operation', e.type === 'keyset_created' ? 'Keyset created' : 'Server initialized'])
        if (e.type === 'server_initialized') {
          rows.push(['Server check file', e.data.check_file ? 'written' : 'not written: shares are not checked as entered'])
          if (e.data.root_token_encrypted_to) rows.push(['Root token encrypted to', groupHash(e.data.root_token_encrypted_to.toUpperCase())])
        }
        for (let n = 1; n <= e.data.shares; n++) {
          const h = holder(e.data.holders?.[n - 1] ?? `Holder of share ${n}`)
          h.shares.add(n)
          initHolders.set(n, h)
        }
        const encrypted = e.data.encrypted_to ?? []
        if (encrypted.length > 0) {
          rows.push(['Encrypted to PGP keys', encrypted.map((r) => `share ${r.share_number}: ${groupHash(r.fingerprint.toUpperCase())}`).join('; ')])
        }
        break
      }
      case 'share_handed_out': {
        const initHolder = e.data.share_number ? initHolders.get(e.data.share_number) : undefined
        if (initHolder) initHolder.handed.add(HAND_OUT_WORDS[e.data.how])
        else rows.push(['New share', `${shareWords(e.data.share_number)}${e.data.holder ? ` for ${e.data.holder}` : ''}, ${HAND_OUT_WORDS[e.data.how]}, ${when(e.time)}`])
        break
      }
      case 'root_token_revealed':
        rows.push(['Initial root token', `${HAND_OUT_WORDS[e.data.how]}, ${when(e.time)}`])
        break
      case 'init_finished':
        rows.push(['Hand-out finished', when(e.time)])
        break
      case 'init_abandoned':
        rows.push(['Hand-out ended', `${when(e.time)}, ${ABANDON_WORDS[e.data.reason]}${e.data.not_handed_out.length ? `; ${numbers(e.data.not_handed_out)} never handed out` : ''}`])
        break
      case 'share_accepted':
      case 'share_refused': {
        const h = holder(e.data.holder)
        if (e.data.share_number) h.shares.add(e.data.share_number)
        if (e.type === 'share_accepted') h.accepted++
        else h.refused++
        break
      }
      case 'completed':
        rows.push(['Result SHA-256', groupHash(e.data.result_sha256)], ['Completed', when(e.time)])
        break
      case 'cancelled':
        rows.push(['Cancelled', when(e.time)])
        break
      case 'decoded':
        rows.push(['Decoded checksum', e.data.checksum])
        break
      case 'result_dropped':
        rows.push(['Result dropped, never decoded', when(e.time)])
        break
      case 'sealed':
        rows.push(['Sealed', `${when(e.time)}, ${SEALED_WORDS[e.data.by]}`])
        break
      case 'unseal_started':
        rows.push(['Operation', 'Unseal'], ['Nonce', e.data.nonce])
        break
      case 'unsealed':
        rows.push(['Unsealed', when(e.time)])
        break
      case 'rekey_started':
        rows.push(['Operation', 'Rekey'], ['Nonce', e.data.nonce], ['New shares', `${e.data.threshold} of ${e.data.shares}, ${VERIFY_WORDS[e.data.verification]}`])
        break
      case 'new_share_verified': {
        const h = holder(e.data.holder ?? `Holder of new share ${e.data.share_number}`)
        h.accepted++
        break
      }
      case 'rekey_completed': {
        const d = e.data as Extract<RecordEvent, { type: 'rekey_completed' }>['data']
        if ('check_file' in d) rows.push(['Server check file', CHECK_FILE_WORDS[d.check_file](d.check_generation)], ['Completed', when(e.time)])
        else rows.push(['New keyset fingerprint', groupHash(d.keyset_fingerprint)], ['Generation', String(d.generation)], ['Completed', when(e.time)])
        break
      }
      case 'rekey_cancelled':
        rows.push(['Cancelled', when(e.time)])
        break
      case 'rekey_not_followed':
        rows.push(['Not seen to end', when(e.time)])
        break
      case 'rekey_shares_issued':
      case 'rekey_verification_restarted':
        break
      case 'unseal_nodes':
        rows.push(['Operation', 'Unseal'], ['Nodes', e.data.nodes.map((n) => `${n.node}: ${n.server}`).join('; ')])
        break
      case 'unseal_share': {
        // One share went to several nodes: it counts once, accepted where any node took it.
        const h = holder(e.data.holder)
        if (e.data.share_number) h.shares.add(e.data.share_number)
        if (e.data.results.some((r) => r.outcome === 'accepted' || r.outcome === 'unsealed')) h.accepted++
        else h.refused++
        break
      }
      case 'unseal_reset':
      case 'check_file_settled':
        break
      case 'unseal_ended':
        rows.push(['Unseal ended', `${when(e.time)}; ${perNode(e.data.nodes, (r) => r.state)}`])
        break
      case 'wiped':
      case 'closed':
      case 'progress_reset':
      case 'refusals_summarized':
        break
    }
  }
  const last = lines.at(-1)
  if (last) rows.push(['Last event', when(last.time)])
  return {
    rows,
    holders: [...holders].map(([name, h]) => ({ name, shares: [...h.shares].sort((a, b) => a - b).join(', ') || '—', outcome: outcome(h) })),
  }
}

/** What a record printed before its closing line says instead of a place to sign. */
const NOT_CLOSED = `<p class="unclosed">NOT CLOSED: the ceremony was still running, or its process stopped, when this was printed
<small>This record has no closing line, so it may not be complete. It is not for signing: print it again once the ceremony has ended and its record is closed.</small></p>`

/**
 * Renders the record of a verified chain. `problem` is set when the chain is
 * broken and the operator asked for its valid part printed anyway. Only a
 * record that verifies and ends with its closing line gets signature lines.
 */
export function printRecord(lines: VerifiedLine[], finalHash: string, opts: { problem?: string } = {}): string {
  const facts = gather(lines)
  const closed = lines.at(-1)?.type === 'closed'
  const signable = closed && !opts.problem
  const signer = (role: string) =>
    `<tr><th colspan="3">${esc(role)}</th></tr><tr><td>Name</td><td>Signature</td><td>Date</td></tr>`
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Key ceremony record</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Key ceremony record</h1>
<p class="sub">Printed from a Tessera record of ${lines.length} events.${signable ? ' Check the final hash against <span class="mono">tessera record verify</span> before signing.' : ''}</p>
${opts.problem ? `<p class="broken">This record does not verify: ${esc(opts.problem)}. Only the events before the damage are shown; the hash below is theirs.</p>` : ''}
${closed ? '' : NOT_CLOSED}
<section class="final">
<div>Final hash (SHA-256 of the last line)</div>
<div class="hash">${esc(groupHash(finalHash))}</div>
</section>
<h2>Ceremony</h2>
<table class="facts"><tbody>
${facts.rows.map(([k, val]) => `<tr><th>${esc(k)}</th><td class="${/SHA|fingerprint|Nonce/.test(k) ? 'mono' : ''}">${esc(val)}</td></tr>`).join('\n')}
</tbody></table>
<h2>Key holders</h2>
<table class="holders"><thead><tr><th>Holder</th><th>Share number</th><th>Shares</th></tr></thead><tbody>
${facts.holders.map((h) => `<tr><td>${esc(h.name)}</td><td>${esc(h.shares)}</td><td>${esc(h.outcome)}</td></tr>`).join('\n') || '<tr><td colspan="3">No holder recorded</td></tr>'}
</tbody></table>
<h2>Events</h2>
<table class="events"><colgroup><col class="seq"><col class="time"><col class="type"><col></colgroup><thead><tr><th>#</th><th>Time (UTC)</th><th>Event</th><th>Details</th></tr></thead><tbody>
${lines.map((e) => `<tr><td>${e.seq}</td><td class="mono">${esc(e.time.slice(0, 10))}<br>${esc(e.time.slice(11, 23))}</td><td class="type">${esc(e.type)}</td><td>${esc(describe(e))}</td></tr>`).join('\n')}
</tbody></table>
${signable ? `<section class="signatures">
<h2>Signatures</h2>
<p>We witnessed this ceremony and checked that the record verifies to this final hash:</p>
<p class="mono"><strong>${esc(groupHash(finalHash))}</strong></p>
<table><tbody>
${signer('Ceremony lead')}
${signer('Witness')}
${signer('Witness')}
</tbody></table>
</section>` : closed ? '' : NOT_CLOSED}
</body>
</html>
`
}
