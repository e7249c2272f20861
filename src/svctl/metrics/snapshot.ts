// One computed text for every scrape while it is fresh. A scrape costs what
// reading every service's status.json and cgroups costs (a fraction of a
// CPU-second for a few hundred services on a small machine), so concurrent
// scrapers, or a flood of them, share one computation instead of each
// paying for its own. Fresh for METRICS_SNAPSHOT_MIN_MS or ten times what
// the computation took, whichever is longer: the endpoint spends at most a
// tenth of a CPU on it whatever the scrape rate, and Prometheus, which
// scrapes every few seconds or more, always gets a new one.
import { METRICS_SNAPSHOT_MIN_MS } from '../../defaults.js';

/** How much longer than its computation a snapshot is served. */
export const SNAPSHOT_COST_FACTOR = 10;

export class Snapshot {
  private text: string | null = null;
  private until = 0;

  constructor(
    private readonly compute: () => string,
    private readonly now: () => number = Date.now,
    private readonly minMs = METRICS_SNAPSHOT_MIN_MS,
  ) {}

  /** The fresh text, computed now if there is none; what the computation throws is thrown, and nothing is kept. */
  get(): string {
    const t0 = this.now();
    if (this.text !== null && t0 < this.until) return this.text;
    const text = this.compute();
    const t1 = this.now();
    this.text = text;
    this.until = t1 + Math.max(this.minMs, (t1 - t0) * SNAPSHOT_COST_FACTOR);
    return text;
  }
}
