import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

// CLI tests run the built bin exactly as a user would; build it once per test run (`npm run build`).
export default function setup(): () => void {
  const root = fileURLToPath(new URL("..", import.meta.url));
  execFileSync(process.execPath, [`${root}/node_modules/typescript/bin/tsc`, "-p", "tsconfig.build.json"], {
    cwd: root,
    stdio: "inherit",
  });
  // The dashboard's page, bundled into dist/web as `npm run build` does.
  execFileSync(process.execPath, [`${root}/scripts/build-web.mjs`], { cwd: root, stdio: "inherit" });
  // The CLI's bundle (dist/cli-bundle), which bin/autoresearch.js runs, from tsc's output, as `npm run build` does.
  execFileSync(process.execPath, [`${root}/scripts/build-cli.mjs`], { cwd: root, stdio: "inherit" });
  // The tests make thousands of temporary folders (repos, clones, fixtures): all of them go under one folder of
  // this run's, removed when it ends, through TMPDIR (which os.tmpdir() and every process the tests start
  // follow; TEMP and TMP for Windows). Readable by all, as /tmp is: an sshd session of another user, or a
  // SLURM job, reaches the folders a test hands it.
  const tmp = mkdtempSync(join(tmpdir(), "ar-tests-"));
  chmodSync(tmp, 0o755);
  for (const name of ["TMPDIR", "TEMP", "TMP"]) process.env[name] = tmp;
  return () => rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
}
