// The schemes are part of the share grammar, which the renderer shares; main's modules name them from here.
export { SCHEMES, type Scheme } from '../../src-shared/share-grammar'
