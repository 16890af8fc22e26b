/** The keep rules and their defaults, apart from the option table so readers need not load zod. */
export const KEEP_RULES = ["any", "threshold", "confirm"] as const;
export type KeepRule = (typeof KEEP_RULES)[number];
/** `--confirm-runs` and `--confidence` when not given (the loop and the config table read these). */
export const DEFAULT_CONFIRM_RUNS = 2;
export const DEFAULT_CONFIDENCE = 2;
