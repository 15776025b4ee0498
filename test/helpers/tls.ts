import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface TestPki {
  caCert: string
  serverCert: string
  serverKey: string
}

/** A throwaway CA and a server certificate for 127.0.0.1 / localhost, made with openssl. */
export function makePki(dir: string, name = 'ca'): TestPki {
  const p = (f: string) => join(dir, `${name}-${f}`)
  const run = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' })
  run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', `/CN=Tessera test ${name}`, '-keyout', p('ca.key'), '-out', p('ca.pem'))
  run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-subj', '/CN=localhost', '-keyout', p('server.key'), '-out', p('server.csr'))
  writeFileSync(p('ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n')
  run('x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial',
    '-days', '2', '-extfile', p('ext.cnf'), '-out', p('server.pem'))
  return { caCert: p('ca.pem'), serverCert: p('server.pem'), serverKey: p('server.key') }
}
