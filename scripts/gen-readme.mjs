#!/usr/bin/env node
// Rewrites the command table in README.md (between its commands:begin/end markers) from the options
// each command registers (run after `npm run build`). tests/cli/readme-commands.test.ts fails when the
// committed table differs from a fresh generation.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { commandBlock, replaceBlock } from "../dist/cli/command-table.js";

const target = fileURLToPath(new URL("../README.md", import.meta.url));
const before = readFileSync(target, "utf8");
const after = replaceBlock(before, await commandBlock());
if (after !== before) writeFileSync(target, after);
console.log(`${after === before ? "unchanged" : "rewrote the command table in"} ${target}`);
