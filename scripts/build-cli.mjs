// Bundles the CLI (bin/autoresearch.js's two imports: dist/cli/early-start.js, then
// dist/cli/main.js) into dist/cli-bundle, from tsc's output, so that the code that runs is the
// code tsc built. Loading a few dozen chunks costs Node much less than resolving, compiling and
// linking the several hundred files (zod alone is about 95) they come from. Code splitting
// keeps every dynamic import() lazy: a command loads only its own chunks, and the AI SDK only
// when an LLM proposer is used. The library (dist/index.js) stays tsc's output.
//
// --sizes: lists the chunks with their size and the packages in them.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = `${root}dist/cli-bundle`;

/**
 * zod's index re-exports its ~45 locales as a namespace (`z.locales`), which esbuild cannot
 * shake out of `import { z } from "zod"`: each would be compiled at every `run`. The CLI, and
 * the AI SDK it loads, use only the default (English) messages, which zod's schemas import
 * directly; so z.locales holds `en` alone here.
 */
const zodEnglishOnly = {
  name: "zod-english-only",
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]v4[\\/]/.test(args.importer) ? { path: join(dirname(args.importer), "../locales/en.js"), namespace: "zod-locales" } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "zod-locales" }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)};\n`,
      resolveDir: root,
    }));
  },
};

rmSync(out, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { "early-start": `${root}dist/cli/early-start.js`, main: `${root}dist/cli/main.js` },
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // A native module, loaded at run time through createRequire (src/report/png.ts).
  external: ["@resvg/resvg-js"],
  plugins: [zodEnglishOnly],
  outdir: out,
  chunkNames: "chunk-[hash]",
  // Not minified (it made no measurable difference to the start): an internal error's stack
  // trace names the functions and lines as written, each file marked by a `// dist/...` comment;
  // with `node --enable-source-maps` it points into src/ (through tsc's maps).
  sourcemap: "linked",
  sourcesContent: false,
  metafile: true,
  logLevel: "warning",
});

// The CommonJS packages bundled in (commander, picocolors, shell-quote, ...) require
// Node's modules; esbuild's __require, in the chunk that defines it, needs a `require` in scope.
const runtime = Object.keys(result.metafile.outputs).filter((file) => file.endsWith(".js") && readFileSync(`${root}${file}`, "utf8").includes("Dynamic require of"));
if (runtime.length !== 1) throw new Error(`build-cli: expected one chunk with esbuild's __require, found ${runtime.length}`);
const runtimePath = `${root}${runtime[0]}`;
writeFileSync(runtimePath, `import{createRequire as __createRequire}from"node:module";const require=__createRequire(import.meta.url);${readFileSync(runtimePath, "utf8")}`);

if (process.argv.includes("--sizes")) {
  for (const [file, o] of Object.entries(result.metafile.outputs)) {
    const packages = new Set(Object.keys(o.inputs).map((i) => i.match(/node_modules\/((@[^/]+\/)?[^/]+)/)?.[1] ?? "(own)"));
    console.log(`${file.replace(/^dist\/cli-bundle\//, "")}\t${o.bytes} bytes\t${[...packages].join(", ")}`);
  }
}
