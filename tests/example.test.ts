import { execFile } from "node:child_process";
import {
	copyFileSync,
	mkdtempSync,
	readFileSync,
	rmSync,
	writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const execFileAsync = promisify(execFile);

const EXAMPLE_DIR = fileURLToPath(
	new URL("../examples/tinylm/", import.meta.url),
);
const TRAIN = join(EXAMPLE_DIR, "train.js");
const EXAMPLE_FILES = ["prepare.js", "train.js", "corpus.txt", "package.json"];

interface Prepare {
	VOCAB_SIZE: number;
	UNIFORM_BPB: number;
	EVAL_CONTEXT: number;
	trainTokens: Uint8Array;
	valTokens: Uint8Array;
	encode(text: string): Uint8Array;
	decode(ids: ArrayLike<number>): string;
	evaluate(predict: (context: Int32Array) => ArrayLike<number>): number;
}

// A non-literal specifier keeps TypeScript from looking for declarations of the plain-JS example.
async function loadPrepare(): Promise<Prepare> {
	const url = pathToFileURL(join(EXAMPLE_DIR, "prepare.js")).href;
	return (await import(url)) as Prepare;
}

/** The environment a run gets: the caller's, minus any AUTORESEARCH_* settings, plus `extra`. */
function runEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
	const env: NodeJS.ProcessEnv = {};
	for (const [key, value] of Object.entries(process.env)) {
		if (!key.startsWith("AUTORESEARCH_")) env[key] = value;
	}
	return { ...env, ...extra };
}

async function runTrain(script: string, budgetSec: number): Promise<string> {
	const { stdout } = await execFileAsync(process.execPath, [script], {
		env: runEnv({
			AUTORESEARCH_TIME_BUDGET: String(budgetSec),
			AUTORESEARCH_DEVICE: "cpu",
		}),
		timeout: 30_000,
	});
	return stdout;
}

/** Karpathy's summary block: `name: value` lines after the last `---`. */
function parseSummary(stdout: string): Record<string, number> {
	const lines = stdout.split(/\r?\n/);
	const start = lines.lastIndexOf("---");
	expect(start, `no summary block in:\n${stdout}`).toBeGreaterThanOrEqual(0);
	const out: Record<string, number> = {};
	for (const line of lines.slice(start + 1)) {
		const m = /^([a-z_]+):\s+(\S+)$/i.exec(line.trim());
		if (m?.[1] && m[2]) out[m[1]] = Number(m[2]);
	}
	return out;
}

/** Copies the example to a temp dir with the given top-level constants replaced. */
function tunedCopy(dir: string, constants: Record<string, number>): string {
	for (const file of EXAMPLE_FILES)
		copyFileSync(join(EXAMPLE_DIR, file), join(dir, file));
	const path = join(dir, "train.js");
	let source = readFileSync(path, "utf8");
	for (const [name, value] of Object.entries(constants)) {
		const re = new RegExp(`^const ${name} = [^;]+;$`, "m");
		expect(source, `train.js has no top-level ${name}`).toMatch(re);
		source = source.replace(re, `const ${name} = ${value};`);
	}
	writeFileSync(path, source);
	return path;
}

function defaultConstant(name: string): number {
	const m = new RegExp(`^const ${name} = (-?[0-9.eE+-]+);$`, "m").exec(
		readFileSync(TRAIN, "utf8"),
	);
	if (!m?.[1]) throw new Error(`train.js has no numeric top-level ${name}`);
	return Number(m[1]);
}

describe("examples/tinylm", () => {
	const tmp = mkdtempSync(join(tmpdir(), "tinylm-"));
	afterAll(() => rmSync(tmp, { recursive: true, force: true }));

	it("prepare.js is deterministic and scores the uniform predictor at log2(vocab)", async () => {
		const prep = await loadPrepare();
		expect(prep.VOCAB_SIZE).toBeGreaterThan(30);
		expect(prep.VOCAB_SIZE).toBeLessThan(128);
		expect(prep.UNIFORM_BPB).toBeCloseTo(Math.log2(prep.VOCAB_SIZE), 10);
		expect(prep.valTokens.length).toBeGreaterThan(1000);
		expect(prep.trainTokens.length).toBeGreaterThan(5 * prep.valTokens.length);
		expect(prep.decode(prep.encode("The river."))).toBe("The river.");

		const uniform = new Float64Array(prep.VOCAB_SIZE).fill(1);
		expect(prep.evaluate(() => uniform)).toBeCloseTo(prep.UNIFORM_BPB, 10);
		// Unigram counts of the training split already beat the uniform bound.
		const counts = new Float64Array(prep.VOCAB_SIZE).fill(1);
		for (const id of prep.trainTokens) counts[id] = (counts[id] ?? 0) + 1;
		const unigram = prep.evaluate(() => counts);
		expect(unigram).toBeLessThan(prep.UNIFORM_BPB - 1);
		expect(prep.evaluate(() => counts)).toBe(unigram);
	});

	it("train.js keeps its hyperparameters as top-level numeric constants", () => {
		const source = readFileSync(TRAIN, "utf8");
		for (const name of [
			"LEARNING_RATE",
			"BATCH_SIZE",
			"CONTEXT",
			"EMBED_DIM",
			"HIDDEN_DIM",
			"SEED",
		]) {
			expect(source).toMatch(new RegExp(`^const ${name} = -?[0-9.]+;$`, "m"));
		}
	});

	it("learns well below the uniform bound, and a tuned learning rate beats the default", async () => {
		const prep = await loadPrepare();
		const tuned = tunedCopy(tmp, {
			LEARNING_RATE: defaultConstant("LEARNING_RATE") / 4,
		});
		// Run both at once so machine load affects them alike.
		const [baseOut, tunedOut] = await Promise.all([
			runTrain(TRAIN, 2),
			runTrain(tuned, 2),
		]);

		expect(baseOut).toMatch(/^device: cpu$/m);
		const base = parseSummary(baseOut);
		for (const key of [
			"val_bpb",
			"training_seconds",
			"total_seconds",
			"num_steps",
			"num_params_M",
			"depth",
		]) {
			expect(Number.isFinite(base[key]), `${key} in:\n${baseOut}`).toBe(true);
		}
		expect(base).not.toHaveProperty("peak_vram_mb");
		expect(base.training_seconds).toBeGreaterThanOrEqual(2);
		expect(base.num_steps).toBeGreaterThan(0);

		const baseBpb = base.val_bpb as number;
		const tunedBpb = parseSummary(tunedOut).val_bpb as number;
		expect(baseBpb).toBeLessThan(prep.UNIFORM_BPB - 1);
		expect(tunedBpb).toBeLessThan(baseBpb - 0.2);
	});
});
