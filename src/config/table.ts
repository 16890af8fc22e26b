/**
 * The spec's "Output of Phase 0 — Research Config" block, shown before the user confirms and
 * stored in the session. Rows and names follow the spec; the platform adjustments applied
 * (Phase 1.2: "Log the detected platform and applied adjustments in the research config";
 * torch settings, so only for a script that uses torch) and the experiment command follow.
 */
import { offeredText } from "../platform/adjustments.js";
import { type PlatformInfo, SCOPES } from "../types.js";
import { describePairing, keepRuleSettings } from "./keep-rules.js";
import type { ResearchConfig } from "./options.js";
import { formatDuration } from "./duration.js";
import { redactUrl } from "./redact.js";
import { type Protection, protectionText } from "../sandbox/mode.js";
import { wrapWords } from "../text.js";
import { researchBranch } from "../workspace/branch-names.js";

export function scopeText(scope: readonly string[]): string {
  return SCOPES.every((s) => scope.includes(s)) ? "all" : scope.join(" / ");
}

/** "CPU (Intel Xeon, 2 cores) with torch 1.13.1": the device and the torch the runs really get. */
export function platformText(platform: PlatformInfo): string {
  const device = platform.detail ? `${platform.label} (${platform.detail})` : platform.label;
  return platform.torch ? `${device} with torch ${platform.torch}` : device;
}

export interface TableOptions {
  /** Whether the training script uses torch; the adjustments row is shown only then (default true). */
  torch?: boolean;
  /** The training script's text: the adjustments row says which of their variables it reads. */
  script?: string;
  /** What protects the user's data from the runs (src/sandbox/); the row is shown when given. */
  protection?: Protection;
  /**
   * The terminal's width in columns: a table wider than that has its long values wrapped onto
   * continuation rows (the parameter cell left empty), so that no line wraps in the terminal and
   * scrambles the columns. Without it (a file, a pipe, the copy stored with the session) each
   * parameter is one row, exactly the spec's markdown block.
   */
  width?: number;
}

/** The rows of the table, in order: [parameter, value]. */
export function configRows(config: ResearchConfig, platform: PlatformInfo, options: TableOptions = {}): [string, string][] {
  const rows: [string, string][] = [
    ["Training script", config.train],
    ["Read-only script", config.readonly.length > 0 ? config.readonly.join(", ") : "(none)"],
    ["Time budget / run", formatDuration(config.budgetSec)],
    ["Metric", `${config.metric} (${config.direction})`],
    ["Max iterations", config.maxIterations === null ? "unlimited" : String(config.maxIterations)],
    ["Modification scope", scopeText(config.scope)],
    ["Branch", researchBranch(config.tag)],
    ["Results file", config.results],
    ["Platform", platformText(platform)],
    // Torch settings: none apply where the command's Python has no torch (null: probed, not found).
    ...(options.torch !== false ? [["Adjustments", platform.torch === null ? "none (torch is not installed in the command's Python)" : offeredText(platform.adjustments, options.script)] as [string, string]] : []),
    ["Command", `\`${config.command}\``],
    ["Hard timeout / run", formatDuration(config.timeoutSec)],
    ...(options.protection ? [["Sandbox", protectionText(options.protection)] as [string, string]] : []),
    ["Proposer", config.proposer === "agent" && config.agent ? `agent (${config.agent})` : config.model ? `${config.proposer} (${config.model})` : config.proposer],
  ];
  if (config.workers !== undefined && config.workers !== 1) rows.push(["Workers", config.devices?.length ? `${config.workers} (devices ${config.devices.join(", ")})` : String(config.workers)]);
  if (config.hypothesis) rows.push(["Hypothesis", config.hypothesis]);
  if (config.plan) rows.push(["Plan", config.plan]);
  if (config.stopWhen) rows.push(["Stop when", config.stopWhen]);
  if (config.maxTimeSec !== undefined) rows.push(["Max time", formatDuration(config.maxTimeSec)]);
  if (config.maxCostUsd !== undefined) rows.push(["Max cost", `$${config.maxCostUsd}`]);
  // The baseline runs when more than the spec's one; the keep rule always (the default is not the spec's).
  if ((config.baselineRuns ?? 1) > 1) rows.push(["Baseline runs", String(config.baselineRuns)]);
  if (config.keepRule === "any") rows.push(["Keep rule", "any (better by any amount on one run: the spec's plain loop)"]);
  if (config.keepRule === "threshold") rows.push(["Keep rule", `threshold (better by more than ${config.minDelta})`]);
  if (config.keepRule === "confirm") {
    const rule = keepRuleSettings(config);
    const pairing = describePairing(rule);
    rows.push(["Keep rule", pairing ? `confirm (paired: kept when better than its parent by > ${rule.confidence} standard errors)` : `confirm (${rule.confirmRuns} more runs, mean better by > ${rule.confidence}× the noise floor)`]);
    if (pairing) rows.push(["Paired band", pairing]);
  }
  if (config.checks?.length) rows.push(["Checks", config.checks.join("; ")]);
  if (config.notify !== undefined) rows.push(["Notify", redactUrl(config.notify)]);
  return rows;
}

const cell = (text: string): string => text.replace(/\r?\n/g, " ").replace(/\|/g, "\\|");

/** Narrower than this, a value column is not worth having: the table becomes a list. */
const MIN_VALUE_WIDTH = 12;

export function renderConfigTable(config: ResearchConfig, platform: PlatformInfo, options: TableOptions = {}): string {
  const rows = configRows(config, platform, options).map(([k, v]) => [cell(k), cell(v)] as const);
  const w1 = Math.max("Parameter".length, ...rows.map(([k]) => k.length));
  const full = Math.max("Value".length, ...rows.map(([, v]) => v.length));
  const width = options.width;
  // "| " + parameter + " | " + value + " |"
  const fits = width === undefined || w1 + full + 7 <= width;
  const w2 = fits ? full : (width as number) - w1 - 7;
  if (w2 < MIN_VALUE_WIDTH) return renderConfigList(rows, width as number);
  const line = (a: string, b: string): string => `| ${a.padEnd(w1)} | ${b.padEnd(w2)} |`;
  return [
    "## AutoResearch Config",
    "",
    line("Parameter", "Value"),
    `|${"-".repeat(w1 + 2)}|${"-".repeat(w2 + 2)}|`,
    ...rows.flatMap(([k, v]) => (fits ? [line(k, v)] : wrapWords(v, w2).map((part, i) => line(i === 0 ? k : "", part)))),
    "",
  ].join("\n");
}

/** A terminal too narrow for two columns: each parameter on its line, its value below, indented and wrapped. */
function renderConfigList(rows: readonly (readonly [string, string])[], width: number): string {
  const wrapped = (text: string, indent: string) => wrapWords(text, width - indent.length).map((part) => `${indent}${part}`);
  return ["## AutoResearch Config", "", ...rows.flatMap(([k, v]) => [...wrapped(`${k}:`, ""), ...wrapped(v, "  ")]), ""].join("\n");
}
