/**
 * Reads an OpenPGP key file picked by the operator as text main can parse:
 * armored text as is, binary keys as base64. Public keys are not secret; a
 * private key read here is sent to main for decoding and dropped afterwards.
 */
export async function readKeyFile(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer())
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 64))
  if (head.includes('-----BEGIN PGP')) return new TextDecoder().decode(bytes)
  // A binary packet's first byte has its high bit set; anything else is taken as base64 text.
  if (bytes.length > 0 && (bytes[0]! & 0x80) !== 0) {
    let binary = ''
    for (const b of bytes) binary += String.fromCharCode(b)
    return btoa(binary)
  }
  return new TextDecoder().decode(bytes).trim()
}
