import { z } from "zod";
import type { Category, Edit } from "../../types.js";
import { CATEGORIES } from "../../types.js";

/** What the model must send as the arguments of propose_experiment. */
export interface ProposalReply {
  description: string;
  category: Category;
  rationale: string;
  direction: string;
  learned: string;
  ideas: string[];
  /** null when the model gave no usable number. */
  expectedDelta: number | null;
  edits: Edit[];
}

/** JSON Schema for the tool (also valid for OpenAI strict mode: all required, no extras). */
export const PROPOSAL_JSON_SCHEMA = {
  type: "object",
  properties: {
    description: { type: "string", description: "One line, under 100 characters: what this experiment changes." },
    category: { type: "string", enum: [...CATEGORIES], description: "The kind of change; must be inside the allowed scope." },
    rationale: { type: "string", description: "Why this is expected to improve the metric." },
    direction: { type: "string", description: "What you are exploring over the next iterations." },
    learned: { type: "string", description: "One line: what the last experiment's result taught (empty before the first)." },
    ideas: { type: "array", items: { type: "string" }, description: "Backlog ideas worth trying later (may be empty)." },
    expected_delta: {
      type: ["number", "null"],
      description: "Expected change in the metric versus the best so far (new minus best; negative = lower), or null.",
    },
    edits: {
      type: "array",
      minItems: 1,
      description: "Exact search/replace edits of the training script, applied in order.",
      items: {
        type: "object",
        properties: {
          search: { type: "string", description: "Text copied verbatim from the current training script; must occur exactly once." },
          replace: { type: "string", description: "The replacement text." },
        },
        required: ["search", "replace"],
        additionalProperties: false,
      },
    },
  },
  required: ["description", "category", "rationale", "direction", "learned", "ideas", "expected_delta", "edits"],
  additionalProperties: false,
} as const;

const CATEGORY_ALIASES: Record<string, Category> = {
  hyperparameter: "hyperparameters",
  "hyper-parameters": "hyperparameters",
  hparams: "hyperparameters",
  optimization: "optimizer",
  optimiser: "optimizer",
  optim: "optimizer",
  arch: "architecture",
  model: "architecture",
  "training dynamics": "training",
  training_dynamics: "training",
};

const categorySchema = z.preprocess((v) => {
  if (typeof v !== "string") return v;
  const key = v.trim().toLowerCase();
  return CATEGORY_ALIASES[key] ?? key;
}, z.enum(CATEGORIES));

/** Models sometimes double-encode nested arrays as a JSON string. */
const editsSchema = z.preprocess(
  (v) => {
    if (typeof v !== "string") return v;
    try {
      return JSON.parse(v);
    } catch {
      return v;
    }
  },
  z
    .array(z.object({ search: z.string().min(1, "search must not be empty"), replace: z.string() }))
    .min(1, "at least one edit is required"),
);

export const proposalReplySchema = z.object({
  description: z
    .string()
    .transform((s) => s.replace(/\s+/g, " ").trim())
    .pipe(z.string().min(1, "description must not be empty")),
  category: categorySchema,
  rationale: z.string().optional().default(""),
  direction: z.string().optional().default(""),
  // The research notes and the prediction are helpful, never required: a reply without them (or
  // with a malformed one) still makes an experiment.
  learned: z.string().optional().catch(undefined),
  ideas: z.preprocess((v) => (typeof v === "string" ? [v] : v), z.array(z.string()).max(50).optional()).catch(undefined),
  expected_delta: z.preprocess((v) => (typeof v === "string" && v.trim() !== "" ? Number(v) : v), z.number().finite().nullable().optional()).catch(undefined),
  edits: editsSchema,
});

export type ParseResult =
  | { ok: true; reply: ProposalReply }
  | { ok: false; error: string };

