/** The runner: one execution of the experiment command under the time budget. */
export { LineSplitter } from "./line-splitter.js";
export { DEFAULT_MAX_LOG_BYTES, elisionLine, LogSink } from "./log-sink.js";
export { isOomLine, matchMemGb, matchMetric, matchParams, matchSteps, matchTrainingSec, metricRegExp, NUMBER_SOURCE, parseNumber } from "./metrics.js";
export { DEFAULT_TAIL_LINES, OutputScanner, type ScanResult } from "./output-scanner.js";
export {
  listRunPids,
  parsePsListing,
  type ProcEntry,
  RUN_ID_ENV,
  type RunTree,
  readProcTable,
  selectRunPids,
} from "./process-list.js";
export { cgroupShellArgs, createRunCgroup, removeRunCgroup, removeRunCgroupWhenEmpty, runCgroupDir } from "./cgroup.js";
export { type KillTreeOptions, type KillTreeResult, killRunTree, trySignal, windowsKillCommand } from "./process-tree.js";
export { RssSampler, type RssSamplerOptions, readRssBytes } from "./rss.js";
