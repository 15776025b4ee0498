import { describe, expect, it } from 'vitest'
import { ESLint } from 'eslint'
import { join } from 'node:path'

// The process boundaries are lint rules (eslint.config.js). These cases prove
// each rule fires where it must and stays quiet where an import is allowed, by
// linting small sources as if they sat in each room.
const eslint = new ESLint({ cwd: join(import.meta.dirname, '..') })

async function problems(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: join(import.meta.dirname, '..', file) })
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`)
}

const restricted = (found: string[]) => found.filter((m) => /restricted-imports/.test(m))

describe('process boundaries, as lint rules', () => {
  it('the renderer imports only the channel list, and only its types', async () => {
    const list = '../../../src-main/ipc/channels'
    expect(restricted(await problems('src-renderer/src/lib/x.ts', `import type { Flow } from '${list}'\nexport type F = Flow\n`))).toEqual([])
    expect(restricted(await problems('src-renderer/src/components/X.svelte', `<script lang="ts">\n  import type { Flow } from '${list}'\n  let f: Flow = 'root'\n  f = f\n</script>\n`))).toEqual([])
    expect(restricted(await problems('src-renderer/src/lib/x.ts', `import { CHANNELS } from '${list}'\nexport const c = CHANNELS\n`))).not.toEqual([])
    expect(restricted(await problems('src-renderer/src/components/X.svelte', `<script lang="ts">\n  import { CHANNELS } from '${list}'\n  console.info(CHANNELS)\n</script>\n`))).not.toEqual([])
    // Types too come only through the list, not from a room's own modules.
    expect(restricted(await problems('src-renderer/src/lib/x.ts', "import type { SessionState } from '../../../src-main/session/views'\nexport type S = SessionState\n"))).not.toEqual([])
    expect(restricted(await problems('src-renderer/src/lib/x.ts', "import { wipe } from '../../../src-main/crypto/wipe'\nexport const w = wipe\n"))).not.toEqual([])
    for (const mod of ['openpgp', 'keytar', 'valibot', 'electron', 'node:crypto', 'shamir-secret-sharing']) {
      expect(restricted(await problems('src-renderer/src/lib/x.ts', `import * as m from '${mod}'\nexport const x = m\n`)), mod).not.toEqual([])
    }
  })

  it('the share grammar is shared: both sides import it, and it imports nothing', async () => {
    expect(restricted(await problems('src-renderer/src/lib/x.ts', "import { checkForm } from '../../../src-shared/share-grammar'\nexport const c = checkForm\n"))).toEqual([])
    expect(restricted(await problems('src-main/engine/x.ts', "import { readTyped } from '../../src-shared/share-grammar'\nexport const r = readTyped\n"))).toEqual([])
    expect(restricted(await problems('src-shared/x.ts', "import { SCHEMES } from './share-grammar'\nexport const s = SCHEMES\n"))).toEqual([])
    for (const mod of ['node:crypto', 'valibot', '../src-main/engine/keyset', '../src-renderer/src/lib/api']) {
      expect(restricted(await problems('src-shared/x.ts', `import * as m from '${mod}'\nexport const x = m\n`)), mod).not.toEqual([])
    }
  })

  it('the holder-name rule is shared too, and the renderer takes nothing else from src-shared', async () => {
    expect(restricted(await problems('src-renderer/src/components/X.svelte', "<script lang=\"ts\">\n  import { holderNameProblem } from '../../../src-shared/holder-name'\n  console.info(holderNameProblem)\n</script>\n"))).toEqual([])
    expect(restricted(await problems('src-main/engine/x.ts', "import { holderNameProblem } from '../../src-shared/holder-name'\nexport const h = holderNameProblem\n"))).toEqual([])
    expect(restricted(await problems('src-renderer/src/lib/x.ts', "import { x } from '../../../src-shared/other'\nexport const y = x\n"))).not.toEqual([])
  })

  it('components and the App reach main through the Ceremony, never the api singleton', async () => {
    const svelte = (from: string) => `<script lang="ts">\n  import { api } from '${from}'\n  console.info(api)\n</script>\n`
    expect(restricted(await problems('src-renderer/src/components/X.svelte', svelte('../lib/api')))).not.toEqual([])
    expect(restricted(await problems('src-renderer/src/App.svelte', svelte('./lib/api')))).not.toEqual([])
    // The page's entry builds the Ceremony from it, and the lib modules may use it.
    expect(restricted(await problems('src-renderer/src/main.ts', "import { api } from './lib/api'\nexport const a = api\n"))).toEqual([])
    expect(restricted(await problems('src-renderer/src/lib/x.ts', "import { api } from './api'\nexport const a = api\n"))).toEqual([])
    // Its error helpers are not the singleton.
    expect(restricted(await problems('src-renderer/src/components/X.svelte', "<script lang=\"ts\">\n  import { shownError } from '../lib/api-error'\n  console.info(shownError)\n</script>\n"))).toEqual([])
  })

  it('only the renderer\'s client walks the channel list, and it imports nothing else from main', async () => {
    const file = 'src-renderer/src/lib/api-client.ts'
    expect(restricted(await problems(file, "import { channelCalls } from '../../../src-main/ipc/channels'\nexport const c = channelCalls\n"))).toEqual([])
    expect(restricted(await problems(file, "import { schemas } from '../../../src-main/ipc/schemas'\nexport const s = schemas\n"))).not.toEqual([])
    expect(restricted(await problems(file, "import type { Handlers } from '../../../src-main/ipc/router'\nexport type H = Handlers\n"))).not.toEqual([])
    for (const mod of ['valibot', 'electron', 'node:fs', 'openpgp']) {
      expect(restricted(await problems(file, `import * as m from '${mod}'\nexport const x = m\n`)), mod).not.toEqual([])
    }
  })

  it('only the Electron shell and the preload import Electron', async () => {
    for (const room of ['engine', 'remote', 'decode', 'server', 'ipc', 'web', 'cli', 'support', 'profiles']) {
      expect(restricted(await problems(`src-main/${room}/x.ts`, "import { app } from 'electron'\nexport const a = app\n")), room).not.toEqual([])
    }
    expect(restricted(await problems('src-main/app/x.ts', "import { app } from 'electron'\nexport const a = app\n"))).toEqual([])
  })

  it('OpenPGP, Shamir and the keychain stay in their rooms', async () => {
    expect(restricted(await problems('src-main/server/x.ts', "import * as o from 'openpgp'\nexport const x = o\n"))).not.toEqual([])
    expect(restricted(await problems('src-main/ipc/x.ts', "import k from 'keytar'\nexport const x = k\n"))).not.toEqual([])
    expect(restricted(await problems('src-main/engine/x.ts', "import * as o from 'openpgp'\nexport const x = o\n"))).not.toEqual([])
    expect(restricted(await problems('src-main/crypto/x.ts', "import * as o from 'openpgp'\nexport const x = o\n"))).toEqual([])
    expect(restricted(await problems('src-main/profiles/x.ts', "import k from 'keytar'\nexport const x = k\n"))).toEqual([])
    expect(restricted(await problems('src-main/engine/x.ts', "import * as s from 'shamir-secret-sharing'\nexport const x = s\n"))).toEqual([])
  })

  it('the preload imports the channel list and Electron only', async () => {
    expect(restricted(await problems('src-main/preload/x.ts', "import { channelCalls } from '../ipc/channels'\nimport { contextBridge } from 'electron'\nexport const x = [channelCalls, contextBridge]\n"))).toEqual([])
    expect(restricted(await problems('src-main/preload/x.ts', "import * as v from 'valibot'\nexport const x = v\n"))).not.toEqual([])
    expect(restricted(await problems('src-main/preload/x.ts', "import { schemas } from '../ipc/schemas'\nexport const x = schemas\n"))).not.toEqual([])
    expect(restricted(await problems('src-main/preload/x.ts', "import { Session } from '../session/session'\nexport const x = Session\n"))).not.toEqual([])
  })

  it('the IPC layer imports the services, never the reverse', async () => {
    for (const room of ['session', 'decode', 'record', 'profiles', 'engine', 'remote', 'crypto', 'support']) {
      for (const source of ["import type { Handlers } from '../ipc/router'\nexport type H = Handlers\n", "import { CHANNELS } from '../ipc/channels'\nexport const c = CHANNELS\n"]) {
        expect(restricted(await problems(`src-main/${room}/x.ts`, source)), room).not.toEqual([])
      }
    }
    expect(restricted(await problems('src-main/backend-interface.ts', "import type { Channel } from './ipc/channels'\nexport type C = Channel\n"))).not.toEqual([])
    // The table and the hosts above it import the services.
    expect(restricted(await problems('src-main/ipc/x.ts', "import { Session } from '../session/session'\nexport const s = Session\n"))).toEqual([])
    expect(restricted(await problems('src-main/app/x.ts', "import { sessionRouter } from '../ipc/handlers'\nexport const r = sessionRouter\n"))).toEqual([])
    expect(restricted(await problems('src-main/cli/x.ts', "import { sessionRouter } from '../ipc/handlers'\nexport const r = sessionRouter\n"))).toEqual([])
  })

  it('the channel list and the rooms\' views import types only', async () => {
    for (const file of ['src-main/ipc/channels.ts', 'src-main/session/views.ts', 'src-main/engine/views.ts']) {
      expect(restricted(await problems(file, "import type { Flow } from '../backend'\nexport type F = Flow\n")), file).toEqual([])
      expect(restricted(await problems(file, "import { FLOWS } from '../backend'\nexport const f = FLOWS\n")), file).not.toEqual([])
    }
    // The schemas beside the list are main's alone and may use valibot.
    expect(restricted(await problems('src-main/ipc/schemas.ts', "import * as v from 'valibot'\nexport const s = v.string()\n"))).toEqual([])
  })

  it('the support room depends on no domain room', async () => {
    expect(restricted(await problems('src-main/support/x.ts', "import { LocalEngine } from '../engine/local-engine'\nexport const x = LocalEngine\n"))).not.toEqual([])
    expect(restricted(await problems('src-main/support/x.ts', "import { redact } from './redact'\nexport const x = redact\n"))).toEqual([])
  })

  it('a module of main stays under 400 lines, in every room', async () => {
    const lines = (n: number) => Array.from({ length: n }, (_, i) => `export const c${i} = ${i}`).join('\n') + '\n'
    const long = (found: string[]) => found.filter((m) => /max-lines/.test(m))
    expect(long(await problems('src-main/engine/x.ts', lines(400)))).toEqual([])
    for (const room of ['engine', 'session', 'server', 'ipc', 'support']) {
      expect(long(await problems(`src-main/${room}/x.ts`, lines(401))), room).not.toEqual([])
    }
  })

  it('the project as it stands passes', async () => {
    const results = await eslint.lintFiles(['src-main', 'src-shared', 'src-renderer/src'])
    const errors = results.flatMap((r) => r.messages.filter((m) => m.severity === 2).map((m) => `${r.filePath}:${m.line} ${m.ruleId}`))
    expect(errors.filter((e) => /restricted-imports|no-cycle|max-lines/.test(e))).toEqual([])
  })
})
