import { execFile, execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A real gpg with a private, throwaway home: never the user's keyring. */
export class Gpg {
  readonly home = mkdtempSync(join(tmpdir(), 'tessera-gnupg-'))

  private env(): NodeJS.ProcessEnv {
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
    this.run([...pass, '--quick-gen-key', uid, algo, 'default', 'never'])
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

  encryptTo(uid: string, plaintext: string): Buffer {
    return this.run(['--trust-model', 'always', '-e', '-r', uid], plaintext)
  }

  close(): void {
    try {
      execFileSync('gpgconf', ['--kill', 'gpg-agent'], { env: this.env(), stdio: 'ignore' })
    } catch {
      // no agent was started
    }
    rmSync(this.home, { recursive: true, force: true })
  }
}
