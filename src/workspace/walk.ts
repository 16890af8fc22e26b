import { lstatSync, readdirSync, type Stats } from "node:fs";
import { sep } from "node:path";

/**
 * Every entry under `abs` (depth first, symbolic links not followed): `visit` gets its path
 * relative to the walk's root and its lstat; it returns true to go into a directory. Entries that
 * vanish while walked are skipped.
 */
export function walkEntries(abs: string, rel: string, visit: (path: string, childRel: string, st: Stats) => boolean): void {
  let names: string[];
  try {
    names = readdirSync(abs);
  } catch {
    return;
  }
  for (const name of names) {
    const childRel = rel ? `${rel}/${name}` : name;
    const child = abs + sep + name;
    const st = lstatSync(child, { throwIfNoEntry: false });
    if (st && visit(child, childRel, st) && st.isDirectory()) walkEntries(child, childRel, visit);
  }
}
