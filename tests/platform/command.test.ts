import { describe, expect, it } from "vitest";
import { pythonForCommand, splitCommand } from "../../src/platform/command.js";

const argv = (command: string, os: NodeJS.Platform = "linux") => pythonForCommand(command, os)?.argv ?? null;

describe("pythonForCommand: the interpreter the run uses", () => {
  it.each([
    ["uv run train.py", ["uv", "run", "python"]],
    ["uv run python train.py", ["uv", "run", "python"]],
    ["uv run --with numpy --python 3.12 train.py --lr 1", ["uv", "run", "--with", "numpy", "--python", "3.12", "python"]],
    ["python3 x.py", ["python3"]],
    ["python train.py", ["python"]],
    ["python3.11 -u train.py", ["python3.11"]],
    [".venv/bin/python x.py", [".venv/bin/python"]],
    ["/opt/conda/bin/python3 train.py", ["/opt/conda/bin/python3"]],
    ["poetry run python x.py", ["poetry", "run", "python"]],
    ["pipenv run python train.py", ["pipenv", "run", "python"]],
    ["pdm run train.py", ["pdm", "run", "python"]],
    ["conda run -n torch python train.py", ["conda", "run", "-n", "torch", "python"]],
    ["CUDA_VISIBLE_DEVICES=0 python3 train.py", ["python3"]],
    ["env OMP_NUM_THREADS=4 uv run train.py", ["uv", "run", "python"]],
    ['"my venv/bin/python" train.py', ["my venv/bin/python"]],
    ["python3 train.py && echo done", ["python3"]],
  ])("%s -> %j", (command, expected) => {
    expect(argv(command)).toEqual(expected);
  });

  it.each(["node train.js", "npx tsx train.ts", "deno run train.ts", "bun train.ts", "npm run train", "/usr/bin/node train.js"])("%s runs no Python", (command) => {
    expect(pythonForCommand(command, "linux")).toBeNull();
  });

  it("takes the platform's default Python for commands that do not name one, and says it guessed", () => {
    expect(pythonForCommand("bash run.sh", "linux")).toEqual({ argv: ["python3"], display: "python3", guessed: true });
    expect(pythonForCommand("torchrun --nproc_per_node 8 train.py", "win32")).toEqual({ argv: ["python"], display: "python", guessed: true });
    expect(pythonForCommand("./train.py", "darwin")?.argv).toEqual(["python3"]);
  });

  it("handles Windows paths and the py launcher", () => {
    expect(argv(".venv\\Scripts\\python.exe train.py", "win32")).toEqual([".venv\\Scripts\\python.exe"]);
    expect(argv("py -3.11 train.py", "win32")).toEqual(["py", "-3.11"]);
    expect(argv("uv.exe run train.py", "win32")).toEqual(["uv.exe", "run", "python"]);
  });

  it("splits quoted words like a shell", () => {
    expect(splitCommand(`python3 'a b.py' "c \\"d\\"" e\\ f`)).toEqual(["python3", "a b.py", 'c "d"', "e f"]);
  });
});
