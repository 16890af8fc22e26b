/**
 * Peak resident memory of a run's process tree, sampled periodically and summed over its live
 * pids: /proc/<pid>/status VmRSS on Linux, `ps -o rss=` elsewhere on POSIX, nothing on Windows.
 * Used for mem_gb when the run prints no `peak_vram_mb` line.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";

/** Sum of resident set sizes of `pids` in bytes (pids that vanished count 0), or null on Windows. */
export async function readRssBytes(
  pids: readonly number[],
  platform: NodeJS.Platform = process.platform,
): Promise<number | null> {
  if (platform === "win32") return null;
  if (pids.length === 0) return 0;
  if (platform === "linux") {
    let kb = 0;
    for (const pid of pids) {
      try {
        const m = /^VmRSS:\s+(\d+)\s*kB/m.exec(readFileSync(`/proc/${pid}/status`, "latin1"));
        if (m) kb += Number(m[1]);
      } catch {
        // exited between listing and reading
      }
    }
    return kb * 1024;
  }
  return new Promise((resolve) => {
    execFile("ps", ["-o", "rss=", "-p", pids.join(",")], { windowsHide: true }, (_err, stdout) => {
      // ps exits 1 when some pid is gone but still prints the others.
      const kb = String(stdout ?? "")
        .split("\n")
        .reduce((sum, l) => sum + (Number(l.trim()) || 0), 0);
      resolve(kb * 1024);
    });
  });
}

export interface RssSamplerOptions {
  intervalMs?: number;
  platform?: NodeJS.Platform;
}

/** Samples the summed RSS of whatever `listPids` returns, keeping the peak. */
export class RssSampler {
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private peak: number | null = null;
  private readonly platform: NodeJS.Platform;

  constructor(
    private readonly listPids: () => Promise<number[]>,
    private readonly opts: RssSamplerOptions = {},
  ) {
    this.platform = opts.platform ?? process.platform;
  }

  start(): void {
    if (this.platform === "win32" || this.timer) return;
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.opts.intervalMs ?? 200);
    this.timer.unref();
  }

  /** Stops sampling; the peak in bytes, or null when nothing was measured. */
  stop(): number | null {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    return this.peakBytes;
  }

  get peakBytes(): number | null {
    return this.peak !== null && this.peak > 0 ? this.peak : null;
  }

  async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const bytes = await readRssBytes(await this.listPids(), this.platform);
      if (bytes !== null && (this.peak === null || bytes > this.peak)) this.peak = bytes;
    } catch {
      // sampling is best effort
    } finally {
      this.busy = false;
    }
  }
}
