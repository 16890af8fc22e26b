import { adjustmentsFor } from "../../src/platform/adjustments.js";
import type { PlatformInfo } from "../../src/types.js";

/** A CPU platform with the real CPU adjustments, for tests that do not detect one. */
export function cpuPlatform(detail = "AMD EPYC test CPU, 2 cores"): PlatformInfo {
  return { kind: "cpu", label: "CPU", device: "cpu", os: "linux", detail, source: "os", adjustments: adjustmentsFor("cpu") };
}
