/** Share schemes a keyset can use (a module of its own so that the IPC contract stays light). */
export const SCHEMES = ['vault', 'secretsjs'] as const
export type Scheme = (typeof SCHEMES)[number]
