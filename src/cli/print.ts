import { terminalText } from "../text.js";

/**
 * Writes a command's plain-text output. It carries descriptions, rationales and log lines written
 * by models and training scripts: their control sequences are removed here (the same way the
 * live line and the reports remove them), so none reaches the user's terminal. JSON output needs
 * no such care (JSON escapes every control character).
 */
export function printText(text: string): void {
  process.stdout.write(terminalText(text));
}
