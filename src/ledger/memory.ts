import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { UsageError } from "../errors.js";
import type { MemoryEntry } from "../types.js";
import { appendDurable } from "./files.js";
import type { SessionPaths } from "./paths.js";
import { cleanField } from "./results-tsv.js";

/**
 * The session's research notes (memory.jsonl beside experiments.jsonl): what the model learned
 * from each result, the dead ends, and a backlog of ideas, plus the user's own notes
 * (`autoresearch note`). Append-only and written by two processes (the loop and `note`), each
 * append one small write so lines never interleave; the views below are bounded however long the
 * session runs.
 */

/** How many of each kind the brief, the progress report and the summary show. */
export const MEMORY_LIMITS = { findings: 12, deadEnds: 12, ideas: 8, ideasKept: 30 } as const;
const MAX_TEXT = 300;

export interface MemoryView {
  findings: MemoryEntry[];
  deadEnds: MemoryEntry[];
  /** The backlog shown now: the user's ideas first, then a rotating window of the model's. */
  ideas: MemoryEntry[];
  /** Backlog size after de-duplication and the rolling cap (what `ideas` is a window of). */
  backlog: number;
}

/**
 * Reads the notes. A line still being written, or torn by a crash, is skipped (never cut: another
 * process may be appending); appends always start on a fresh line, so the notes after it count.
 */
export function readMemory(path: string): MemoryEntry[] {
  if (!existsSync(path)) return [];
  const out: MemoryEntry[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    try {
      const entry = JSON.parse(line) as MemoryEntry;
      if (isEntry(entry)) out.push(entry);
    } catch {
      // torn or half-written: not a note (yet)
    }
  }
  return out;
}

/** Appends entries in one write (a torn last line from a crash is skipped by readers). */
export function appendMemory(path: string, entries: MemoryEntry[]): void {
  const clean = entries.map(cleanEntry).filter((e) => e.text.length > 0);
  if (clean.length === 0) return;
  // A crash may have left a line without its newline: start on a fresh line so ours stays whole.
  const lead = endsMidLine(path) ? "\n" : "";
  appendDurable(path, lead + clean.map((e) => `${JSON.stringify(e)}\n`).join(""));
}

/**
 * The entries a proposal adds: its `learned` line (a finding when the experiment it is about was
 * kept, a dead end otherwise) and its ideas.
 */
export function proposalMemory(
  proposal: { learned?: string; ideas?: string[] },
  about: { id: number; kept: boolean } | null,
  proposedIn: number,
  at: string,
): MemoryEntry[] {
  const out: MemoryEntry[] = [];
  const learned = oneLine(proposal.learned ?? "");
  if (learned && about) out.push({ at, kind: about.kept ? "finding" : "dead-end", text: learned, source: "model", experiment: about.id });
  for (const idea of proposal.ideas ?? []) {
    const text = oneLine(idea);
    if (text) out.push({ at, kind: "idea", text, source: "model", experiment: proposedIn });
  }
  return out;
}

/**
 * What to show at `iteration`: the latest findings and dead ends, and the ideas backlog (latest
 * `ideasKept` distinct ideas) as the user's ideas plus a window of the model's that moves on by
 * `ideas` every iteration, so the model is not handed the same first items each time.
 */
export function memoryView(entries: readonly MemoryEntry[], iteration: number, limits = MEMORY_LIMITS): MemoryView {
  const findings = entries.filter((e) => e.kind === "finding").slice(-limits.findings);
  const deadEnds = entries.filter((e) => e.kind === "dead-end").slice(-limits.deadEnds);
  const seen = new Set<string>();
  const distinct: MemoryEntry[] = [];
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i] as MemoryEntry;
    if (e.kind !== "idea") continue;
    const key = e.text.toLowerCase().replace(/[^a-z0-9]+/g, " ").trim();
    if (seen.has(key)) continue;
    seen.add(key);
    distinct.unshift(e);
  }
  const backlog = distinct.slice(-limits.ideasKept);
  const users = backlog.filter((e) => e.source === "user").slice(-limits.ideas);
  const models = backlog.filter((e) => e.source !== "user");
  const room = Math.max(0, limits.ideas - users.length);
  let window = models;
  if (models.length > room) {
    const start = (Math.max(0, iteration) * room) % models.length;
    window = [...models.slice(start), ...models.slice(0, start)].slice(0, room);
  }
  return { findings, deadEnds, ideas: [...users, ...window], backlog: backlog.length };
}

/** One note as shown everywhere: "[user] text", "#4: what experiment 4 taught", or an idea's text. */
export function noteLine(e: MemoryEntry, escapeText: (text: string) => string = (t) => t): string {
  const who = e.source === "user" ? "[user] " : e.kind !== "idea" && e.experiment !== undefined ? `#${e.experiment}: ` : "";
  return `${who}${escapeText(e.text)}`;
}

/** The notes as markdown lines (progress report, summary); empty when there are none. */
export function memoryMarkdown(view: MemoryView, escapeText: (text: string) => string = (t) => t): string[] {
  const out: string[] = [];
  const item = (e: MemoryEntry) => `- ${noteLine(e, escapeText)}`;
  if (view.findings.length > 0) out.push("**Findings:**", "", ...view.findings.map(item), "");
  if (view.deadEnds.length > 0) out.push("**Dead ends:**", "", ...view.deadEnds.map(item), "");
  if (view.ideas.length > 0) {
    const of = view.backlog > view.ideas.length ? ` (${view.ideas.length} of ${view.backlog}, rotating)` : "";
    out.push(`**Ideas backlog${of}:**`, "", ...view.ideas.map(item), "");
  }
  return out;
}

function endsMidLine(path: string): boolean {
  if (!existsSync(path)) return false;
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return false;
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    return last[0] !== 0x0a;
  } finally {
    closeSync(fd);
  }
}

function cleanEntry(e: MemoryEntry): MemoryEntry {
  return { ...e, text: oneLine(e.text) };
}

function oneLine(text: string): string {
  // Control characters would break the markdown and the terminal; one line, bounded.
  const flat = cleanField(text).replace(/\s+/g, " ");
  return flat.length > MAX_TEXT ? `${flat.slice(0, MAX_TEXT - 1)}…` : flat;
}

function isEntry(e: unknown): e is MemoryEntry {
  if (!e || typeof e !== "object") return false;
  const o = e as Record<string, unknown>;
  return (o.kind === "finding" || o.kind === "dead-end" || o.kind === "idea") && typeof o.text === "string" && (o.source === "model" || o.source === "user");
}

export type NoteKind = "idea" | "finding" | "dead-end";

/**
 * `autoresearch note`: one of the user's notes added to the session's research notes. Refuses
 * (exit 2, nothing written) when there is no session here or the text is empty.
 */
export function addUserNote(paths: SessionPaths, text: string, kind: NoteKind, at: Date): MemoryEntry {
  if (!existsSync(paths.session)) {
    throw new UsageError(`no autoresearch session in ${paths.root}`, "Run `autoresearch note` in the repo of a session started with `autoresearch run` (or pass --dir).");
  }
  const entry: MemoryEntry = cleanEntry({ at: at.toISOString(), kind, text, source: "user" });
  if (entry.text.length === 0) throw new UsageError("the note is empty", 'Give the note as text, e.g. autoresearch note "try rotary embeddings".');
  appendMemory(paths.memory, [entry]);
  return entry;
}
