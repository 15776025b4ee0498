import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFile, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { ProfileStore } from '../src-main/profiles/profile-store'
import { Connections } from '../src-main/profiles/connections'
import { SessionCredentials } from '../src-main/profiles/credentials'
import { createRouter } from '../src-main/ipc/router'
import { handlersFor } from '../src-main/ipc/handlers'
import type { Dispatch } from '../src-main/ipc/router'
import { Session } from '../src-main/session/session'
import { verifyRecord } from '../src-main/record/verify'
import { listen } from '../src-main/server/listen'
import { makeKeyset, tempDir, type TestKeyset } from './helpers/keysets'
import { runCli, startServe, type ServeProcess } from './helpers/cli'
import { ipcCalls } from './helpers/ipc'

/**
 * The unseal of a cluster from the app's main side, over real loopback HTTP
 * against real `tessera serve --sealed` processes: one share typed once goes
 * to every node still sealed, each node's outcome comes back on its own line,
 * and one record tells the whole ceremony.
 */

let tmp: Awaited<ReturnType<typeof tempDir>>
let ks: TestKeyset
let foreign: TestKeyset
const servers: ServeProcess[] = []
let dispatch: Dispatch
const { call, refusal } = ipcCalls(() => dispatch)

beforeAll(async () => {
  tmp = await tempDir('tessera-unseal-cluster-')
  ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2, holders: ['Alice', 'Bob', 'Carol'] })
  foreign = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
})
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()))
  await tmp.cleanup()
})

async function serveSealed(keyset: TestKeyset): Promise<ServeProcess> {
  const s = await startServe(['--keyset', keyset.path, '--sealed'])
  servers.push(s)
  return s
}

/** A window's services with their own profiles and records folder. */
async function window(name: string): Promise<string> {
  const config = join(tmp.dir, name)
  const connections = new Connections(await ProfileStore.open(join(config, 'profiles.json')), new SessionCredentials())
  dispatch = createRouter(handlersFor(new Session({ configDir: config, connections })))
  return config
}

const outcomes = (view: { nodes: Array<{ last: { outcome: string } | null }> }) => view.nodes.map((n) => n.last?.outcome ?? null)

describe('a profile lists the nodes of its cluster', () => {
  it('saves them, refuses one listed twice or one that is no address, naming the node, and loads a profile file without them', async () => {
    const config = await window('profiles')
    const saved = await call('profiles.save', { profile: { name: 'Cluster', address: 'https://vault-1.example:8200', nodes: ['https://vault-2.example:8200', 'https://vault-3.example'] } })
    expect(saved.nodes).toEqual(['https://vault-2.example:8200', 'https://vault-3.example'])
    expect(JSON.parse(await readFile(join(config, 'profiles.json'), 'utf8')).profiles[0].nodes).toHaveLength(2)

    const twice = await refusal('profiles.save', { profile: { name: 'x', address: 'https://vault-1.example:8200', nodes: ['https://VAULT-1.example:8200/'] } })
    expect(twice).toEqual({ code: 'profile', message: "Cluster node 1 is the profile's own address again (vault-1.example:8200): list each node once." })
    const again = await refusal('profiles.save', { profile: { name: 'x', address: 'https://a.example', nodes: ['https://b.example:443', 'https://b.example'] } })
    expect(again.message).toBe('Cluster node 2 is cluster node 1 again (b.example): list each node once.')
    const plain = await refusal('profiles.save', { profile: { name: 'x', address: 'https://a.example', nodes: ['http://b.example:8200'] } })
    expect(plain.code).toBe('insecure_http')
    const bad = await refusal('profiles.save', { profile: { name: 'x', address: 'https://a.example', nodes: ['https://b.example', 'not an address'] } })
    expect(bad.message).toBe('Cluster node 2 holds a space, line break or control character: type it again.')
    const many = Array.from({ length: 16 }, (_, i) => `https://n${i}.example`)
    expect((await refusal('profiles.save', { profile: { name: 'x', address: 'https://a.example', nodes: many } })).message).toMatch(/nodes must list at most 15 nodes/)
    const long = await refusal('profiles.save', { profile: { name: 'x', address: 'https://a.example', nodes: [`https://${'a'.repeat(2100)}.example`] } })
    expect(long.code).toBe('invalid_input')

    // A file written before nodes existed still loads.
    const old = { tessera_profiles: 1, profiles: [{ id: 'old', name: 'Old', address: 'https://old.example:8200', allowInsecureHttp: false, skipVerify: false }] }
    await writeFile(join(config, 'profiles.json'), JSON.stringify(old))
    expect((await call('profiles.list')).profiles.map((p: { name: string }) => p.name)).toEqual(['Old'])
  })
})

