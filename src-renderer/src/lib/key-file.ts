import { errorText } from './api-error'
import type { KeyInfo } from '../../../src-main/ipc/channels'

/** An OpenPGP file as the operator gave it, and the text main can parse. */
export interface KeyFile {
  /** Armored text as is; binary keys as base64. */
  text: string
  /** What the file held, to show the operator (main sees binary keys as base64). */
  form: 'armored' | 'binary' | 'base64'
}

/**
 * Reads an OpenPGP file picked by the operator: a key, or a share or result saved
 * encrypted. Public keys and encrypted messages are not secret; a private key
 * read here is sent to main for decoding and dropped afterwards.
 */
export async function readKeyFile(file: File): Promise<KeyFile> {
  const bytes = new Uint8Array(await file.arrayBuffer())
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 64))
  if (head.includes('-----BEGIN PGP')) return { text: new TextDecoder().decode(bytes), form: 'armored' }
  // A binary packet's first byte has its high bit set; anything else is taken as base64 text.
  if (bytes.length > 0 && (bytes[0]! & 0x80) !== 0) {
    let binary = ''
    for (const b of bytes) binary += String.fromCharCode(b)
    return { text: btoa(binary), form: 'binary' }
  }
  return { text: new TextDecoder().decode(bytes).trim(), form: 'base64' }
}

/** A public key as picked: its text for main, the file's name and what the operator is shown of it. */
export interface PickedKey {
  text: string
  name: string
  info: KeyInfo
}

/**
 * The public key in the file picked at `event`, as main reads it: null (and
 * `refused` told why in a sentence) when none was picked or main refused it.
 */
export async function pickPublicKey(
  main: { inspectKey(text: string): Promise<KeyInfo> },
  event: Event,
  refused: (why: string) => void,
): Promise<PickedKey | null> {
  const file = (event.currentTarget as HTMLInputElement).files?.[0]
  if (!file) return null
  const key = await readKeyFile(file)
  const info = await main.inspectKey(key.text).catch((err: unknown) => {
    refused(errorText(err))
    return null
  })
  return info ? { text: key.text, name: file.name, info: { ...info, format: key.form } } : null
}
