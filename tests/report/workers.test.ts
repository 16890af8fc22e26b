import { describe, expect, it } from "vitest";
import { runInterval, unionSec, workersTable, workersView } from "../../src/report/workers.js";

const T0 = Date.parse("2026-01-01T00:00:00Z");
/** ISO time `sec` seconds after T0. */
const at = (sec: number) => new Date(T0 + sec * 1000).toISOString();

interface Spec {
  id: number;
  worker?: number;
  device?: string | null;
  host?: string;
  start: number;
  run?: number;
  end: number;
  pendingSec?: number;
}
const exp = (s: Spec) => ({
  iteration: s.id,
  startedAt: at(s.start),
  finishedAt: at(s.end),
  ...(s.worker !== undefined && { worker: s.worker }),
  ...(s.device !== undefined && { device: s.device }),
  ...(s.host !== undefined && { host: s.host }),
  ...(s.run !== undefined && { runStartedAt: at(s.run) }),
  ...(s.pendingSec !== undefined && { pendingSec: s.pendingSec }),
});

describe("worker throughput and utilisation", () => {
  it("is absent for a session with one worker, or records without workers", () => {
    expect(workersView([exp({ id: 0, start: 0, end: 10 }), exp({ id: 1, start: 10, end: 20 })])).toBeNull();
    expect(workersView([exp({ id: 0, worker: 0, start: 0, end: 10 }), exp({ id: 1, worker: 0, start: 10, end: 20 })])).toBeNull();
  });

  it("counts overlapping runs on one device once, leaves gaps out, and clips to the session", () => {
    expect(unionSec([[0, 10_000], [5_000, 15_000], [20_000, 30_000]], 0, 100_000)).toBe(25);
    expect(unionSec([[20_000, 30_000], [0, 10_000]], 5_000, 25_000)).toBe(10);
    expect(unionSec([], 0, 1000)).toBe(0);
  });

  it("per worker: decided experiments per hour and the share of wall time it ran something", () => {
    // A 1000 s session; w0 on device 0 busy 0-100 (baseline), 100-500, 600-1000: 900 s; w1 on device 1
    // busy 100-300 and 700-800: 300 s (its time between experiments is idle).
    const view = workersView(
      [
        exp({ id: 0, worker: 0, device: "0", start: 0, end: 100 }),
        exp({ id: 1, worker: 0, device: "0", start: 100, end: 500 }),
        exp({ id: 2, worker: 1, device: "1", start: 100, end: 300 }),
        exp({ id: 3, worker: 0, device: "0", start: 600, end: 1000 }),
        exp({ id: 4, worker: 1, device: "1", start: 700, end: 800 }),
      ],
      { startedAt: at(0) },
    );
    expect(view).not.toBeNull();
    expect(view?.wallSec).toBe(1000);
    const [w0, w1] = view?.workers ?? [];
    expect(w0).toMatchObject({ worker: 0, device: "0", decided: 2, busySec: 900, utilisation: 0.9 });
    expect(w0?.perHour).toBeCloseTo(2 / (1000 / 3600), 6);
    expect(w1).toMatchObject({ worker: 1, device: "1", decided: 2, busySec: 300, utilisation: 0.3 });
    expect(view?.devices.map((d) => [d.device, d.utilisation])).toEqual([
      ["0", 0.9],
      ["1", 0.3],
    ]);
  });

  it("excludes time waiting in a cluster queue: from runStartedAt, else startedAt + pendingSec", () => {
    const queued = exp({ id: 1, worker: 0, device: "0", start: 0, run: 60, end: 100 });
    expect(runInterval(queued)).toEqual([T0 + 60_000, T0 + 100_000]);
    const pendingOnly = exp({ id: 2, worker: 1, device: "1", start: 0, end: 100, pendingSec: 30 });
    expect(runInterval(pendingOnly)).toEqual([T0 + 30_000, T0 + 100_000]);
    const view = workersView([queued, pendingOnly], { startedAt: at(0), endMs: T0 + 200_000 });
    expect(view?.workers.map((w) => w.busySec)).toEqual([40, 70]);
    expect(view?.workers.map((w) => w.utilisation)).toEqual([0.2, 0.35]);
  });

  it("a device two workers share is busy while either runs; hosts keep same-numbered devices apart", () => {
    const view = workersView(
      [
        exp({ id: 1, worker: 0, device: "0", host: "gpu1", start: 0, end: 50 }),
        exp({ id: 2, worker: 1, device: "0", host: "gpu1", start: 25, end: 75 }),
        exp({ id: 3, worker: 2, device: "0", host: "gpu2", start: 0, end: 100 }),
      ],
      { startedAt: at(0), endMs: T0 + 100_000 },
    );
    expect(view?.devices).toEqual([
      { device: "gpu1:0", workers: [0, 1], busySec: 75, utilisation: 0.75 },
      { device: "gpu2:0", workers: [2], busySec: 100, utilisation: 1 },
    ]);
    const table = workersTable(view as NonNullable<typeof view>).join("\n");
    expect(table).toContain("| w2 | gpu2:0 | 1 |");
    expect(table).toContain("Devices shared by several workers: gpu1:0 75% busy (w0, w1).");
  });

  it("a run still going when the session is looked at counts up to now, not past it", () => {
    const view = workersView(
      [exp({ id: 1, worker: 0, device: "0", start: 0, end: 500 }), exp({ id: 2, worker: 1, device: "1", start: 0, end: 50 })],
      { startedAt: at(0), endMs: T0 + 100_000 },
    );
    expect(view?.workers[0]?.busySec).toBe(100);
    expect(view?.workers[0]?.utilisation).toBe(1);
  });
});
