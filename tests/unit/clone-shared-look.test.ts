import { appendFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Git } from "../../src/workspace/git.js";
import { WorkerClone } from "../../src/workspace/clone.js";
import { createRepo, git } from "../helpers/repo.js";

/**
 * The shared data's guard around the runs in a clone (WorkerClone.beforeRun + inspect): a run
 * confined by a sandbox gets no look at all (the kernel keeps the shared paths read-only); an
 * unconfined one (no sandbox, a --check) is compared with the look before it, and the look after
 * one unconfined run is the next one's look before.
 */
describe("WorkerClone: the shared data around confined and unconfined runs", () => {
  async function setup() {
    const root = createRepo({ "train.js": "console.log(1);\n", ".gitignore": "data\n" });
    mkdirSync(join(root, "data"));
    writeFileSync(join(root, "data", "shard1.bin"), "1");
    const head = git(root, "rev-parse", "HEAD");
    const data = { rel: "data", target: join(root, "data"), isDir: true };
    const clone = new WorkerClone(join(root, ".git", "autoresearch", "t", "w0"), new Git(root), join(root, ".git", "objects"), [data]);
    await clone.recreate(head);
    return { root, head, clone };
  }
  const sharedViolations = async (clone: WorkerClone) => (await clone.inspect({})).violations.filter((v) => v.startsWith("changed shared data"));

  it("an unconfined run that changes shared data is a violation; the next run is compared with the look after it", async () => {
    const { root, clone, head } = await setup();
    clone.beforeRun(false);
    rmSync(join(root, "data", "shard1.bin"));
    writeFileSync(join(root, "data", "shard2.bin"), "2");
    expect(await sharedViolations(clone)).toEqual(["changed shared data: deleted data/shard1.bin, created data/shard2.bin"]);
    await clone.reset(head, await clone.inspect({}));
    clone.beforeRun(false);
    expect(await sharedViolations(clone)).toEqual([]);
    // A change between two unconfined runs is the next run's (never missed).
    clone.beforeRun(false);
    expect(await sharedViolations(clone)).toEqual([]);
    appendFileSync(join(root, "data", "shard2.bin"), "more");
    clone.beforeRun(false);
    expect(await sharedViolations(clone)).toEqual(["changed shared data: modified data/shard2.bin"]);
  });

  it("a confined run gets no look (what the kernel refuses cannot happen); a check after it, unconfined, is compared again", async () => {
    const { root, clone } = await setup();
    clone.beforeRun(false);
    expect(await sharedViolations(clone)).toEqual([]);
    clone.beforeRun(true);
    // Stands for a change made by something else meanwhile: a confined run is not blamed, not looked for.
    writeFileSync(join(root, "data", "other.bin"), "x");
    expect(await sharedViolations(clone)).toEqual([]);
    // The check's look before takes in what changed while the confined run ran; the check is blamed for its own change only.
    clone.beforeRun(false);
    writeFileSync(join(root, "data", "check.bin"), "x");
    expect(await sharedViolations(clone)).toEqual(["changed shared data: created data/check.bin"]);
  });
});
