import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { configFileSchema } from "../../src/config/options.js";
import { configJsonSchema, configJsonSchemaText } from "../../src/config/schema-file.js";

describe("schema/autoresearch.config.schema.json", () => {
  it("is exactly what scripts/gen-schema.mjs generates from configFileSchema (no drift)", () => {
    const committed = readFileSync(new URL("../../schema/autoresearch.config.schema.json", import.meta.url), "utf8");
    expect(committed, "regenerate it: npm run build && node scripts/gen-schema.mjs").toBe(configJsonSchemaText());
  });

  it("covers every config key, rejects unknown keys and describes each key with its flag", () => {
    const schema = configJsonSchema() as { properties: Record<string, { description?: string }>; additionalProperties: boolean };
    const keys = Object.keys(configFileSchema.shape);
    expect(Object.keys(schema.properties).sort()).toEqual(keys.sort());
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.budget?.description).toMatch(/\(flag --budget\)$/);
  });

  it("is published in the package", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    expect(pkg.files).toContain("schema");
    expect(pkg.exports["./schema.json"]).toBe("./schema/autoresearch.config.schema.json");
  });
});
