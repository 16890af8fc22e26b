#!/usr/bin/env node
// `run`'s Python probe starts before the CLI's modules load, so the two overlap; it is ended if
// still running when the command is done (dist/cli/early-start.js).
import { endEarly, startEarly } from "../dist/cli/early-start.js";

startEarly(process.argv, process.cwd());
const { main } = await import("../dist/cli/main.js");
main(process.argv).then((code) => {
  endEarly();
  process.exitCode = code;
});
