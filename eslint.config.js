// Lint that holds the process boundaries (DESIGN.md section 1) as rules: which
// room may import what, no import cycles, no stray console.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import svelte from 'eslint-plugin-svelte'
import { createNodeResolver, importX } from 'eslint-plugin-import-x'
import globals from 'globals'
import svelteConfig from './svelte.config.js'

/** Each main-process room, and which of Electron, crypto and the keychain it may import. */
const MAIN_ROOMS = {
  engine: ['shamir-secret-sharing', 'secrets.js-grempe'],
  crypto: ['openpgp'],
  profiles: ['keytar'],
  remote: [],
  decode: [],
  server: [],
  ipc: [],
  cli: [],
  web: [],
  support: [],
  session: [],
  record: [],
}
const CRYPTO_AND_KEYCHAIN = ['openpgp', 'shamir-secret-sharing', 'secrets.js-grempe', 'keytar']

/** Forbids value imports of these modules; type-only imports stay allowed. */
const forbid = (paths, message) => ({
  '@typescript-eslint/no-restricted-imports': [
    'error',
    { paths: paths.map((name) => ({ name, message, allowTypeImports: true })) },
  ],
})

/**
 * The renderer's imports: from main only the IPC channel list, and from it only
 * types unless `listValues` (the client that builds `api` from the list); from
 * src-shared the share grammar and the holder-name rule. A component
 * (`component`) reaches main through the Ceremony only, never the `api` singleton.
 */
const rendererImports = ({ listValues = false, component = false }) => ({
  '@typescript-eslint/no-restricted-imports': [
    'error',
    {
      paths: [...CRYPTO_AND_KEYCHAIN, 'valibot', 'electron'].map((name) => ({ name, message: 'The renderer carries no crypto, keychain, schema library or Electron: ask main through window.tessera.' })),
      patterns: [
        { group: ['node:*'], message: 'The renderer runs in a browser: no Node modules.' },
        { regex: '(^|/)src-main/(?!ipc/channels$)', message: 'The renderer imports only the IPC channel list from main.' },
        ...(listValues ? [] : [{ regex: '(^|/)src-main/ipc/channels$', allowTypeImports: true, message: 'Only the channel list\'s types cross into the renderer; lib/api-client.ts walks the list.' }]),
        { regex: '(^|/)src-shared/(?!(share-grammar|holder-name)$)', message: 'The renderer takes from src-shared the share grammar and the holder-name rule only.' },
        ...(component ? [{ regex: '(^|/)lib/api$', message: 'Components reach main through the Ceremony (useCeremony) and its siblings, never the api singleton.' }] : []),
      ],
    },
  ],
})

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'test-results/**', 'playwright-report/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    languageOptions: { globals: { ...globals.node } },
    plugins: { 'import-x': importX },
    rules: {
      'no-console': 'error',
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
    },
    settings: { 'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.svelte', '.svelte.ts'] })] },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: {
      globals: { ...globals.browser },
      parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'], svelteConfig },
    },
  },
  // The renderer reaches main only through the IPC channel list, and only its
  // types; it carries no crypto, keychain, schema library or Node module.
  {
    files: ['src-renderer/**/*.{ts,svelte}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: rendererImports({}),
  },
  // Components and the App talk to the Ceremony, which is the page's one caller of main.
  { files: ['src-renderer/src/components/**/*.svelte', 'src-renderer/src/App.svelte'], rules: rendererImports({ component: true }) },
  // Except the client, which walks the list itself to build `api`.
  { files: ['src-renderer/src/lib/api-client.ts'], rules: rendererImports({ listValues: true }) },
  // Engine, remote, decode, server and every other main room run in plain Node:
  // only the Electron shell and the preload touch Electron. OpenPGP stays in
  // crypto/, Shamir in engine/, the keychain in profiles/.
  ...Object.entries(MAIN_ROOMS).map(([room, allowed]) => ({
    files: [`src-main/${room}/**/*.ts`],
    rules: forbid(
      ['electron', ...CRYPTO_AND_KEYCHAIN].filter((m) => !allowed.includes(m)),
      `src-main/${room} may not import this: Electron belongs to app/ and preload/, OpenPGP to crypto/, Shamir to engine/, keytar to profiles/.`,
    ),
  })),
  {
    files: ['src-main/*.ts'],
    rules: forbid(['electron', ...CRYPTO_AND_KEYCHAIN], 'Shared main-process modules import no Electron, crypto or keychain.'),
  },
  // The sandboxed preload bundles what it imports: the channel list and Electron, nothing else.
  {
    files: ['src-main/preload/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^(?!electron$|\\.\\./ipc/channels$).*', message: 'The preload imports only electron and ../ipc/channels.' }] },
      ],
    },
  },
  // What the preload and the renderer take from main imports nothing at run time:
  // the channel list and each room's views (plain data shapes).
  {
    files: ['src-main/ipc/channels.ts', 'src-main/*/views.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ regex: '.*', allowTypeImports: true, message: 'The channel list and the views import types only: the preload and the renderer bundle what they import.' }] },
      ],
    },
  },
  // Each module of main is small enough to read in one sitting.
  { files: ['src-main/**/*.ts'], rules: { 'max-lines': ['error', { max: 400 }] } },
  // The IPC layer imports the services, never the reverse: no room at or below
  // the services' imports ipc/, not even a type (support/ is held below).
  {
    files: ['src-main/{session,decode,record,profiles,engine,remote,crypto}/**/*.ts', 'src-main/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '(^|/)ipc(/|$)', message: 'The IPC layer imports the services, never the reverse: ipc/ maps each channel to a service call.' }] }],
    },
  },
  // The support room is plumbing every room may use; it depends on none of them.
  {
    files: ['src-main/support/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['../*'], message: 'support/ depends on no domain room.' }] }],
    },
  },
  // The share grammar runs on both sides of the process boundary: it imports nothing.
  {
    files: ['src-shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^(?!\\./).*', message: 'src-shared is pure: it imports nothing but its own modules (no Node, no DOM, no package, no room of main).' }] }],
    },
  },
  // Where writing to the console is the job.
  {
    files: ['src-main/app/**/*.ts', 'scripts/**', 'e2e/**', 'test/**', 'bench/**', '*.config.*'],
    rules: { 'no-console': 'off' },
  },
)
