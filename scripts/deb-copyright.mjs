// The Debian copyright file in the machine-readable format (DEP-5,
// https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/), made
// from what the package bundles: each package's licence as its package.json
// names it, its copyright lines and licence text from its own licence file.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const COMMON_LICENSES = '/usr/share/common-licenses'

/**
 * The file in /usr/share/common-licenses holding an SPDX licence, if Debian
 * ships it: policy asks for a reference to it rather than a copy.
 */
function commonLicense(spdx) {
  const gnu = /^(L?GPL)-(\d)\.(\d)(\+|-only|-or-later)?$/.exec(spdx)
  const name = gnu ? `${gnu[1]}-${gnu[2]}${gnu[3] === '0' ? '' : `.${gnu[3]}`}` : spdx
  return /^[\w.-]+$/.test(name) && existsSync(join(COMMON_LICENSES, name)) ? name : undefined
}

/** A package's licence file: LICENSE, LICENCE or COPYING, with any extension. */
export function licenseFile(dir) {
  const name = readdirSync(dir).find((f) => /^(licen[cs]e|copying)([.-]|$)/i.test(f))
  return name && join(dir, name)
}

/**
 * The holders a licence text names: its "Copyright …" lines, and those a
 * "Copyright …:" line introduces. Sentences that merely mention copyright
 * ("copyright notice", "Copyright holders shall…") are not notices.
 */
function copyrightLines(text) {
  const lines = text.split(/\r?\n/)
  const found = []
  lines.forEach((line, i) => {
    const m = /^\s*(?:Copyright\b|COPYRIGHT\b|\([cC]\)|©)\s*(?:\([cC]\)|©)?\s*(.*?)\s*$/.exec(line)
    if (!m || /^[a-z]/.test(m[1])) return
    if (!m[1].endsWith(':')) return void (m[1] && found.push(m[1]))
    for (let j = i + 1; j < lines.length && lines[j].trim(); j++) found.push(`${m[1].slice(0, -1)} ${lines[j].trim()}`)
  })
  return found
}

const personName = (p) => (typeof p === 'string' ? p : p?.name)

/** A field's value as DEP-5 writes it: continuation lines indented, blank lines as " .". */
const field = (name, first, rest = []) =>
  [`${name}: ${first}`, ...rest.map((l) => (l.trim() ? ` ${l.trimEnd()}` : ' .'))].join('\n')

/**
 * @param {{ name: string, license: string, copyright: string, upstream: { url: string, contact: string } }} own
 *   Tessera itself, covering every file no bundled package claims.
 * @param {Array<{ dir: string, files: string }>} bundled each package's installed directory
 *   and its Files pattern in the package.
 */
export function dep5Copyright(own, bundled) {
  const references = new Set([own.license])
  const paragraphs = [
    [
      'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
      `Upstream-Name: ${own.name}`,
      `Upstream-Contact: ${own.upstream.contact}`,
      `Source: ${own.upstream.url}`,
    ].join('\n'),
    ['Files: *', `Copyright: ${own.copyright}`, `License: ${own.license}`].join('\n'),
  ]
  for (const { dir, files } of bundled) {
    const meta = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
    const license = typeof meta.license === 'string' ? meta.license : undefined
    if (!license) throw new Error(`${meta.name} names no licence in its package.json`)
    const file = licenseFile(dir)
    const text = file ? readFileSync(file, 'utf8') : undefined
    const common = commonLicense(license)
    if (!text && !common) throw new Error(`${meta.name} (${license}) ships no licence file to copy its terms from`)
    // A common licence's file is the licence itself: its copyright lines are the text's, not the package's.
    const holders = (!common && text && copyrightLines(text)) || []
    if (!holders.length) {
      const people = [meta.author, ...(meta.contributors ?? [])].map(personName).filter(Boolean)
      holders.push(...(people.length ? people : [`the ${meta.name} authors, ${meta.homepage ?? meta.repository?.url ?? 'upstream'}`]))
    }
    const [first, ...more] = [...new Set(holders)]
    paragraphs.push(
      [
        `Files: ${files}`,
        field('Copyright', first, more),
        common ? `License: ${license}` : field('License', license, text.trim().split(/\r?\n/)),
        `Comment: ${meta.name} ${meta.version}`,
      ].join('\n'),
    )
    if (common) references.add(license)
  }
  for (const license of [...references].sort()) {
    const common = commonLicense(license)
    if (!common) throw new Error(`${license} is not in ${COMMON_LICENSES}`)
    paragraphs.push(field('License', license, [`On Debian systems the full text of ${license} is in ${COMMON_LICENSES}/${common}.`]))
  }
  return `${paragraphs.join('\n\n')}\n`
}
