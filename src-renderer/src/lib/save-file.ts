/** Hands bytes to the browser's download, under the given file name. */
export function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = name
  a.click()
  URL.revokeObjectURL(url)
}

/**
 * Offers a PGP message (base64: an encrypted share or result) to the browser's
 * download as its binary file, which `gpg -d FILE` opens: the file is not
 * secret, only its holder's private key opens it.
 */
export function savePgpMessage(base64: string, name: string): void {
  const bytes = Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0))
  download(new Blob([bytes], { type: 'application/pgp-encrypted' }), name)
}
