import { locateSession } from "../ledger/paths.js";
import { loadReportData } from "../report/load.js";
import { projectionNamesIn, trackedNotice, writeSessionReports } from "../report/write.js";

/**
 * After `finalize` (finished or stopped): the checkout's summary and chart again, so the summary
 * says when the session was finalized and holds the table (they are projections of the records,
 * and finalize.jsonl is one of them). Only for the session the checkout's projections belong to:
 * the current one. Returns the summary's path, or null when it is not written; never throws
 * (the table is printed and kept in the records whatever happens here).
 */
export async function projectAfterFinalize(root: string, tag: string, warn: (message: string) => void): Promise<string | null> {
  try {
    const current = locateSession(root);
    if (!current || current.dir !== locateSession(root, tag)?.dir) return null;
    const data = loadReportData({ root });
    const { names, tracked } = await projectionNamesIn(root);
    for (const name of tracked) warn(trackedNotice(name));
    const written = await writeSessionReports(root, current, data, { names });
    for (const warning of written.warnings) warn(warning);
    return written.summaryPath;
  } catch (error) {
    warn(`the summary was not updated: ${(error as Error).message}`);
    return null;
  }
}
