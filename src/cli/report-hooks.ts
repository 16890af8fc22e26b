import { readMemory } from "../ledger/memory.js";
import type { LoopDeps, SessionState } from "../loop/state.js";
import { fromRecords } from "../report/model.js";
import { renderProgressReport } from "../report/progress.js";
import { writeSessionReports } from "../report/write.js";

function dataOf(session: SessionState) {
  const data = fromRecords(session.history, session.info, { resultsPath: session.ledger.resultsPath });
  data.memory = readMemory(session.paths.memory);
  return data;
}

/** The progress report (spec 2.6) and the Phase 3 files, plugged into the loop. */
export function reportHooks(warn: (message: string) => void = () => {}): Pick<LoopDeps, "writeReports" | "renderProgress"> {
  return {
    renderProgress: (session) => renderProgressReport(dataOf(session), { maxIterations: session.info.config.maxIterations }),
    writeReports: async (session) => {
      const written = await writeSessionReports(session.root, session.paths, dataOf(session));
      for (const warning of written.warnings) warn(warning);
      return [written.summaryPath, written.svgPath, written.pngPath].filter((p): p is string => p !== null);
    },
  };
}
