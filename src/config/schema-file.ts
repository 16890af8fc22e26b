/**
 * The JSON Schema of autoresearch.config.json, generated from the same zod schema that checks
 * flags and config files (`configFileSchema`). Published as schema/autoresearch.config.schema.json
 * by scripts/gen-schema.mjs; a test keeps the committed file equal to a fresh generation.
 */
import { z } from "zod";
import { CONFIG_FILE } from "../file-names.js";
import { configFileSchema, OPTION_DEFS } from "./options.js";

export const SCHEMA_ID = "https://unpkg.com/autoresearch/schema/autoresearch.config.schema.json";

/** Durations as parseDuration accepts them: "90s", "5m", "1h30m", "300". */
const DURATION_PATTERN = "^\\s*(\\d+(\\.\\d+)?|(\\d+(\\.\\d+)?\\s*(h|H|ms|MS|m|M|s|S)\\s*)+)$";

export function configJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(configFileSchema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  const properties = generated.properties as Record<string, Record<string, unknown>>;
  for (const [key, def] of Object.entries(OPTION_DEFS)) {
    const prop = properties[key];
    if (!prop) continue;
    prop.description = `${def.help} (flag ${def.flag.split(" ")[0]})`;
    if (/<duration>/.test(def.flag)) {
      // The zod refinement (parseDuration) has no JSON Schema form; spell it out for editors.
      delete prop.type;
      prop.anyOf = [
        { type: "string", pattern: DURATION_PATTERN },
        { type: "number", exclusiveMinimum: 0 },
      ];
    }
  }
  if (properties.$schema) properties.$schema.description = "JSON Schema of this file";
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: SCHEMA_ID,
    title: "autoresearch research config",
    description:
      `${CONFIG_FILE}: the research config (same keys as the CLI flags). budget, metric and direction are required by \`autoresearch run\` and asked by \`autoresearch init\`.`,
    ...rest,
  };
}

export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
