/**
 * Executor ssh: runs on the hosts of --hosts, one slot per host (or per device listed there); the
 * platform is the hosts'; a run dies with its connection, so resume runs it again.
 */
import { parseHosts } from "../../config/hosts.js";
import { UsageError } from "../../errors.js";
import type { ExecutorDescriptor } from "../descriptor.js";
import { createSshExecutor } from "./from-config.js";
import { sshSlots } from "./slots.js";

export const SSH: ExecutorDescriptor = {
  kind: "ssh",
  create: (config, deps) => createSshExecutor(config, deps.root ?? process.cwd(), deps.env ?? process.env),
  ownOptions: ["hosts", "remoteDir"],
  checkConfig(config) {
    if ((config.hosts ?? []).length === 0) {
      throw new UsageError("--executor ssh needs the hosts to run on", "Pass --hosts gpu1,gpu2 (or \"hosts\": [\"gpu1\", \"gpu2\"] in the config file; names from your ssh config, devices joined by +, e.g. gpu2:0+1).");
    }
    if (config.hosts !== undefined) parseHosts(config.hosts);
  },
  failureHint(reason, config) {
    if (reason !== "host-unreachable" && reason !== "host-setup") return null;
    const hosts = config.hosts?.length ? config.hosts.join(",") : "<hosts>";
    return `The run never started: check the hosts with \`autoresearch doctor --executor ssh --hosts ${hosts}\` (ssh config and keys, git and python3 there, the remote folder), fix or leave out the one that fails, and run again.`;
  },
  slots: sshSlots,
  // Loaded when doctor asks: what only reads the registry (status) stays light.
  doctorChecks: async (context) => (await import("./doctor.js")).sshChecks(context),
  reattachable: false,
  remotePlatform: true,
  queues: false,
  showsHandle: true,
};
