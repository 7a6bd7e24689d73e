// Heartbeat gaps from the transport's status events: the time between two successive statuses of
// a peer (kernel receive stamps), counted once per sequence number however many links carry it.
import type { MetricsSink } from './recorder';

interface Last {
  generation: number;
  seq: number;
  mono: number;
}

export class GapTracker {
  private readonly last = new Map<string, Last>();

  constructor(private readonly sink: MetricsSink) {}

  /** An accepted status of `node`; `mono` in ms. */
  onStatus(node: string, generation: number, seq: number, mono: number): void {
    const prev = this.last.get(node);
    if (prev && prev.generation === generation && seq <= prev.seq) return; // the same beat on another link
    // A restart (new generation) measures from its previous life too: the silence was real.
    if (prev) this.sink.onHeartbeatGap(node, Math.max(0, mono - prev.mono));
    this.last.set(node, { generation, seq, mono });
  }
}
