import { readMemory } from "../ledger/memory.js";
import type { LoopDeps, SessionState } from "../search/session.js";
import { loadFinalizeView } from "../report/finalize-view.js";
import { fromRecords, headRef } from "../report/model.js";
import { preloadPngRenderer } from "../report/png.js";
import { renderProgressReport } from "../report/progress.js";
import { type ProjectionNames, projectionNamesIn, trackedNotice, writeSessionReports } from "../report/write.js";

/** The projections' names in this session's checkout; each tracked name said once, as a warning. */
async function namesFor(root: string, warn: (message: string) => void): Promise<ProjectionNames> {
  const { names, tracked } = await projectionNamesIn(root);
  for (const name of tracked) warn(trackedNotice(name));
  return names;
}

function dataOf(session: SessionState) {
  const data = fromRecords(session.history, session.info, { resultsPath: session.ledger.resultsPath });
  data.memory = readMemory(session.paths.memory);
  // A finalize of an earlier best stays in the summary, marked as measuring the best of then.
  data.finalize = loadFinalizeView(session.paths, headRef(data));
  return data;
}

/** At most one projection of the summary and chart starts in this many ms (the last one is never dropped). */
export const PROJECTION_INTERVAL_MS = 5000;
/**
 * A projection renders progress.png again only when the last one is this old (the SVG and the
 * summary follow every projection): a PNG costs a tenth of a second or more of CPU, as much as a
 * short experiment's whole bookkeeping. The session's last write always renders it.
 */
export const PNG_INTERVAL_MS = 60_000;

/**
 * The progress report (spec 2.6) and the Phase 3 files, plugged into the loop. The summary and
 * chart are projections of the ledger: made again after each decision (coalesced, at most one
 * writer at a time and one start per PROJECTION_INTERVAL_MS, the PNG at most once per
 * PNG_INTERVAL_MS and off the main thread) and once more, awaited, when the session ends.
 */
export function reportHooks(warn: (message: string) => void = () => {}): Pick<LoopDeps, "writeReports" | "renderProgress" | "projectReports"> {
  let writing: Promise<unknown> | null = null;
  let pending: SessionState | null = null;
  let timer: NodeJS.Timeout | null = null;
  let lastStart = 0;
  const warned = new Set<string>();
  let names: Promise<ProjectionNames> | null = null;
  // Counted from the first projection: a session shorter than PNG_INTERVAL_MS renders its PNG once, at the end.
  let firstWrite: number | null = null;
  let lastPng: number | null = null;
  const write = async (session: SessionState, final: boolean) => {
    names ??= namesFor(session.root, warn);
    const now = Date.now();
    firstWrite ??= now;
    const render = final || now - (lastPng ?? firstWrite) >= PNG_INTERVAL_MS;
    if (render) lastPng = now;
    const png = render ? "render" : lastPng !== null ? "kept" : "skipped";
    // A projection is written while the next run is in flight: the renderer loads then, not at the end.
    if (!render) preloadPngRenderer();
    const written = await writeSessionReports(session.root, session.paths, dataOf(session), { names: await names, png });
    for (const warning of written.warnings) {
      if (!warned.has(warning)) warn(warning);
      warned.add(warning);
    }
    return written;
  };
  const pump = () => {
    timer = null;
    if (writing || !pending) return;
    const wait = lastStart + PROJECTION_INTERVAL_MS - Date.now();
    if (wait > 0) {
      timer = setTimeout(pump, wait);
      timer.unref();
      return;
    }
    const session = pending;
    pending = null;
    lastStart = Date.now();
    writing = write(session, false)
      .catch((error: unknown) => warn(`the summary and chart were not updated: ${(error as Error).message}`))
      .finally(() => {
        writing = null;
        pump();
      });
  };
  return {
    renderProgress: (session) => renderProgressReport(dataOf(session), { maxIterations: session.info.config.maxIterations }),
    projectReports: (session) => {
      pending = session;
      if (!timer) pump();
    },
    writeReports: async (session) => {
      // The final write wins: a projection still queued is dropped, one in progress finishes first.
      pending = null;
      if (timer) clearTimeout(timer);
      timer = null;
      while (writing) await writing;
      const written = await write(session, true);
      return [written.summaryPath, written.svgPath, written.pngPath].filter((p): p is string => p !== null);
    },
  };
}
