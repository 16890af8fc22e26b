#!/usr/bin/env node
// Writes schema/autoresearch.config.schema.json from the zod config schema (run after `npm run build`).
// tests/config/schema-file.test.ts fails when the committed file differs from a fresh generation.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { configJsonSchemaText } from "../dist/config/schema-file.js";

const target = fileURLToPath(new URL("../schema/autoresearch.config.schema.json", import.meta.url));
mkdirSync(dirname(target), { recursive: true });
writeFileSync(target, configJsonSchemaText());
console.log(`wrote ${target}`);
