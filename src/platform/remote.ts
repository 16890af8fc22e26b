/**
 * The platform probe as a command that runs where the runs run (an ssh host, a SLURM node):
 * one POSIX sh command line that runs the Python probe with the run's own interpreter, asks
 * nvidia-smi, and prints the host's OS, CPU and memory, each section between markers on
 * stdout. Its output is parsed here and fed to `detectPlatform` through a replaying Exec, so a
 * remote platform is decided by exactly the rules (and fallbacks) of a local one.
 */
import { quote } from "shell-quote";
import { pythonForCommand } from "./command.js";
import { type DetectedPlatform, detectPlatform } from "./detect.js";
import type { Exec, ExecResult } from "./exec.js";
import { PROBE_SCRIPT } from "./probe.js";

/** Starts every line of the probe's own output; a run's other output never matters. */
export const REMOTE_PROBE_MARK = "@@autoresearch-platform";

const SMI_QUERY = "--query-gpu=name,memory.total,compute_cap";
const SMI_QUERY_OLD = "--query-gpu=name,memory.total";

/**
 * The probe as one shell command line for `experiment command`'s interpreter (null when the
 * command runs no Python: only nvidia-smi and the host's facts are asked). Hosts are POSIX.
 */
export function remoteProbeCommand(command: string): string {
  const py = pythonForCommand(command, "linux");
  const m = REMOTE_PROBE_MARK;
  const lines: string[] = [];
  if (py) {
    // stderr joins stdout so the section keeps its order in the run log; the parser finds the JSON line among warnings.
    lines.push(`echo '${m} python-begin'`, `${quote([...py.argv, "-c", PROBE_SCRIPT])} 2>&1`, `echo "${m} python-end $?"`);
  }
  lines.push(
    "if command -v nvidia-smi >/dev/null 2>&1; then",
    // Drivers before 510 do not know compute_cap.
    `  o=$(nvidia-smi ${SMI_QUERY} --format=csv,noheader 2>&1) || o=$(nvidia-smi ${SMI_QUERY_OLD} --format=csv,noheader 2>&1)`,
    `  c=$?; echo '${m} smi-begin'; printf '%s\\n' "$o"; echo "${m} smi-end $c"`,
    "fi",
    `echo "${m} os $(uname -s) $(uname -m)"`,
    `echo "${m} cpus $(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc 2>/dev/null || echo 1)"`,
    `mem=$(awk '/^MemTotal:/ {printf "%.0f", $2 * 1024}' /proc/meminfo 2>/dev/null); [ -n "$mem" ] || mem=$(sysctl -n hw.memsize 2>/dev/null)`,
    `echo "${m} mem $mem"`,
    `cpu=$(sed -n 's/^model name[^:]*: *//p' /proc/cpuinfo 2>/dev/null | head -n 1); [ -n "$cpu" ] || cpu=$(sysctl -n machdep.cpu.brand_string 2>/dev/null)`,
    `echo "${m} cpu $cpu"`,
    `echo "${m} host $(hostname 2>/dev/null || uname -n)"`,
    `echo "${m} done"`,
  );
  return lines.join("\n");
}

/** What the remote probe printed, by section. */
export interface RemoteProbeOutput {
  /** The Python probe's output and exit status; absent when no Python was probed. */
  python?: { stdout: string; code: number | null };
  /** nvidia-smi's output and exit status; absent when the host has no nvidia-smi. */
  smi?: { stdout: string; code: number | null };
  os: NodeJS.Platform | string;
  arch: string;
  cpuCount: number;
  cpuModel: string;
  totalMemoryBytes: number;
  hostname: string;
}

const OS_NAMES: Record<string, string> = { Linux: "linux", Darwin: "darwin", FreeBSD: "freebsd", OpenBSD: "openbsd", SunOS: "sunos" };
const ARCH_NAMES: Record<string, string> = { x86_64: "x64", amd64: "x64", aarch64: "arm64", arm64: "arm64", i686: "ia32", i386: "ia32", ppc64le: "ppc64", s390x: "s390x" };

/** The probe's sections from a run's output (a log), or null when it did not get to its end. */
export function parseRemoteProbe(text: string): RemoteProbeOutput | null {
  const m = REMOTE_PROBE_MARK;
  const lines = text.split(/\r?\n/);
  const facts = new Map<string, string>();
  const sections = new Map<string, { stdout: string; code: number | null }>();
  let open: { name: string; lines: string[] } | null = null;
  for (const line of lines) {
    if (!line.startsWith(`${m} `)) {
      open?.lines.push(line);
      continue;
    }
    const [word = "", ...rest] = line.slice(m.length + 1).split(" ");
    const value = rest.join(" ").trim();
    const begin = /^(python|smi)-begin$/.exec(word);
    const end = /^(python|smi)-end$/.exec(word);
    if (begin) open = { name: begin[1] as string, lines: [] };
    else if (end && open !== null && open.name === end[1]) {
      const code = Number(value);
      sections.set(open.name, { stdout: open.lines.join("\n"), code: value !== "" && Number.isInteger(code) ? code : null });
      open = null;
    } else facts.set(word, value);
  }
  if (!facts.has("done")) return null;
  const [uname = "", machine = ""] = (facts.get("os") ?? "").split(" ");
  const cpus = Number(facts.get("cpus"));
  const mem = Number(facts.get("mem"));
  return {
    ...(sections.has("python") && { python: sections.get("python") }),
    ...(sections.has("smi") && { smi: sections.get("smi") }),
    os: OS_NAMES[uname] ?? (uname.toLowerCase() || "linux"),
    arch: ARCH_NAMES[machine] ?? (machine || "unknown"),
    cpuCount: Number.isInteger(cpus) && cpus > 0 ? cpus : 1,
    cpuModel: facts.get("cpu") || "unknown CPU",
    totalMemoryBytes: Number.isFinite(mem) && mem > 0 ? mem : 0,
    hostname: facts.get("host") || "the host",
  };
}

/**
 * The platform of the host the probe ran on: `detectPlatform` with the host's facts and an Exec
 * that answers with what the host printed (the Python probe, nvidia-smi) instead of running here.
 */
export async function platformFromRemoteProbe(command: string, probe: RemoteProbeOutput, root: string): Promise<DetectedPlatform> {
  const replay: Exec = async (argv) => {
    const section = argv[0] === "nvidia-smi" ? probe.smi : probe.python;
    if (!section) return notFound;
    return { code: section.code, signal: null, stdout: section.stdout, stderr: "", timedOut: false };
  };
  return detectPlatform({
    command,
    root,
    exec: replay,
    os: probe.os as NodeJS.Platform,
    arch: probe.arch,
    cpuModel: probe.cpuModel,
    cpuCount: probe.cpuCount,
    totalMemoryBytes: probe.totalMemoryBytes,
  });
}

const notFound: ExecResult = { code: null, signal: null, stdout: "", stderr: "", timedOut: false, error: "ENOENT" };
