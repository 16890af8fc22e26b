import type { LoopDeps } from "../loop/state.js";

/** The progress report and end-of-session files, plugged into the loop. */
export function reportHooks(): Pick<LoopDeps, "writeReports" | "renderProgress"> {
  return {};
}