describe('the unseal of a cluster', () => {
  let nodes: ServeProcess[]
  let other: ServeProcess

  beforeAll(async () => {
    nodes = await Promise.all([serveSealed(ks), serveSealed(ks), serveSealed(ks)])
    other = await serveSealed(foreign)
    await window('cluster')
    const profile = await call('profiles.save', { profile: { name: 'Cluster', address: nodes[0]!.url, nodes: [nodes[1]!.url, nodes[2]!.url, other.url] } })
    const info = await call('backend.connectRemote', { id: profile.id })
    // A sealed server offers no flow: each would fail with 503.
    expect(info.seal).toMatchObject({ sealed: true, recovery_mode: false, flows: [] })
  })

  it('shows each node, sends a share once to every sealed node, names the one that refuses and the one that fails, and records it all', async () => {
    const first = await call('unseal.status')
    expect(first.nodes.map((n: { address: string }) => n.address)).toEqual([...nodes, other].map((s) => s.url))
    expect(first.nodes.map((n: { seal: object }) => n.seal)).toEqual([1, 2, 3, 4].map(() => expect.objectContaining({ sealed: true, t: 2, n: 3, progress: 0, nonce: '' })))
    expect(first).toMatchObject({ unsealed: false, running: false, log: [] })

    const alice = await call('unseal.submit', { holder: 'Alice', key: ks.keys[0] })
    expect(outcomes(alice)).toEqual(['accepted', 'accepted', 'accepted', 'refused'])
    expect(alice.nodes.slice(0, 3).map((n: { seal: { progress: number } }) => n.seal.progress)).toEqual([1, 1, 1])
    expect(alice.nodes[0].seal.nonce).toMatch(/^[0-9a-f-]{36}$/)
    expect(alice.nodes[0].last.message).toBe(`Node 1 (${nodes[0]!.url}) accepted the share: 1 of 2 given.`)
    expect(alice.nodes[3].last.message).toMatch(new RegExp(`^Node 4 \\(${other.url.replace(/\./g, '\\.')}\\) refused the share: .+ Server said: `))
    expect(alice.running).toBe(true)

    // The same share again: each node keeps its progress and says so.
    const twice = await call('unseal.submit', { holder: 'Alice', key: ks.keys_base64[0] })
    expect(outcomes(twice)).toEqual(['refused', 'refused', 'refused', 'refused'])
    expect(twice.nodes[1].last.message).toBe(`Node 2 (${nodes[1]!.url}) already holds this share: its progress stays at 1 of 2.`)

    // A second press while the first share is on its way is refused; the first goes through.
    const [one, two] = await Promise.all([
      dispatch('unseal.submit', { holder: 'Bob', key: ks.keys[1] }),
      dispatch('unseal.submit', { holder: 'Bob', key: ks.keys[1] }),
    ])
    expect([one.ok, two.ok].sort()).toEqual([false, true])
    const busy = (one.ok ? two : one) as { ok: false; error: { code: string; message: string } }
    expect(busy.error).toEqual({ code: 'unseal_busy', message: 'A share is still on its way to the nodes: wait for what each node made of it.' })
    const bob = (one.ok ? one : two) as { ok: true; value: any }
    // What goes back to the page names nodes and outcomes, never the share.
    for (const form of [ks.keys[1]!, ks.keys[1]!.slice(0, 24)]) expect(JSON.stringify(bob.value)).not.toContain(form)
    expect(outcomes(bob.value)).toEqual(['unsealed', 'unsealed', 'unsealed', 'refused'])
    expect(bob.value.unsealed).toBe(false)
    expect(bob.value.nodes.slice(0, 3).map((n: { seal: { sealed: boolean } }) => n.seal.sealed)).toEqual([false, false, false])

    // The foreign node's progress is reset on its own; unsealed nodes are not sent a share.
    const reset = await call('unseal.reset', { node: 4 })
    expect(reset.nodes[3].last).toEqual({ holder: null, outcome: 'reset', message: `Node 4 (${other.url}) dropped the shares given toward its unseal.` })
    const carol = await call('unseal.submit', { holder: 'Carol', key: ks.keys[2] })
    expect(outcomes(carol)).toEqual(['already_unsealed', 'already_unsealed', 'already_unsealed', 'refused'])

    const done = await call('unseal.finish')
    expect(done.running).toBe(false)
    const path = (await call('session.state')).record.path as string
    const text = await readFile(path, 'utf8')
    for (const key of [...ks.keys, ...ks.keys_base64]) expect(text).not.toContain(key)
    const v = verifyRecord(text)
    if (!v.ok) throw new Error(v.problem)
    expect(v.lines.map((l) => l.type)).toEqual(['backend_opened', 'unseal_nodes', 'unseal_share', 'unseal_share', 'unseal_share', 'unseal_reset', 'unseal_share', 'unseal_ended', 'closed'])
    expect(v.lines[0]!.data).toMatchObject({ backend: 'remote', server: nodes[0]!.url, threshold: 2, shares: 3 })
    expect(v.lines[1]!.data).toEqual({ nodes: [...nodes, other].map((s, i) => ({ node: i + 1, server: s.url })) })
    expect(v.lines[2]!.data).toEqual({
      holder: 'Alice',
      results: [
        { node: 1, outcome: 'accepted', progress: 1 },
        { node: 2, outcome: 'accepted', progress: 1 },
        { node: 3, outcome: 'accepted', progress: 1 },
        { node: 4, outcome: 'refused', reason: expect.any(String) },
      ],
    })
    expect(v.lines[3]!.data).toMatchObject({ results: [1, 2, 3].map((node) => ({ node, outcome: 'refused', reason: 'duplicate_key', progress: 1 })).concat([{ node: 4, outcome: 'refused', reason: 'server_refused' }] as never) })
    expect(v.lines[5]!.data).toEqual({ results: [{ node: 4, outcome: 'reset' }] })
    expect(v.lines[7]!.data).toEqual({ nodes: [{ node: 1, state: 'unsealed' }, { node: 2, state: 'unsealed' }, { node: 3, state: 'unsealed' }, { node: 4, state: 'sealed' }] })
    expect((await runCli(['record', 'verify', path])).stdout).toBe(`9 events, final hash ${v.finalHash}\n`)
    const printed = (await call('record.printable')).html as string
    expect(printed).toContain(`node 1 ${nodes[0]!.url}`)
    expect(printed).toContain('Alice: node 1 accepted (1), node 2 accepted (1), node 3 accepted (1), node 4 refused')
    expect(printed).toContain('Unseal ended: node 1 unsealed, node 2 unsealed, node 3 unsealed, node 4 sealed')
    expect(printed).toContain('We witnessed this ceremony')

    // Unsealed, the server offers its flows again.
    expect((await call('backend.describe')).seal).toMatchObject({ sealed: false, flows: ['root', 'share'] })
  })
})

