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
  it('the renderer imports only the contract, and only its types', async () => {
    expect(restricted(await problems('src-renderer/src/lib/x.ts', "import type { Flow } from '../../../src-main/ipc/contract'\nexport type F = Flow\n"))).toEqual([])
    expect(restricted(await problems('src-renderer/src/lib/x.ts', "import { contract } from '../../../src-main/ipc/contract'\nexport const c = contract\n"))).not.toEqual([])
    expect(restricted(await problems('src-renderer/src/lib/x.ts', "import { wipe } from '../../../src-main/crypto/wipe'\nexport const w = wipe\n"))).not.toEqual([])
    for (const mod of ['openpgp', 'keytar', 'valibot', 'electron', 'node:crypto', 'shamir-secret-sharing']) {
      expect(restricted(await problems('src-renderer/src/lib/x.ts', `import * as m from '${mod}'\nexport const x = m\n`)), mod).not.toEqual([])
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

  it('the preload imports the contract and Electron only', async () => {
    expect(restricted(await problems('src-main/preload/x.ts', "import { contract } from '../ipc/contract'\nimport { contextBridge } from 'electron'\nexport const x = [contract, contextBridge]\n"))).toEqual([])
    expect(restricted(await problems('src-main/preload/x.ts', "import * as v from 'valibot'\nexport const x = v\n"))).not.toEqual([])
    expect(restricted(await problems('src-main/preload/x.ts', "import { Session } from '../session/session'\nexport const x = Session\n"))).not.toEqual([])
  })

  it('the support room depends on no domain room', async () => {
    expect(restricted(await problems('src-main/support/x.ts', "import { EngineError } from '../engine/errors'\nexport const x = EngineError\n"))).not.toEqual([])
    expect(restricted(await problems('src-main/support/x.ts', "import { redact } from './redact'\nexport const x = redact\n"))).toEqual([])
  })

  it('the project as it stands passes', async () => {
    const results = await eslint.lintFiles(['src-main', 'src-renderer/src'])
    const errors = results.flatMap((r) => r.messages.filter((m) => m.severity === 2).map((m) => `${r.filePath}:${m.line} ${m.ruleId}`))
    expect(errors.filter((e) => /restricted-imports|no-cycle/.test(e))).toEqual([])
  })
})
