import { inspectKey } from '../session/keys'
import { Session, type SessionOptions } from '../session/session'
import { VERSION } from '../version'
import { createRouter, type Dispatch, type Handlers } from './router'

/** The channel → service table: each channel is one call of one service. */
export function handlersFor(s: Session): Handlers {
  return {
    'app.info': async () => ({ name: 'tessera', version: VERSION }),

    'backend.describe': () => s.ceremony.describe(),
    'backend.openKeyset': ({ path, recovery }) => s.ceremony.openKeyset(path, recovery),
    'backend.initKeyset': (input) => s.initKeyset(input),
    'backend.connectRemote': ({ id, token }) => s.ceremony.connectRemote(id, token),
    'backend.recent': () => s.ceremony.recentKeysets(),
    'backend.initServer': (input) => s.initServer(input),

    'profiles.list': () => s.profiles.list(),
    'profiles.save': ({ id, profile, token }) => s.profiles.save(profile, id, token),
    'profiles.remove': ({ id }) => s.profiles.remove(id),
    'profiles.test': ({ id, token }) => s.profiles.test(id, token),

    'handout.revealShare': ({ index }) => s.handOut.revealShare(index),
    'handout.shareCard': ({ index }) => s.handOut.shareCard(index),
    'handout.shareSaved': ({ index }) => s.handOut.shareSaved(index),
    'handout.cardPrinted': ({ index }) => s.handOut.cardPrinted(index),
    'handout.printCard': ({ index }) => s.handOut.printCard(index),
    'handout.revealRootToken': () => s.handOut.revealRootToken(),
    'handout.finish': (input) => s.finishHandOut(input?.abandon === true),

    'attempt.status': ({ flow }) => s.ceremony.status(flow),
    'attempt.start': ({ flow, ...opts }) => s.ceremony.start(flow, opts),
    'attempt.cancel': ({ flow }) => s.ceremony.cancel(flow),
    'attempt.confirmNonce': ({ flow, nonce, holder }) => s.ceremony.confirmNonce(flow, nonce, holder),
    'attempt.update': ({ flow, key, nonce, holder }) => s.update(flow, key, nonce, holder),

    'rekey.status': () => s.rekey.view(),
    'rekey.start': (input) => s.rekey.start(input),
    'rekey.confirmNonce': ({ nonce, holder }) => s.rekey.confirmNonce(nonce, holder),
    'rekey.update': async ({ key, nonce, holder }) => s.rekeyReply(await s.rekey.update(key, nonce, holder)),
    'rekey.verify': async ({ key, nonce, holder }) => s.rekeyReply(await s.rekey.verify(key, nonce, holder)),
    'rekey.restartVerification': () => s.rekey.restartVerification(),
    'rekey.cancel': () => s.rekey.cancel(),
    'rekey.backup': () => s.rekey.backup(),
    'rekey.deleteBackup': () => s.rekey.deleteBackup(),

    'result.revealShare': () => s.result.revealShare(),
    'result.shareSaved': () => s.result.shareSaved(),
    'result.shareCard': () => s.result.shareCard(),
    'result.cardPrinted': () => s.result.cardPrinted(),

    'shares.list': async () => s.ceremony.shares(),
    'shares.check': ({ share }) => s.ceremony.checkShare(share),

    'decode.held': ({ flow, encoded }) => s.decoding.held(flow, encoded),
    'decode.otp': ({ encoded, otp, verify }) => s.decoding.otp(encoded, otp, verify),
    'decode.pgp': ({ encoded, privateKey, passphrase, verify }) => s.decoding.pgp(encoded, privateKey, passphrase, verify),
    'decode.gpg': ({ encoded, verify }) => s.decoding.gpg(encoded, verify),
    'pgp.inspect': ({ key }) => inspectKey(key),

    'clipboard.copy': ({ text }) => s.clipboard.copy(text),

    'record.setDirectory': async ({ path }) => s.records.setDirectory(path),
    'record.printable': () => s.records.printable(),
    'record.printPdf': ({ pageSize }) => s.records.printPdf(pageSize),

    'session.wipe': () => s.wipeRecorded(),
    'session.state': () => s.state(),
    'session.snapshot': () => s.snapshot(),

    'unseal.status': () => s.unseal.status(),
    'unseal.submit': ({ holder, key }) => s.unseal.submit(holder, key),
    'unseal.reset': (input) => s.unseal.reset(input?.node),
    'unseal.finish': () => s.unseal.finish(),
  }
}

/** The services and the router that serves their channels: what the Electron shell and `tessera web` build. */
export function sessionRouter(opts: SessionOptions = {}, onInternalError?: (channel: string, err: unknown) => void): { session: Session; dispatch: Dispatch } {
  const session = new Session(opts)
  return { session, dispatch: createRouter(handlersFor(session), { onInternalError }) }
}
