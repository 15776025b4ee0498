// Preloaded with `node --import`: writes every module the process loads, one URL
// or path a line, to the file named by TESSERA_IMPORT_LOG — ES modules as the
// loader resolves them, CommonJS modules as they sit in require's cache at exit.
import { appendFileSync } from 'node:fs'
import { createRequire, register } from 'node:module'

const log = process.env.TESSERA_IMPORT_LOG
register(
  `data:text/javascript,${encodeURIComponent(`
    import { appendFileSync } from 'node:fs'
    export async function resolve(specifier, context, next) {
      const found = await next(specifier, context)
      appendFileSync(${JSON.stringify(log)}, found.url + '\\n')
      return found
    }`)}`,
)
process.on('exit', () => {
  appendFileSync(log, `${Object.keys(createRequire(import.meta.url).cache).join('\n')}\n`)
})
