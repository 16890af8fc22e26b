#!/usr/bin/env node
// `run`'s Python probe starts before the CLI's modules load, so the two overlap; it is ended if
// still running when the command is done (dist/cli/early-start.js). The CLI runs from its bundle
// (dist/cli-bundle, built by `npm run build` from tsc's output: scripts/build-cli.mjs).
import { endEarly, startEarly } from "../dist/cli-bundle/early-start.js";

startEarly(process.argv, process.cwd());
const { main } = await import("../dist/cli-bundle/main.js");
main(process.argv).then((code) => {
  endEarly();
  process.exitCode = code;
});
