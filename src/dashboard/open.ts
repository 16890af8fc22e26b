import { spawn } from "node:child_process";

/** The command that opens a URL in the default browser on this platform. */
export function openCommand(url: string, platform: NodeJS.Platform = process.platform): { file: string; args: string[] } {
  if (platform === "darwin") return { file: "open", args: [url] };
  // `start` is a cmd built-in; its first quoted argument is a window title, hence the "".
  if (platform === "win32") return { file: "cmd", args: ["/c", "start", '""', url.replace(/&/g, "^&")] };
  return { file: "xdg-open", args: [url] };
}

/** Best effort: true when the opener started. The URL is printed either way. */
export function openInBrowser(url: string): Promise<boolean> {
  const { file, args } = openCommand(url);
  return new Promise((resolve) => {
    try {
      const child = spawn(file, args, { detached: true, stdio: "ignore", windowsVerbatimArguments: process.platform === "win32" });
      child.once("error", () => resolve(false));
      child.once("spawn", () => {
        child.unref();
        resolve(true);
      });
    } catch {
      resolve(false);
    }
  });
}
