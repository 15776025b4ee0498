import { execFile } from 'node:child_process'

/**
 * Debian's python3-hvac, unchanged, as an operator's script drives a server.
 * Only /usr/bin/python3 sees Debian's packages (a python3 earlier on PATH may not).
 */
export const DEBIAN_PYTHON = '/usr/bin/python3'

/** What a script's `run(client, args)` returned, or the hvac exception it raised (its class and Vault's `errors`). */
export type HvacResult = { result: any } | { exception: string; errors: string[] | null }

const PRELUDE = `
import json, sys
import hvac
from hvac import exceptions
url, token = sys.argv[1], sys.argv[2] or None
args = json.load(sys.stdin)
client = hvac.Client(url=url, token=token)
`

const EPILOGUE = `
try:
    print(json.dumps({"result": run(client, args)}))
except exceptions.VaultError as e:
    print(json.dumps({"exception": type(e).__name__, "errors": e.errors}))
`

/** Runs `script` (which defines `run(client, args)`) with hvac against `url`, `args` as JSON on standard input. */
export function hvac(url: string, script: string, args: unknown = {}, token = ''): Promise<HvacResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(DEBIAN_PYTHON, ['-c', `${PRELUDE}\n${script}\n${EPILOGUE}`, url, token], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`hvac script failed: ${stderr || err.message}`))
      resolve(JSON.parse(stdout) as HvacResult)
    })
    child.stdin!.end(JSON.stringify(args))
  })
}

/** The value `run` returned; fails the test with the exception when hvac raised one. */
export async function hvacOk(url: string, script: string, args: unknown = {}, token = ''): Promise<any> {
  const r = await hvac(url, script, args, token)
  if (!('result' in r)) throw new Error(`hvac raised ${r.exception}: ${JSON.stringify(r.errors)}`)
  return r.result
}
