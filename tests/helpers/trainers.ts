/**
 * Training scripts shared by tests that need runs in flight for a while. SLOW_TRAIN: every
 * experiment but the baseline sleeps AR_SLEEP_MS with a child process of its own (a process
 * tree: what kills must reach) and prints an unchanging metric, so nothing is kept and no
 * candidate goes stale.
 */
export const SLOW_TRAIN = `const LEARNING_RATE = 0.01;
const WIDTH = 16;
if (process.env.AUTORESEARCH_EXPERIMENT !== "0") {
  require("node:child_process").spawn("sleep", ["31"], { stdio: "ignore" }).unref();
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(process.env.AR_SLEEP_MS));
}
console.log("val_loss: 1.000000");
`;
