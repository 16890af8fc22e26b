import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

/**
 * Who may read the dashboard. On loopback, anyone on this machine (as with the files
 * themselves), but only through a loopback host name, so a web page elsewhere cannot reach it
 * by DNS rebinding. Anywhere else, only requests carrying the token.
 */

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === "::ffff:127.0.0.1";
}

export function generateToken(): string {
  return randomBytes(24).toString("base64url");
}

/** The cookie a page opened with `?token=` gets, so its scripts, styles and streams carry it. */
export function tokenCookieName(port: number): string {
  return `autoresearch_token_${port}`;
}

function sameSecret(given: string, expected: string): boolean {
  // Hashing first makes the lengths equal, so the comparison takes the same time for any input.
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The token a request offers: `?token=`, `Authorization: Bearer`, or the cookie. */
export function offeredTokens(req: IncomingMessage, url: URL, cookieName: string): string[] {
  const offered: string[] = [];
  const query = url.searchParams.get("token");
  if (query) offered.push(query);
  const auth = req.headers.authorization;
  if (auth?.startsWith("Bearer ")) offered.push(auth.slice("Bearer ".length).trim());
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === cookieName) offered.push(decodeURIComponent(part.slice(eq + 1).trim()));
  }
  return offered;
}

export function hasToken(req: IncomingMessage, url: URL, cookieName: string, token: string): boolean {
  return offeredTokens(req, url, cookieName).some((t) => sameSecret(t, token));
}

/** The Host header names this machine's loopback (any port). */
export function loopbackHostHeader(req: IncomingMessage): boolean {
  const host = req.headers.host;
  if (!host) return false;
  const name = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.replace(/:\d+$/, "");
  return isLoopbackHost(name);
}