describe('a node that stops mid-ceremony', () => {
  it('fails with its reason while the others go on, and the record ends when every node is unsealed', async () => {
    const nodes = await Promise.all([serveSealed(ks), serveSealed(ks), serveSealed(ks)])
    await window('stopping')
    const profile = await call('profiles.save', { profile: { name: 'Three', address: nodes[0]!.url, nodes: [nodes[1]!.url, nodes[2]!.url], timeoutSeconds: 5 } })
    await call('backend.connectRemote', { id: profile.id })
    expect(outcomes(await call('unseal.submit', { holder: 'Alice', key: ks.keys[0] }))).toEqual(['accepted', 'accepted', 'accepted'])
    await nodes[2]!.stop()
    const bob = await call('unseal.submit', { holder: 'Bob', key: ks.keys[1] })
    expect(outcomes(bob)).toEqual(['unsealed', 'unsealed', 'failed'])
    expect(bob.nodes[2].last.message).toMatch(new RegExp(`^Node 3 \\(${nodes[2]!.url.replace(/\./g, '\\.')}\\) could not be read, so the share was not sent to it: Cannot reach 127\\.0\\.0\\.1:\\d+: connection refused`))
    expect(bob.nodes[2]).toMatchObject({ seal: null, error: expect.stringMatching(/^Node 3 .* could not be read: Cannot reach/) })
    expect(bob.log.map((e: { operator: string; ok: boolean }) => [e.operator, e.ok])).toEqual([
      ['Alice', true], ['Alice', true], ['Alice', true], ['Bob', true], ['Bob', true], ['Bob', false],
    ])

    // Node 3 comes back sealed (a restart seals it): Carol's share and Alice's again unseal it.
    const port = new URL(nodes[2]!.url).port
    servers.push(await startServe(['--keyset', ks.path, '--sealed', '--port', port]).catch(async () => startServe(['--keyset', ks.path, '--sealed', '--port', port])))
    expect(outcomes(await call('unseal.submit', { holder: 'Carol', key: ks.keys[2] }))).toEqual(['already_unsealed', 'already_unsealed', 'accepted'])
    const last = await call('unseal.submit', { holder: 'Alice', key: ks.keys[0] })
    expect(last).toMatchObject({ unsealed: true, running: false })
    const v = verifyRecord(await readFile((await call('session.state')).record.path, 'utf8'))
    if (!v.ok) throw new Error(v.problem)
    expect(v.closed).toBe(true)
    expect(v.lines.at(-2)!.data).toEqual({ nodes: [1, 2, 3].map((node) => ({ node, state: 'unsealed' })) })
    expect(v.lines[3]!.data).toEqual({ holder: 'Bob', results: [{ node: 1, outcome: 'unsealed' }, { node: 2, outcome: 'unsealed' }, { node: 3, outcome: 'failed', reason: 'unreachable' }] })
  })
})

