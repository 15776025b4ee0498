import { resolve } from 'node:path'
import { defineConfig } from 'electron-vite'
import { svelte } from '@sveltejs/vite-plugin-svelte'

// Explicit entries: the project keeps its own layout (src-main, src-renderer)
// rather than electron-vite's default src/main, src/preload, src/renderer.
export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      rollupOptions: {
        input: {
          index: resolve('src-main/app/main.ts'),
          cli: resolve('src-main/cli/main.ts'),
        },
        // Each CLI command is a chunk of its own, loaded when it runs; every chunk
        // sits beside the entries, so that paths made from import.meta.url
        // (../renderer/) hold wherever a module ends up.
        output: { chunkFileNames: '[name]-[hash].js' },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      // A sandboxed preload can require nothing but electron: bundle what it uses.
      externalizeDeps: false,
      rollupOptions: {
        input: { index: resolve('src-main/preload/index.ts') },
        // A sandboxed preload must be CommonJS.
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve('src-renderer'),
    build: {
      outDir: resolve('out/renderer'),
      // What the browser downloads: minified, without source maps.
      minify: true,
      sourcemap: false,
      rollupOptions: {
        input: resolve('src-renderer/index.html'),
        // Chromium's explicit compile hint, after minifying (which drops comments):
        // the page's module is compiled whole, off the main thread while it streams
        // in, not each function parsed twice on the main thread as it first runs.
        // Kept for speed: the bench names it ("the compile hint").
        output: { postBanner: '//# allFunctionsCalledOnLoad' },
      },
    },
    plugins: [svelte({ configFile: resolve('svelte.config.js') })],
  },
})
