import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

// CLI tests run the built bin exactly as a user would; build it once per test run (`npm run build`).
export default function setup(): void {
  const root = fileURLToPath(new URL("..", import.meta.url));
  execFileSync(process.execPath, [`${root}/node_modules/typescript/bin/tsc`, "-p", "tsconfig.build.json"], {
    cwd: root,
    stdio: "inherit",
  });
  // The dashboard's page, bundled into dist/web as `npm run build` does.
  execFileSync(process.execPath, [`${root}/scripts/build-web.mjs`], { cwd: root, stdio: "inherit" });
  // The CLI's bundle (dist/cli-bundle), which bin/autoresearch.js runs, from tsc's output, as `npm run build` does.
  execFileSync(process.execPath, [`${root}/scripts/build-cli.mjs`], { cwd: root, stdio: "inherit" });
}
