import { execFile, execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A real gpg with a private, throwaway home: never the user's keyring. */
export class Gpg {
  readonly home = mkdtempSync(join(tmpdir(), 'tessera-gnupg-'))

  env(): NodeJS.ProcessEnv {
    return { ...process.env, GNUPGHOME: this.home }
  }

  run(args: string[], input?: Buffer | string): Buffer {
    return execFileSync('gpg', ['--batch', '--quiet', '--no-tty', ...args], { env: this.env(), input, stdio: ['pipe', 'pipe', 'pipe'] })
  }

  /** Like run, but resolves with the exit code instead of throwing. */
  attempt(args: string[], input?: Buffer | string): Promise<{ code: number; stdout: Buffer; stderr: string }> {
    return new Promise((resolve) => {
      const child = execFile('gpg', ['--batch', '--quiet', '--no-tty', ...args], { env: this.env(), encoding: 'buffer' }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr: stderr.toString() }),
      )
      child.stdin!.end(input ?? '')
    })
  }

  /**
   * Generates a key pair and returns its primary fingerprint. 'future-default' is
   * ed25519 with a cv25519 subkey; other algorithms (rsa2048) get an encryption
   * subkey of the same kind, as a holder's key would have.
   */
  generate(uid: string, opts: { algo?: string; passphrase?: string } = {}): string {
    const algo = opts.algo ?? 'future-default'
    const pass = ['--pinentry-mode', 'loopback', '--passphrase', opts.passphrase ?? '']
    try {
      this.run([...pass, '--quick-gen-key', uid, algo, 'default', 'never'])
    } catch (err) {
      // gpg-agent sometimes fails a fresh key's self-signature ("Corrupted
      // protection") on a loaded machine; a restarted agent makes it.
      if (!String((err as { stderr?: Buffer }).stderr ?? '').includes('Corrupted protection')) throw err
      execFileSync('gpgconf', ['--kill', 'gpg-agent'], { env: this.env() })
      this.run([...pass, '--quick-gen-key', uid, algo, 'default', 'never'])
    }
    const colons = this.run(['--with-colons', '--fingerprint', uid]).toString()
    const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(colons)
    if (!fpr) throw new Error(`no fingerprint for ${uid}`)
    if (algo !== 'future-default') this.run([...pass, '--quick-add-key', fpr[1]!, algo, 'encr', 'never'])
    return fpr[1]!.toLowerCase()
  }

  exportPublic(uid: string, armor = false): Buffer {
    return this.run([...(armor ? ['--armor'] : []), '--export', uid])
  }

  exportSecret(uid: string, opts: { armor?: boolean; passphrase?: string } = {}): Buffer {
    return this.run([
      '--pinentry-mode', 'loopback', '--passphrase', opts.passphrase ?? '',
      ...(opts.armor ? ['--armor'] : []), '--export-secret-keys', uid,
    ])
  }

  /** `base64 -d | gpg -dq`, as Vault's documentation tells operators. */
  decryptBase64(b64: string, passphrase?: string): string {
    const args = passphrase === undefined ? ['-d'] : ['--pinentry-mode', 'loopback', '--passphrase', passphrase, '-d']
    return this.run(args, Buffer.from(b64, 'base64')).toString('utf8')
  }

  /**
   * Binds `from`'s encryption subkey to `to`'s key as well (gpg --expert's
   * "Existing key"): two keys with different primaries that share a subkey.
   * Returns the shared subkey's fingerprint.
   */
  shareSubkey(to: string, from: string): string {
    const colons = this.run(['--with-colons', '--with-keygrip', '--list-keys', from]).toString()
    const sub = /^sub:[^:]*:[^:]*:[^:]*:[^:]*:(\d+):[^\n]*\nfpr:+([0-9A-F]{40}):\ngrp:+([0-9A-F]{40}):/m.exec(colons)
    if (!sub) throw new Error(`no subkey for ${from}`)
    const toFpr = /^fpr:+([0-9A-F]{40}):/m.exec(this.run(['--with-colons', '--fingerprint', to]).toString())![1]!
    // A fingerprint covers the key's creation time: the clock is set to the subkey's own.
    this.run(
      ['--expert', '--faked-system-time', `${sub[1]}!`, '--command-fd', '0', '--pinentry-mode', 'loopback', '--passphrase', '', '--edit-key', toFpr],
      `addkey\n13\n${sub[3]}\nQ\n0\nsave\n`,
    )
    return sub[2]!.toLowerCase()
  }

  /** The encryption subkey's keygrip (the agent's name for its secret) and long key id (what a message names). */
  encryptionKey(uid: string): { keygrip: string; keyId: string } {
    const colons = this.run(['--with-colons', '--with-keygrip', '--list-secret-keys', uid]).toString()
    const ssb = /^ssb:[^:]*:[^:]*:[^:]*:([0-9A-F]{16}):[^\n]*\nfpr:+[0-9A-F]{40}:\ngrp:+([0-9A-F]{40}):/m.exec(colons)
    if (!ssb) throw new Error(`no encryption subkey for ${uid}`)
    return { keyId: ssb[1]!, keygrip: ssb[2]! }
  }

  /**
   * Makes the agent ask for PINs and passphrases through a scripted pinentry,
   * as a holder's desktop would: it answers `passphrase`, cancels, or never
   * answers (`hang`, ending on its own after 5 s). Presets are allowed, so that a
   * passphrase can sit in the agent alone. The agent restarts to read this.
   */
  pinentry(answer: { passphrase: string } | 'cancel' | 'hang'): void {
    writeFileSync(join(this.home, 'pinentry.answer'), typeof answer === 'string' ? answer : `pass ${answer.passphrase}`)
    const script = join(this.home, 'pinentry.sh')
    writeFileSync(
      script,
      `#!/bin/sh
echo "OK Pleased to meet you"
while read -r cmd rest; do
  case "$cmd" in
    GETPIN)
      answer=$(cat '${this.home}/pinentry.answer')
      case "$answer" in
        cancel) echo "ERR 83886179 Operation cancelled <Pinentry>";;
        hang) echo $$ > '${this.home}/pinentry.pid'; exec sleep 5;;
        *) echo "D \${answer#pass }"; echo OK;;
      esac;;
    BYE) echo OK; exit 0;;
    *) echo OK;;
  esac
done
`,
      { mode: 0o700 },
    )
    writeFileSync(join(this.home, 'gpg-agent.conf'), `pinentry-program ${script}\nallow-preset-passphrase\n`)
    this.killAgent()
  }

  /** The pid of a pinentry left hanging, if one is. */
  hangingPinentry(): number | undefined {
    try {
      return Number(readFileSync(join(this.home, 'pinentry.pid'), 'utf8'))
    } catch {
      return undefined
    }
  }

  /** Puts a passphrase into the agent's cache for `uid`'s encryption key, as gpg-preset-passphrase does for a holder. */
  presetPassphrase(uid: string, passphrase: string): void {
    const libexec = execFileSync('gpgconf', ['--list-dirs', 'libexecdir'], { env: this.env() }).toString().trim()
    execFileSync(join(libexec, 'gpg-preset-passphrase'), ['--preset', this.encryptionKey(uid).keygrip], { env: this.env(), input: passphrase })
  }

  /**
   * Turns `uid`'s encryption key into a smartcard stub, as keytocard leaves it:
   * the agent keeps only the public part and the card's serial number, and must
   * ask the card (through scdaemon) to decrypt.
   */
  moveToCard(uid: string): void {
    const file = join(this.home, 'private-keys-v1.d', `${this.encryptionKey(uid).keygrip}.key`)
    const q = /\(q#([0-9A-F]+)#\)/.exec(readFileSync(file, 'utf8').replace(/\s+/g, ''))
    if (!q) throw new Error(`no public point in the key file of ${uid}`)
    writeFileSync(
      file,
      `Key: (shadowed-private-key (ecc (curve Curve25519)(flags djb-tweak)(q #${q[1]}#)(shadowed t1-v1 (#D2760001240103040006123456780000# "OPENPGP.2"))))\n`,
    )
    this.killAgent()
  }

  killAgent(): void {
    try {
      execFileSync('gpgconf', ['--kill', 'gpg-agent'], { env: this.env(), stdio: 'ignore' })
    } catch {
      // no agent was started
    }
  }

  encryptTo(uid: string, plaintext: string): Buffer {
    return this.run(['--trust-model', 'always', '-e', '-r', uid], plaintext)
  }

  close(): void {
    this.killAgent()
    rmSync(this.home, { recursive: true, force: true })
  }
}
