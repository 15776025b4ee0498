import { join } from 'node:path'
import * as v from 'valibot'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LocalEngine } from '../src-main/engine/local-engine'
import { cardLines } from '../src-main/engine/share-card'
import { HolderName } from '../src-main/engine/holders'
import { createRouter, type Dispatch } from '../src-main/ipc/router'
import { handlersFor } from '../src-main/ipc/handlers'
import { Session } from '../src-main/session/session'
import { looksLikeSecret } from '../src-main/support/secret-shape'
import { lineHash } from '../src-main/record/chain'
import { printRecord } from '../src-main/record/printed'
import { verifyRecord } from '../src-main/record/verify'
import { RecordWriter } from '../src-main/record/writer'
import { runCli } from './helpers/cli'
import { ipcCalls } from './helpers/ipc'
import { makeKeyset, tempDir } from './helpers/keysets'
import { filesUnder, leaks, secret, type Secret } from './helpers/secret-forms'
import { FACTS } from './helpers/records'

/** Every way Tessera shows a secret, and the separators a holder might type between its groups. */
function displayedForms(value: string): string[] {
  const groups = value.match(/.{1,4}/g)!
  const lines = cardLines(value)
  return [
    value,
    groups.join(' '),
    groups.join('-'),
    groups.join('.'),
    groups.join(':'),
    groups.join('  '),
    // Four groups a line, as the screens lay a long value out.
    Array.from({ length: Math.ceil(groups.length / 4) }, (_, i) => groups.slice(i * 4, i * 4 + 4).join(' ')).join('\n'),
    lines.join('\n'),
    lines.join(' '),
    lines.map((l) => l.replace(/^\s*\d+:\s*/, '')).join('\n'),
    // One card line alone: the part of the share it carries, with its number and check.
    lines[0]!,
  ]
}

let dir: string
let cleanup: () => Promise<void>
let dispatch: Dispatch
const { call, refusal } = ipcCalls(() => dispatch)