describe('an unseal beside an attempt', () => {
  it('shows the record opened last while both are open', async () => {
    // Node 1 runs unsealed, node 2 sealed: an attempt may run on node 1 while node 2 is unsealed.
    const active = await startServe(['--keyset', ks.path])
    servers.push(active)
    const sealed = await serveSealed(ks)
    await window('beside')
    const profile = await call('profiles.save', { profile: { name: 'Half', address: active.url, nodes: [sealed.url] } })
    await call('backend.connectRemote', { id: profile.id })
    await call('unseal.submit', { holder: 'Alice', key: ks.keys[0] })
    const unsealRecord = (await call('session.state')).record
    expect(unsealRecord).toMatchObject({ open: true, path: expect.stringMatching(/-unseal-[0-9a-f-]+\.jsonl$/) })
    const start = await call('attempt.start', { flow: 'root' })
    expect((await call('session.state')).record.path).toMatch(new RegExp(`${start.nonce}\\.jsonl$`))
    await call('unseal.submit', { holder: 'Bob', key: ks.keys[1] })
    // The unseal ended (every node unsealed): the attempt's record is the one being written again.
    expect((await call('session.state')).record.path).toMatch(new RegExp(`${start.nonce}\\.jsonl$`))
    await call('attempt.cancel', { flow: 'root' })
  })
})

