import type { ExperimentRecord } from "../../src/types.js";
import { buildRecords } from "./session-fixture.js";

/**
 * A small research tree (val_bpb, lower is better), decided in this order:
 *
 *   #0 baseline 1.000
 *   ├─ #1 lower LR          0.980 keep      (on #0)
 *   │  └─ #5 warmup 200     0.975 keep      (on #1: the last keep, not the best)
 *   ├─ #2 ReLU²             0.970 keep      (on #0)
 *   │  ├─ #3 depth 10       0.990 discard   (on #2)
 *   │  └─ #4 lower LR on #2 0.960 keep      (on #2, combines #1: the head)
 *   └─ #6 dropout 0.1       —     crash     (on #0)
 *
 * The head is #4, its lineage #0 → #2 → #4; #1 (combined into #4) and #5 are kept off it.
 */
export function treeRecords(): ExperimentRecord[] {
  const plan: { description: string; metric: number | null; parent: number; status: ExperimentRecord["status"]; combines?: number[] }[] = [
    { description: "lower LR", metric: 0.98, parent: 0, status: "keep" },
    { description: "ReLU² activation", metric: 0.97, parent: 0, status: "keep" },
    { description: "depth 10", metric: 0.99, parent: 2, status: "discard" },
    { description: "lower LR on ReLU²", metric: 0.96, parent: 2, status: "keep", combines: [1] },
    { description: "warmup 200 steps", metric: 0.975, parent: 1, status: "keep" },
    { description: "dropout 0.1", metric: null, parent: 0, status: "crash" },
  ];
  const records = buildRecords(1.0, plan.map((p) => ({ description: p.description, metric: p.metric, status: p.status })));
  plan.forEach((p, i) => {
    const r = records[i + 1] as ExperimentRecord;
    const parent = records[p.parent] as ExperimentRecord;
    r.parent = parent.commit;
    r.bestBefore = parent.metric;
    r.reason = p.status === "keep" ? "improved" : p.status === "crash" ? "exit-code" : "regression";
    if (p.combines) r.combines = p.combines;
  });
  return records;
}
