import { describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import Ajv from 'ajv'
import yaml from 'js-yaml'
import { listPackage } from '@electron/asar'
import { FuseV1Options, getCurrentFuseWire } from '@electron/fuses'

const run = promisify(execFile)
const ROOT = join(import.meta.dirname, '..')
const FUSE_SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX'

type BuilderConfig = Record<string, any>

async function config(): Promise<BuilderConfig> {
  return yaml.load(await readFile(join(ROOT, 'electron-builder.yml'), 'utf8')) as BuilderConfig
}

describe('electron-builder configuration', () => {
  it("validates against electron-builder's own schema", async () => {
    const schema = JSON.parse(await readFile(join(ROOT, 'node_modules/app-builder-lib/scheme.json'), 'utf8'))
    const ajv = new Ajv({ allErrors: true, strict: false })
    const validate = ajv.compile(schema)
    expect(validate(await config()), JSON.stringify(validate.errors)).toBe(true)
  })

  it('names, icons and the desktop entry are what installers need', async () => {
    const c = await config()
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'))
    expect(c.appId).toMatch(/^[a-z]+(\.[a-z]+)+$/)
    expect(c.productName).toBe('Tessera')
    // The CLI owns /usr/bin/tessera.
    expect(c.executableName).toBeTruthy()
    expect(Object.keys(pkg.bin)).not.toContain(c.executableName)
    expect(pkg.author.email).toMatch(/^[^@\s]+@[^@\s]+\.[a-z]+$/)
    expect(pkg.homepage).toMatch(/^https:\/\//)
    expect(c.asar).toBe(true)
    expect(c.linux.category).toBeTruthy()
    expect(c.linux.desktop.entry.Categories).toContain('Utility')
    const png = await readFile(join(ROOT, c.linux.icon))
    expect(png.subarray(1, 4).toString()).toBe('PNG')
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([512, 512])
  })

  it('sets the fuses hardened desktop apps set', async () => {
    expect((await config()).electronFuses).toEqual({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableCookieEncryption: true,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
    })
  })

  // What can run offline does run: electron-builder's own --dir packaging, given a
  // STAND-IN for the Electron distribution (a shell script plus Electron's fuse
  // wire with its default states), so that the asar's contents and the fuses
  // electron-builder writes are checked. It proves the packaging configuration,
  // not that Electron starts: the real-Electron journeys do that where a binary exists.
  it('packs only what runs into app.asar and flips the fuses', { timeout: 180_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tessera-builder-'))
    try {
      const stand = join(dir, 'electron-stand-in')
      await mkdir(join(stand, 'resources'), { recursive: true })
      // Electron 45's defaults: RunAsNode on, cookie encryption off, NODE_OPTIONS on, inspect on,
      // asar integrity off, only-asar off, browser V8 snapshot off, file:// privileges on.
      const wire = Buffer.concat([Buffer.from(`#!/bin/sh\n# ${FUSE_SENTINEL}`), Buffer.from([1, 8]), Buffer.from('10110001\n')])
      await writeFile(join(stand, 'electron'), wire)
      await chmod(join(stand, 'electron'), 0o755)
      await writeFile(join(stand, 'LICENSE'), 'stand-in\n')
      const { version } = JSON.parse(await readFile(join(ROOT, 'node_modules/electron/package.json'), 'utf8'))
      await writeFile(join(stand, 'version'), version)

      await run(
        'npx',
        ['electron-builder', '--linux', 'dir', `-c.electronDist=${stand}`, '-c.npmRebuild=false', `-c.directories.output=${join(dir, 'dist')}`],
        { cwd: ROOT, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' } },
      )
      const app = join(dir, 'dist', 'linux-unpacked')
      const binary = join(app, (await config()).executableName)
      expect(existsSync(binary)).toBe(true)

      const files = listPackage(join(app, 'resources', 'app.asar'), { isPack: false })
      const ours = files.filter((f) => !f.startsWith('/node_modules'))
      const stray = ours.filter((f) => !/^\/(out(\/(main|preload|renderer)(\/.*)?)?|package\.json)$/.test(f))
      expect(stray).toEqual([])
      expect(ours).toContain('/out/main/index.js')
      expect(ours).toContain('/out/preload/index.cjs')
      expect(ours.some((f) => f.endsWith('.map'))).toBe(false)
      expect(files.some((f) => f.startsWith('/node_modules/electron/'))).toBe(false)
      expect(existsSync(join(app, 'resources', 'app.asar.unpacked', 'node_modules', 'keytar', 'build', 'Release', 'keytar.node'))).toBe(true)

      const fuses = await getCurrentFuseWire(binary)
      const on = (o: FuseV1Options) => String.fromCharCode(fuses[o] as number)
      expect(on(FuseV1Options.RunAsNode)).toBe('0')
      expect(on(FuseV1Options.EnableNodeOptionsEnvironmentVariable)).toBe('0')
      expect(on(FuseV1Options.EnableNodeCliInspectArguments)).toBe('0')
      expect(on(FuseV1Options.EnableCookieEncryption)).toBe('1')
      expect(on(FuseV1Options.EnableEmbeddedAsarIntegrityValidation)).toBe('1')
      expect(on(FuseV1Options.OnlyLoadAppFromAsar)).toBe('1')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
