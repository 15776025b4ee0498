// The screen's coordinates, shared by the Ceremony and the helpers it hands
// out, which must not import the Ceremony back.

export type Step = 'backend' | 'handout' | 'operation' | 'check' | 'protection' | 'collect' | 'result' | 'unseal' | 'rekey'

/** Where an error is shown: next to the control whose action failed. */
export type Place = 'open' | 'create' | 'remote' | 'operation' | 'protection' | 'collect' | 'cancel' | 'handout' | 'result' | 'record' | 'rekey'
