/**
 * `--notify <url>`: a consumer of the event stream that POSTs a JSON message on a new best, on a
 * streak of crashes, and when the session ends. The body carries a `text` field, so a Slack (or
 * Mattermost, Discord-compatible) incoming webhook shows it as is; the other fields are for
 * programs. Posting never blocks or fails the loop: a failed post becomes one warning.
 */
import { redactUrl } from "../config/redact.js";
import type { EventSink, SessionEvent } from "../ledger/events.js";
import { delta, percentChange } from "../metric/index.js";
import { formatDelta, formatMetric, formatPercent } from "../report/format.js";
import { oneLine } from "../text.js";
import type { ExperimentRecord } from "../types.js";

/** Crashes in a row that make a "crash streak" message (once per streak). */
export const CRASH_STREAK = 3;
const POST_TIMEOUT_MS = 10_000;

export interface NotifyMessage {
  text: string;
  event: "new-best" | "crash-streak" | "session-end";
  branch: string;
  metric: string;
  experiment?: number;
  value?: number | null;
}

export type Post = (url: string, message: NotifyMessage) => Promise<void>;

/** The real POST (Node's fetch), bounded in time. Any status outside 2xx is an error. */
export const httpPost: Post = async (url, message) => {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(message),
    signal: AbortSignal.timeout(POST_TIMEOUT_MS),
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
};

export interface Notifier {
  sink: EventSink;
  /** Waits for the posts still in flight (the last one is sent as the process ends). */
  flush(): Promise<void>;
}

function describe(record: ExperimentRecord): string {
  return `#${record.id} ${oneLine(record.description).slice(0, 120)}`;
}

export function createNotifier(options: { post?: Post; warn: (message: string) => void }): Notifier {
  const post = options.post ?? httpPost;
  let url: string | null = null;
  let branch = "";
  let metric = "metric";
  let crashes = 0;
  let warned = false;
  const pending = new Set<Promise<void>>();

  const send = (message: NotifyMessage) => {
    if (!url) return;
    const target = url;
    const sent = post(target, message)
      .catch((error: unknown) => {
        if (warned) return;
        warned = true;
        options.warn(`--notify ${redactUrl(target)}: ${(error as Error).message} (the session goes on; later failures are not reported)`);
      })
      .finally(() => pending.delete(sent));
    pending.add(sent);
  };

  const sink = (event: SessionEvent) => {
    switch (event.type) {
      case "session-start":
        url = event.session.config.notify ?? null;
        branch = event.session.branch;
        metric = event.session.config.metric;
        break;
      case "experiment": {
        const r = event.record;
        if (r.status === "crash") {
          crashes++;
          if (crashes === CRASH_STREAK) {
            send({ text: `autoresearch ${branch}: ${crashes} crashes in a row, the last ${describe(r)}: ${oneLine(r.detail ?? r.reason)}`, event: "crash-streak", branch, metric, experiment: r.id, value: null });
          }
          break;
        }
        crashes = 0;
        if (r.status === "keep" && r.id > 0) {
          const gain = delta(r.metric, r.bestBefore);
          const vsBaseline = percentChange(r.metric, event.baseline.metric);
          const parts = [`new best ${metric} ${formatMetric(r.metric)}`];
          if (gain !== null) parts.push(`${formatDelta(gain)} vs the previous best`);
          if (vsBaseline !== null) parts.push(`${formatPercent(vsBaseline)} vs baseline`);
          send({ text: `autoresearch ${branch}: ${parts.join(", ")} — ${describe(r)}`, event: "new-best", branch, metric, experiment: r.id, value: r.metric });
        }
        break;
      }
      case "session-end": {
        const best = event.best;
        const summary = best ? `best ${metric} ${formatMetric(best.metric)} (${describe(best)})` : "no result";
        send({ text: `autoresearch ${branch} ended (${event.reason}): ${event.experiments} experiments, ${summary}`, event: "session-end", branch, metric, ...(best && { experiment: best.id, value: best.metric }) });
        break;
      }
      default:
        break;
    }
  };

  return {
    sink,
    flush: async () => {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}