/** Validates a tool-call input (object or JSON text) or a text reply with a ```json block. */
export function parseProposalReply(source: { toolInput?: unknown; text?: string }): ParseResult {
  let candidate: unknown;
  if (source.toolInput !== undefined) {
    candidate = source.toolInput;
    if (typeof candidate === "string") {
      try {
        candidate = JSON.parse(candidate);
      } catch (error) {
        return { ok: false, error: `the ${"propose_experiment"} arguments were not valid JSON (${(error as Error).message})` };
      }
    }
  } else {
    const found = extractJson(source.text ?? "");
    if (!found.ok) return found;
    candidate = found.value;
  }
  // {"name": "propose_experiment", "arguments": {...}} written as text by some local models.
  if (candidate && typeof candidate === "object" && !Array.isArray(candidate)) {
    const obj = candidate as Record<string, unknown>;
    const inner = obj.arguments ?? obj.parameters ?? obj.input;
    if (!("edits" in obj) && inner !== undefined) {
      candidate = typeof inner === "string" ? safeJson(inner) ?? inner : inner;
    }
  }
  const parsed = proposalReplySchema.safeParse(candidate);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((i) => (i.path.length > 0 ? `${i.path.join(".")}: ${i.message}` : i.message))
      .join("; ");
    return { ok: false, error: `the proposal did not match the schema (${issues})` };
  }
  const edits: Edit[] = parsed.data.edits.map((e) => ({ search: e.search, replace: e.replace }));
  return {
    ok: true,
    reply: {
      description: parsed.data.description.length > 200 ? `${parsed.data.description.slice(0, 199)}…` : parsed.data.description,
      category: parsed.data.category,
      rationale: parsed.data.rationale.trim(),
      direction: parsed.data.direction.replace(/\s+/g, " ").trim(),
      learned: (parsed.data.learned ?? "").replace(/\s+/g, " ").trim(),
      ideas: (parsed.data.ideas ?? []).map((i) => i.replace(/\s+/g, " ").trim()).filter((i) => i.length > 0),
      expectedDelta: parsed.data.expected_delta ?? null,
      edits,
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The last ```json fenced block that parses, else the outermost {...} in the text. */
function extractJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  if (text.trim().length === 0) return { ok: false, error: "the reply was empty: no propose_experiment call and no JSON block" };
  const blocks = [...text.matchAll(/(`{3,})[ \t]*(?:json|JSON|jsonc)?[ \t]*\r?\n([\s\S]*?)\r?\n[ \t]*\1/g)];
  let lastError = "";
  for (const block of blocks.reverse()) {
    try {
      return { ok: true, value: JSON.parse(block[2] ?? "") };
    } catch (error) {
      lastError = (error as Error).message;
    }
  }
  const start = text.indexOf("{");
  const end = text.lastIndexOf("}");
  if (start >= 0 && end > start) {
    const value = safeJson(text.slice(start, end + 1));
    if (value !== undefined) return { ok: true, value };
  }
  return {
    ok: false,
    error: lastError
      ? `the JSON block could not be parsed (${lastError})`
      : "the reply had no propose_experiment call and no ```json block",
  };
}

/** The batch tool's arguments: several experiments, each shaped like one propose_experiment call. */
export const PROPOSALS_JSON_SCHEMA = {
  type: "object",
  properties: {
    experiments: {
      type: "array",
      minItems: 1,
      description: "The experiments, each one focused change applied on its own to the current training script.",
      items: PROPOSAL_JSON_SCHEMA,
    },
  },
  required: ["experiments"],
  additionalProperties: false,
} as const;

/** One experiment of a batch reply: usable, or why not (with its description when it had one). */
export type BatchItem = { ok: true; reply: ProposalReply } | { ok: false; error: string; description: string };

/**
 * Validates a batch reply (a propose_experiments call, or a text reply with a ```json block): the
 * envelope as a whole, then each experiment on its own, so one bad experiment does not cost the
 * others. A bare array, or a single experiment object, is accepted as a batch of its items.
 */
export function parseProposalBatch(source: { toolInput?: unknown; text?: string }): { ok: true; items: BatchItem[] } | { ok: false; error: string } {
  let candidate: unknown = source.toolInput;
  if (source.toolInput === undefined) {
    const found = extractJson(source.text ?? "");
    if (!found.ok) return found;
    candidate = found.value;
  }
  if (typeof candidate === "string") {
    candidate = safeJson(candidate);
    if (candidate === undefined) return { ok: false, error: "the propose_experiments arguments were not valid JSON" };
  }
  let list: unknown = candidate;
  if (candidate && typeof candidate === "object" && !Array.isArray(candidate)) {
    const obj = candidate as Record<string, unknown>;
    const inner = obj.experiments ?? (obj.arguments as Record<string, unknown> | undefined)?.experiments;
    list = inner === undefined ? ("edits" in obj ? [obj] : undefined) : typeof inner === "string" ? safeJson(inner) : inner;
  }
  if (!Array.isArray(list) || list.length === 0) return { ok: false, error: "the reply had no `experiments` array with at least one experiment" };
  return {
    ok: true,
    items: list.map((item): BatchItem => {
      const parsed = parseProposalReply({ toolInput: item });
      if (parsed.ok) return parsed;
      const raw = item && typeof item === "object" ? (item as Record<string, unknown>).description : undefined;
      return { ok: false, error: parsed.error, description: typeof raw === "string" && raw.trim() ? raw.replace(/\s+/g, " ").trim().slice(0, 200) : "(an experiment of the batch without a description)" };
    }),
  };
}
