/**
 * `npm run build:node`: the signaller and the node peer bundled by esbuild into dist/, one
 * JavaScript file each plus the engine's worker, which `npm start`, the Docker image and
 * `npm run bench` run. Types are checked by `npm run typecheck` (and `npm test`), not here.
 *
 * Why bundles: Node loads libp2p's hundreds of ES modules one file at a time. Loading the node
 * peer's modules took 480-500 ms, its bundle 160-200 ms; under tsx a start took a second more.
 *
 *   node --import tsx scripts/build-node.ts
 */
import { copyFile, mkdir, readdir, rm } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = fileURLToPath(new URL('..', import.meta.url))
const out = `${root}dist`

/**
 * Left to node_modules: packages that load files of their own from beside their code
 * (classic-level's native addon, swipl-wasm's .wasm, cbor-extract's native string reader, which
 * cbor-x does without, silently and slower, when it cannot load it), and ws's optional native
 * helpers, which ws does without when they are not installed.
 */
const EXTERNAL = ['classic-level', 'swipl-wasm', 'cbor-extract', 'bufferutil', 'utf-8-validate']

await rm(out, { recursive: true, force: true })
await build({
  absWorkingDir: root,
  entryPoints: ['signaller/main.ts', 'node-peer/main.ts', 'node-peer/engine-worker.ts'],
  outdir: out,
  outbase: root,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: EXTERNAL,
  // CommonJS packages inside an ES module bundle still call require() for Node's own modules.
  banner: { js: "import { createRequire as __p2pCreateRequire } from 'node:module'; const require = __p2pCreateRequire(import.meta.url);" },
  logLevel: 'warning'
})

// core/engine/engine.ts finds the Prolog sources beside its own URL, which in a bundle is the bundle's.
const engineDir = `${root}core/engine`
await mkdir(`${out}/node-peer`, { recursive: true })
for (const file of await readdir(engineDir)) {
  if (file.endsWith('.pl')) await copyFile(`${engineDir}/${file}`, `${out}/node-peer/${file}`)
}