describe('nodes that hang or lie', () => {
  it('each fail within their own deadline, named, while the others go on', async () => {
    const [good] = await Promise.all([serveSealed(ks)])
    // One node takes connections and never answers; another answers seal status as Vault, and sys/unseal with nonsense.
    const hang = createServer(() => undefined)
    const liar = createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify(req.url === '/v1/sys/seal-status' ? { type: 'shamir', initialized: true, sealed: true, t: 2, n: 3, progress: 0, nonce: '' } : { sealed: 'yes' }))
    })
    const ports = [(await listen(hang, '127.0.0.1', 0)).port, (await listen(liar, '127.0.0.1', 0)).port]
    try {
      await window('hostile')
      const nodeUrls = ports.map((p) => `http://127.0.0.1:${p}`)
      const profile = await call('profiles.save', { profile: { name: 'Odd', address: good!.url, nodes: nodeUrls, timeoutSeconds: 1 } })
      await call('backend.connectRemote', { id: profile.id })
      // The page reads the nodes before a holder can type.
      expect((await call('unseal.status')).nodes.map((n: { seal: object | null }) => n.seal !== null)).toEqual([true, false, true])
      const began = Date.now()
      const alice = await call('unseal.submit', { holder: 'Alice', key: ks.keys[0] })
      // One deadline for the node that hangs: its status read fails, and it is not asked again.
      expect(Date.now() - began).toBeLessThan(1900)
      expect(outcomes(alice)).toEqual(['accepted', 'failed', 'failed'])
      expect(alice.nodes[1].last.message).toBe(`Node 2 (${nodeUrls[0]}) could not be read, so the share was not sent to it: 127.0.0.1:${ports[0]} did not answer within 1 s.`)
      expect(alice.nodes[2].last.message).toBe(`Node 3 (${nodeUrls[1]}) failed: The server's reply to PUT sys/unseal is not what Vault sends: initialized: missing.`)
      // Leaving while a share is on its way is refused: the share's outcomes still go to the record.
      const pending = dispatch('unseal.submit', { holder: 'Bob', key: ks.keys[1] })
      expect((await refusal('unseal.finish')).code).toBe('unseal_busy')
      expect(await pending).toMatchObject({ ok: true })
      expect((await call('unseal.finish')).running).toBe(false)
      const v = verifyRecord(await readFile((await call('session.state')).record.path, 'utf8'))
      expect(v.ok && v.lines.map((l) => l.type)).toEqual(['backend_opened', 'unseal_nodes', 'unseal_share', 'unseal_share', 'unseal_ended', 'closed'])
      expect(v.ok && v.lines[2]!.data).toMatchObject({ results: [{ node: 1, outcome: 'accepted' }, { node: 2, outcome: 'failed', reason: 'timeout' }, { node: 3, outcome: 'failed', reason: 'bad_reply' }] })
    } finally {
      hang.closeAllConnections()
      hang.close()
      liar.close()
    }
  })
})

describe('a local keyset', () => {
  it('has no seal: unseal is refused with a sentence; opening it mid-unseal ends the unseal\'s record', async () => {
    const nodes = await Promise.all([serveSealed(ks), serveSealed(ks)])
    await window('local')
    const profile = await call('profiles.save', { profile: { name: 'Two', address: nodes[0]!.url, nodes: [nodes[1]!.url] } })
    await call('backend.connectRemote', { id: profile.id })
    expect(outcomes(await call('unseal.submit', { holder: 'Alice', key: ks.keys[0] }))).toEqual(['accepted', 'accepted'])
    const path = (await call('session.state')).record.path as string
    await call('backend.openKeyset', { path: ks.path })
    const v = verifyRecord(await readFile(path, 'utf8'))
    if (!v.ok) throw new Error(v.problem)
    expect(v.closed).toBe(true)
    expect(v.lines.at(-2)!.data).toEqual({ nodes: [{ node: 1, state: 'sealed' }, { node: 2, state: 'sealed' }] })

    expect(await refusal('unseal.status')).toEqual({ code: 'no_seal', message: 'Unseal is for a server: a local keyset has no seal; connect to the server through its profile.' })
    expect((await refusal('unseal.submit', { holder: 'Alice', key: ks.keys[0] })).code).toBe('no_seal')
  })
})
