/** What `doctor` checks for executor ssh: every host reachable with BatchMode, with git, python3, a writable remote dir, a way to make process groups, and its platform line. */
import { hostList, parseHosts } from "../../config/hosts.js";
import type { Check, DoctorContext } from "../descriptor.js";
import { checkSshHost } from "./host-check.js";
import { DEFAULT_REMOTE_DIR } from "./remote-repo.js";

export async function sshChecks({ input, env, exec, root, timeoutMs, command }: DoctorContext): Promise<Check[]> {
  // A flag's comma list or the config file's array, read the way `run` reads it.
  const entries = input.hosts === undefined ? [] : hostList(input.hosts);
  if (entries.length === 0) return [{ name: "ssh hosts", status: "missing", required: true, detail: "executor ssh, but no hosts are given", fix: "Pass --hosts gpu1,gpu2 (names from your ssh config)." }];
  let hosts: string[];
  try {
    hosts = parseHosts(entries).map((h) => h.host);
  } catch (error) {
    return [{ name: "ssh hosts", status: "missing", required: true, detail: (error as Error).message, fix: "Write them as gpu1,gpu2:0+1." }];
  }
  const remoteDir = typeof input.remoteDir === "string" ? input.remoteDir : DEFAULT_REMOTE_DIR;
  const perHost = await Promise.all(hosts.map((host) => checkSshHost(host, { env, exec, cwd: root, timeoutMs, command, remoteDir })));
  return perHost.flat();
}
