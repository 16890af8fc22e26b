// Bundles the dashboard page (web/) into dist/web: one script, one stylesheet, the HTML. Every
// asset the page needs is in there, so the dashboard works offline and loads nothing from a CDN.
import { copyFileSync, mkdirSync, rmSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = `${root}dist/web`;
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: `${root}web/src/main.ts` },
  bundle: true,
  format: "esm",
  target: ["es2022"],
  minify: true,
  legalComments: "linked",
  outdir: out,
  logLevel: "warning",
});
copyFileSync(`${root}web/index.html`, `${out}/index.html`);
if (process.argv.includes("--sizes")) {
  for (const name of ["index.html", "app.js", "app.css"]) console.log(`${name}\t${statSync(`${out}/${name}`).size} bytes`);
}
