/** The ssh executor's pure parts: what travels to the host, how ssh is called, the wrapper's status line. */
import { describe, expect, it } from "vitest";
import { remoteEnv } from "../../src/executors/ssh/remote-env.js";
import { parsePrepared, prepareCommand } from "../../src/executors/ssh/remote-repo.js";
import { gitSshCommand, shQuote, sshArgv } from "../../src/executors/ssh/ssh-command.js";
import { parseExitLine, wrapperScript } from "../../src/executors/ssh/wrapper.js";

describe("remoteEnv", () => {
  it("drops machine-local variables and secrets, keeps the run's own and passed ones", () => {
    const env = remoteEnv(
      {
        PATH: "/usr/bin",
        HOME: "/home/me",
        SSH_AUTH_SOCK: "/tmp/agent",
        XDG_RUNTIME_DIR: "/run/user/1",
        VIRTUAL_ENV: "/home/me/.venv",
        LC_ALL: "C",
        OPENAI_API_KEY: "sk-1",
        DATABASE_URL: "postgres://u:p@db/x",
        WANDB_MODE: "offline",
        AUTORESEARCH_RUN_ID: "r1",
        AUTORESEARCH_DEVICE: "cuda",
        CUDA_VISIBLE_DEVICES: "0,1",
        HIP_VISIBLE_DEVICES: "1",
        HF_HOME: "/data/hf",
        "BAD-NAME": "x",
      },
      ["HF_HOME", "LC_ALL"],
    );
    expect(env).toEqual({ WANDB_MODE: "offline", AUTORESEARCH_RUN_ID: "r1", AUTORESEARCH_DEVICE: "cuda", CUDA_VISIBLE_DEVICES: "0,1", HIP_VISIBLE_DEVICES: "1", HF_HOME: "/data/hf", LC_ALL: "C" });
  });
});

describe("ssh command line", () => {
  it("uses AUTORESEARCH_SSH when set, always with BatchMode and a connect timeout", () => {
    expect(sshArgv("gpu1", "true", { AUTORESEARCH_SSH: "ssh -F '/my cfg'" }, 7)).toEqual([
      "ssh", "-F", "/my cfg", "-o", "BatchMode=yes", "-o", "ConnectTimeout=7", "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4", "-T", "gpu1", "true",
    ]);
    expect(sshArgv("gpu1", "true", {})[0]).toBe("ssh");
    expect(gitSshCommand({ AUTORESEARCH_SSH: "ssh -F /c" }, 5)).toBe("ssh -F /c -o BatchMode=yes -o ConnectTimeout=5 -o ServerAliveInterval=15 -o ServerAliveCountMax=4");
  });

  it("refuses a host that ssh would read as an option", () => {
    expect(() => sshArgv("-oProxyCommand=touch /tmp/x", "true", {})).toThrow(/host/);
  });

  it("quotes one shell word whatever it holds", () => {
    expect(shQuote("it's $HOME `x`")).toBe(`'it'\\''s $HOME \`x\`'`);
  });
});

describe("wrapper", () => {
  it("accepts only its own status line (the nonce), never a line the run printed", () => {
    expect(parseExitLine("autoresearch-exit abc 0 -", "abc")).toEqual({ code: 0, signal: null, setup: false });
    expect(parseExitLine("autoresearch-exit abc 143 TERM", "abc")).toEqual({ code: 143, signal: "TERM", setup: false });
    expect(parseExitLine("autoresearch-exit abc 127 setup", "abc")).toEqual({ code: 127, signal: null, setup: true });
    expect(parseExitLine("autoresearch-exit xyz 0 -", "abc")).toBeNull();
    expect(parseExitLine("val_bpb: 1.0", "abc")).toBeNull();
  });

  it("exports the run's variables inside the command's subshell only, quoted", () => {
    const script = wrapperScript({ dir: "/r", sha: "a".repeat(40), command: "python train.py", env: { A: "x'y" }, runId: "r1", pidFile: "/p", deadlineSec: 10, graceSec: 1, nonce: "n", keep: ["data", ".venv/"] });
    expect(script).toContain(`export A='x'\\''y'`);
    expect(script).toContain("git clean -q -ffdx -e '/data' -e '/.venv'");
  });

  it("reads the prepared repo's absolute paths", () => {
    expect(parsePrepared("/home/u/.cache/autoresearch\n/home/u/.cache/autoresearch/r/t/w0\n")).toEqual({ remoteDir: "/home/u/.cache/autoresearch", repoDir: "/home/u/.cache/autoresearch/r/t/w0" });
    expect(parsePrepared("oops\n")).toBeNull();
    expect(prepareCommand({ remoteDir: "~/.cache/autoresearch", repoKey: "r-1", tag: "t", worker: 2 })).toContain("r-1/t/w2");
  });
});