describe('a secret typed where a name goes', () => {
  const values: Array<{ label: string; value: string }> = []
  let nonce = ''

  beforeAll(async () => {
    ;({ dir, cleanup } = await tempDir('tessera-secret-forms-'))
    dispatch = createRouter(handlersFor(new Session({ configDir: join(dir, 'config') })))
    // A full ceremony: an init with its hand-out, a root token, a new share.
    const path = join(dir, 'keyset.json')
    await call('backend.initKeyset', { path, shares: 3, threshold: 2, holders: ['Alice', 'Bob', 'Carol'] })
    const shares = [await call('handout.revealShare', { index: 0 }), await call('handout.revealShare', { index: 1 }), await call('handout.revealShare', { index: 2 })]
    const initial = await call('handout.revealRootToken')
    await call('handout.finish')
    for (const [i, s] of shares.entries()) values.push({ label: `share ${i + 1}`, value: s.key }, { label: `share ${i + 1} base64`, value: s.key_base64 })
    values.push({ label: 'initial root token', value: initial.value })

    await call('backend.openKeyset', { path })
    const root = await call('attempt.start', { flow: 'root' })
    await call('attempt.update', { flow: 'root', key: shares[0].key, nonce: root.nonce, holder: 'Alice' })
    const done = await call('attempt.update', { flow: 'root', key: shares[1].key, nonce: root.nonce, holder: 'Bob' })
    const token = await call('decode.held', { flow: 'root', encoded: done.encoded_token })
    values.push({ label: 'encoded root token', value: done.encoded_token }, { label: 'new root token', value: token.value })
    await call('session.wipe')

    const share = await call('attempt.start', { flow: 'share' })
    await call('attempt.update', { flow: 'share', key: shares[0].key, nonce: share.nonce, holder: 'Alice' })
    await call('attempt.update', { flow: 'share', key: shares[2].key, nonce: share.nonce, holder: 'Carol' })
    const fresh = await call('result.revealShare')
    values.push({ label: 'new share', value: fresh.key }, { label: 'new share base64', value: fresh.key_base64 })
    await call('session.wipe')

    // The app keeps a start's OTP to itself; a server's start hands it out.
    const other = await makeKeyset(dir, { shares: 3, threshold: 2 })
    const engine = await LocalEngine.open(other.path)
    const started = await engine.start('root', {})
    values.push({ label: 'OTP', value: started.otp!.toString('ascii') })
    await engine.close()

    nonce = (await call('attempt.start', { flow: 'root' })).nonce
  }, 120_000)
  afterAll(() => cleanup())

  it('is refused in every displayed form, by every entry that takes a name and by the record, and reaches no file', async () => {
    const secrets: Secret[] = values.map((s) => secret(s.label, s.value))
    const writer = await RecordWriter.create(join(dir, 'config', 'records', 'fields.jsonl'), FACTS)
    const tried: string[] = []
    for (const { label, value } of values) {
      for (const [f, form] of displayedForms(value).entries()) {
        const where = `${label}, form ${f + 1}`
        tried.push(where)
        // The name rule, the one every entry applies.
        expect(v.safeParse(HolderName, form).success, where).toBe(false)
        // The app's and the web host's channels.
        for (const [channel, input] of [
          ['attempt.confirmNonce', { flow: 'root', nonce, holder: form }],
          ['attempt.update', { flow: 'root', key: values[0]!.value, nonce, holder: form }],
          ['backend.initKeyset', { path: join(dir, 'never.json'), shares: 2, threshold: 2, holders: ['Dana', form] }],
        ] as const) {
          const err = await refusal(channel, input)
          expect(err.code, `${where} via ${channel}`).toBe('invalid_input')
          expect(err.message, `${where} via ${channel}`).toMatch(/^(holder|Holder name 2) (must|looks like)/)
        }
        // Every text field the record takes.
        const fields: Array<() => Promise<unknown>> = [
          () => writer.append({ type: 'nonce_confirmed', data: { holder: form, nonce } }),
          () => writer.append({ type: 'share_accepted', data: { holder: form, progress: 1, required: 2 } }),
          () => writer.append({ type: 'share_refused', data: { holder: form, reason: 'wrong_nonce' } }),
          () => writer.append({ type: 'share_handed_out', data: { share_number: 1, holder: form, how: 'revealed' } }),
          () => writer.append({ type: 'keyset_created', data: { keyset_fingerprint: lineHash('k'), scheme: 'vault', shares: 2, threshold: 2, holders: ['Dana', form] } }),
          () => RecordWriter.create(join(dir, 'config', 'records', `server-${tried.length}.jsonl`), { backend: 'remote', server: `https://vault.example.com/${form}`, threshold: 2, recovery_mode: false }),
          () => RecordWriter.create(join(dir, 'config', 'records', `version-${tried.length}.jsonl`), { backend: 'remote', server: 'https://vault.example.com', server_version: form.slice(0, 80), threshold: 2, recovery_mode: false }),
        ]
        for (const [i, write] of fields.entries()) {
          await expect(write(), `${where}, field ${i + 1}`).rejects.toMatchObject({ code: 'record_secret' })
        }
      }
    }
    expect(tried.length).toBeGreaterThan(100)
    await writer.close()

    // The CLI takes names too.
    const cli = await runCli(['init', '--keyset', join(dir, 'cli.json'), '--shares', '2', '--threshold', '2', '--holders', `Dana,${displayedForms(values.find((s) => s.label === 'OTP')!.value)[1]}`])
    expect(cli.code).toBe(2)
    expect(cli.stderr).toContain('holder name 2 looks like a share, token, OTP or key, not a name')

    // Nothing anywhere: the records, the printed form of each, the holder log.
    await call('attempt.cancel', { flow: 'root' })
    const files = await filesUnder(join(dir, 'config'))
    const printed = files.filter((f) => f.name.endsWith('.jsonl')).map((f) => {
      const r = verifyRecord(f.content.toString('utf8'))
      const chain = r.ok ? r : r.prefix
      return { name: `printed ${f.name}`, content: printRecord(chain.lines, chain.finalHash) }
    })
    expect(printed.length).toBeGreaterThan(3)
    const state = await call('session.state')
    expect(leaks(secrets, [...files, ...printed, { name: 'holder log', content: JSON.stringify(state.log) }, { name: 'cli', content: cli.stdout + cli.stderr }])).toEqual([])
  }, 300_000)

  it('every channel that takes a name refuses one outside the rule with the rule\'s sentence, never the name', async () => {
    const rule = "must be letters, digits, spaces and . ' ( ) _ @ -, starting with a letter or digit"
    for (const [name, why] of [['<b>Eve</b>', rule], [' Eve', rule], ['Eve\nMallory', rule], ['Eve'.repeat(21) + 'ee', 'must be at most 64 characters'], ['', 'must not be empty']]) {
      for (const [channel, input] of [
        ['attempt.confirmNonce', { flow: 'root', nonce, holder: name }],
        ['attempt.update', { flow: 'root', key: values[0]!.value, nonce, holder: name }],
      ] as const) {
        expect(await refusal(channel, input), `${JSON.stringify(name)} via ${channel}`).toEqual({ code: 'invalid_input', message: `holder ${why}` })
      }
      const init = await refusal('backend.initKeyset', { path: join(dir, 'never.json'), shares: 2, threshold: 2, holders: ['Dana', name] })
      expect(init, JSON.stringify(name)).toEqual({ code: 'invalid_input', message: `Holder name 2 ${why}.` })
    }
  })

  it('lets real names through', () => {
    for (const name of [
      'Alice Martin', 'Chloé Dubois', "Anne-Marie O'Neil (NOC 2)", 'Jean-Pierre MacDonald-Featherstonehaugh', 'Site 3 Operations Manager',
      'SRE Platform Team Lead EMEA', 'Vault Admin Backup 01 DC2', 'alice.smith2024@example.com', 'Dr. Maria de los Angeles Garcia', 'Li Bo Wu Xi Yu Ma',
    ]) {
      expect(v.safeParse(HolderName, name).success, name).toBe(true)
    }
    for (const address of ['https://vault-01.prod-eu2.example.com:8200', 'https://[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:8200', '1.15.2+ent.hsm', 'v2.6.0-beta1']) {
      expect(looksLikeSecret(address), address).toBe(false)
    }
  })
})
