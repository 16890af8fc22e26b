// `node --import <this file>`: appends the URL of every module the process loads to the file
// named by AUTORESEARCH_MODULE_LOG, one per line (the hooks run on their own thread, so a file is
// the simplest way out). Tests use it to check which libraries a command loads.
import { register } from "node:module";

register(new URL("./record-modules-hooks.mjs", import.meta.url));
