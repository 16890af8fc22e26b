/**
 * A notification URL is a credential (a Slack or Discord webhook works for whoever holds it): it is
 * stored with the session's records and shown only redacted — scheme, host and the first path
 * segment; no user, password, query or the rest of the path.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    const first = u.pathname.split("/").filter(Boolean)[0];
    return `${u.protocol}//${u.host}/${first ? `${first}/` : ""}…`;
  } catch {
    return "…";
  }
}

/** A config (or anything holding one) as it may be shown or printed: the notify URL redacted. */
export function redactConfig<T extends { notify?: string | undefined }>(config: T): T {
  return config.notify === undefined ? config : { ...config, notify: redactUrl(config.notify) };
}
