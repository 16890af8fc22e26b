/**
 * The environment a run gets on an ssh host. The orchestrator's variables that describe THIS
 * machine (PATH, HOME, the user, the shell, temp dirs, the desktop session, locale, the Python or
 * Node environment activated here) would be wrong there: the remote login environment provides
 * its own. What the run must see travels: AUTORESEARCH_* (budget, device, seed, the run marker),
 * CUDA_VISIBLE_DEVICES / HIP_VISIBLE_DEVICES, and every name the user passes with --pass-env.
 * Secrets are removed again at this boundary (invariant 10: they never reach the cluster), even
 * when the caller already did.
 */
import { isSecretName, isSecretValue } from "../../runner/run-env.js";

const MACHINE_LOCAL = new Set([
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "SHELL",
  "PWD",
  "OLDPWD",
  "TMPDIR",
  "TMP",
  "TEMP",
  "DISPLAY",
  "WAYLAND_DISPLAY",
  "HOSTNAME",
  "HOST",
  "SHLVL",
  "_",
  "MAIL",
  "LANG",
  "LANGUAGE",
  "TERM",
  "COLORTERM",
  "TERM_PROGRAM",
  "TERM_PROGRAM_VERSION",
  "LS_COLORS",
  "MANPATH",
  "INFOPATH",
  "EDITOR",
  "VISUAL",
  "PAGER",
  "VIRTUAL_ENV",
  "PYTHONHOME",
  "PYTHONPATH",
  "PYENV_ROOT",
  "PYENV_SHELL",
  "PYENV_VERSION",
  "UV_PYTHON",
]);
const MACHINE_LOCAL_PREFIX = /^(SSH_|XDG_|DBUS_|LC_|LD_|DYLD_|CONDA_|PYENV_|NVM_|npm_|NODE_|GIT_|WINDOWID|TMUX|STY|ITERM|VSCODE_|GNOME_|KDE_|SESSION_MANAGER|DESKTOP_SESSION)/;
const ALWAYS = /^(AUTORESEARCH_.+|CUDA_VISIBLE_DEVICES|HIP_VISIBLE_DEVICES|ROCR_VISIBLE_DEVICES)$/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function remoteEnv(env: Record<string, string>, passEnv: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    // A name the remote shell could not export (or would read as code) never travels.
    if (!NAME.test(name)) continue;
    if (passEnv.includes(name) || ALWAYS.test(name)) {
      out[name] = value;
      continue;
    }
    if (MACHINE_LOCAL.has(name) || MACHINE_LOCAL_PREFIX.test(name)) continue;
    if (isSecretName(name) || isSecretValue(value)) continue;
    out[name] = value;
  }
  return out;
}
