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
