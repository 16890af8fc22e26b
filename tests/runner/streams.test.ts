import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LineSplitter } from "../../src/runner/line-splitter.js";
import { elisionLine, LogSink } from "../../src/runner/log-sink.js";
import { OutputScanner } from "../../src/runner/output-scanner.js";

function split(chunks: (string | Buffer)[], max?: number): string[] {
  const lines: string[] = [];
  const s = new LineSplitter((l) => lines.push(l), max);
  for (const c of chunks) s.push(typeof c === "string" ? Buffer.from(c) : c);
  s.end();
  return lines;
}

describe("LineSplitter", () => {
  it("splits on \\n, \\r\\n and lone \\r, across chunk boundaries, skipping empty lines", () => {
    expect(split(["a\nb", "c\r", "\nd\r\re", "\rf\n\n", "last"])).toEqual(["a", "bc", "d", "e", "f", "last"]);
  });

  it("keeps a multi-byte character split between chunks", () => {
    const b = Buffer.from("é: 1\n");
    expect(split([b.subarray(0, 1), b.subarray(1)])).toEqual(["é: 1"]);
  });

  it("cuts an over-long line and drops the rest of it", () => {
    expect(split(["x".repeat(30), "y".repeat(30), "z\nval: 1\n"], 16)).toEqual(["x".repeat(16), "val: 1"]);
  });
});

describe("OutputScanner", () => {
  it("keeps the last metric, memory, params, OOM and the last 50 lines", () => {
    const s = new OutputScanner({ name: "loss" });
    s.line("loss: 3");
    s.line("CUDA out of memory");
    for (let i = 0; i < 100; i++) s.line(`step ${i}`);
    s.line("loss: 2");
    s.line("peak_vram_mb: 512");
    s.line("num_params_M: 1.5");
    const r = s.result();
    expect(r).toMatchObject({ metric: 2, memGb: 0.5, params: 1_500_000, oom: true });
    expect(r.tailLines).toHaveLength(50);
    expect(r.tailLines.at(-1)).toBe("num_params_M: 1.5");
    expect(r.tailLines[0]).toBe("step 53");
    // No summary block: no steps or training seconds (absent, not zero).
    expect(r).not.toHaveProperty("steps");
    expect(r).not.toHaveProperty("trainingSec");
  });

  it("reads the steps and training seconds of Karpathy's summary block", () => {
    const s = new OutputScanner({ name: "val_bpb" });
    s.line("step 100 loss 2.1");
    s.line("---");
    s.line("val_bpb:          0.997900");
    s.line("training_seconds: 300.1");
    s.line("total_seconds:    325.9");
    s.line("num_steps:        953");
    expect(s.result()).toMatchObject({ metric: 0.9979, steps: 953, trainingSec: 300.1 });
  });
});

describe("LogSink", () => {
  const dir = mkdtempSync(join(tmpdir(), "ar-sink-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("writes everything when under the cap, creating the folder", () => {
    const path = join(dir, "a", "b", "run.log");
    const sink = new LogSink(path, 100);
    sink.write("hello\n");
    sink.write(Buffer.from("x".repeat(94)));
    sink.close();
    sink.close();
    expect(readFileSync(path, "utf8")).toBe(`hello\n${"x".repeat(94)}`);
  });

  it("keeps the first and last halves with an elision line, for any chunking", () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let trial = 0; trial < 200; trial++) {
      const cap = 2 + rand(40);
      const total = rand(150);
      const full = Buffer.from(Array.from({ length: total }, (_, i) => 33 + ((i * 7 + trial) % 90)));
      const path = join(dir, `t${trial}.log`);
      const sink = new LogSink(path, cap);
      for (let off = 0; off < total; ) {
        const n = Math.min(total - off, 1 + rand(cap * 2));
        sink.write(full.subarray(off, off + n));
        off += n;
      }
      sink.close();
      const head = Math.floor(cap / 2);
      const tail = cap - head;
      const expected =
        total <= cap
          ? full.toString("latin1")
          : full.subarray(0, head).toString("latin1") +
            elisionLine(total - cap) +
            full.subarray(total - tail).toString("latin1");
      expect(readFileSync(path, "latin1"), `cap ${cap} total ${total}`).toBe(expected);
    }
  });
});
