import { describe, expect, it } from "vitest";
import { AWAY_EVERY, combinationInFlight, nextCombination, ownChangeBase, proposalBase, stackText } from "../../src/search/tree-moves.js";
import type { SessionState } from "../../src/search/session.js";
import type { ExperimentRecord } from "../../src/types.js";
import type { Git } from "../../src/workspace/git.js";

const sha = (id: number) => `c${id}`.padEnd(40, "0");
const script = (a: number, b: number, c: number) => `A = ${a}\nB = ${b}\nC = ${c}\n`;

function record(id: number, parent: number, metric: number, extra: Partial<ExperimentRecord> = {}): ExperimentRecord {
  return {
    id,
    commit: sha(id),
    parent: sha(parent),
    trainHash: `h${id}`,
    description: `experiment ${id}`,
    category: id === 0 ? "baseline" : "hyperparameters",
    status: "keep",
    reason: id === 0 ? "baseline" : "improved",
    metric,
    memGb: null,
    params: null,
    bestBefore: null,
    startedAt: "2025-01-01T00:00:00Z",
    finishedAt: "2025-01-01T00:00:01Z",
    durationSec: 1,
    proposer: "builtin",
    lines: 3,
    ...extra,
  };
}

/**
 * #1 (A 1 -> 2) and #2 (B 1 -> 2) beat the root. #3 combined #2 into #1; #4 and #5 were made on that
 * combination while it ran: #4 with C 1 -> 2 (the head), #5 with A 2 -> 3. Every script is known,
 * so no git is needed.
 */
function session(): SessionState {
  const history = [
    record(0, 0, 1),
    record(1, 0, 0.9),
    record(2, 0, 0.95),
    record(3, 1, 0.85, { combines: [2], description: "combine #2 into #1: B 1 -> 2" }),
    record(4, 1, 0.8, { combines: [2], onCombination: true, description: "#2 + C 1 -> 2" }),
    record(5, 1, 0.82, { combines: [2], onCombination: true, description: "#2 + A 2 -> 3" }),
  ];
  const texts: [number, string][] = [
    [0, script(1, 1, 1)],
    [1, script(2, 1, 1)],
    [2, script(1, 2, 1)],
    [3, script(2, 2, 1)],
    [4, script(2, 2, 2)],
    [5, script(3, 2, 1)],
  ];
  return {
    history,
    info: { config: { direction: "min", train: "train.py" } },
    trainTexts: new Map(texts.map(([id, text]) => [sha(id), text])),
  } as unknown as SessionState;
}
const git = {} as Git;

describe("combining nodes made on a combination", () => {
  it("a node's own change is made on its parent with the nodes it combines applied", async () => {
    const s = session();
    expect(await ownChangeBase(s, git, s.history[5] as ExperimentRecord)).toBe(script(2, 2, 1));
    expect(await ownChangeBase(s, git, s.history[1] as ExperimentRecord)).toBe(script(1, 1, 1));
    expect(await stackText(s, git, sha(1), [2])).toBe(await ownChangeBase(s, git, s.history[3] as ExperimentRecord));
  });

  it("combines only what a node made on a combination added: #5's A 2 -> 3 onto the head #4, which has the combination already", async () => {
    const s = session();
    const next = await nextCombination(s, git, [], new Set());
    expect(next?.kind).toBe("run");
    if (next?.kind !== "run") return;
    expect(next.combines).toEqual([5]);
    expect(next.base).toBe(sha(4));
    expect(next.newText).toBe(script(3, 2, 2));
    expect(next.proposal.description).toBe("combine #5 into #4: A 2 -> 3");
    // A pure combination has no change of its own.
    expect(next.proposal.changes).toEqual([]);
  });

  it("new proposals build on the combination in flight onto the head that holds the most nodes", async () => {
    const s = session();
    const head = sha(4);
    const found = await combinationInFlight(s, git, [
      { key: 6, base: head, combines: [5] },
      { key: 7, base: head, combines: [5], onCombination: true },
      { key: 8, base: sha(1), combines: [2, 5] },
    ]);
    expect(found).toEqual({ key: 6, combines: [5], text: script(3, 2, 2) });
    expect(await combinationInFlight(s, git, [{ key: 7, base: head, combines: [5], onCombination: true }])).toBeNull();
  });
});

describe("where proposals build while the head stagnates", () => {
  it("with several workers one request in AWAY_EVERY builds on another strong node, the others stay on the head", () => {
    // #1 is the head; #2, a sibling that also beat the root, is another strong node; #1's last 4 children lost (K = 2 x 2 workers).
    const history = [record(0, 0, 1), record(1, 0, 0.8), record(2, 0, 0.9), ...[3, 4, 5, 6].map((id) => record(id, 1, 0.85, { status: "discard", reason: "regression" }))];
    const of = (workers: number) => ({ history, info: { config: { direction: "min", search: "tree" } }, workers: Array.from({ length: workers }, () => ({})) }) as unknown as SessionState;
    const turns = (workers: number) => Array.from({ length: 2 * AWAY_EVERY }, (_, turn) => proposalBase(of(workers), turn).node.id);
    expect(turns(2)).toEqual([2, 1, 1, 1, 2, 1, 1, 1]);
    expect(proposalBase(of(2), 0).why).toMatch(/the best #1 has had 4 children in a row without a keep, so this builds on #2/);
    // One worker: the rotation goes over the other strong nodes and then the head.
    expect(Array.from({ length: 4 }, (_, turn) => proposalBase(of(1), turn).node.id)).toEqual([2, 1, 2, 1]);
  });
});

