// The one call the daemon makes to serve metrics: a recorder it feeds and a server that renders
// its StatusReport with the recorder's state at each scrape.
import type { StatusReport } from '../control/types';
import type { MetricsAddress } from './address';
import { MetricsRecorder } from './recorder';
import { renderMetrics } from './render';
import { MetricsServer } from './server';

export interface MetricsEndpoint {
  /** Feed it from the daemon's events (see MetricsSink). */
  readonly recorder: MetricsRecorder;
  readonly server: MetricsServer;
}

/** Rejects with `metrics endpoint: listen ADDR:PORT: EADDRINUSE` (etc.) when it cannot bind. */
export async function serveMetrics(address: MetricsAddress, status: () => StatusReport, log: (text: string) => void, recorder = new MetricsRecorder()): Promise<MetricsEndpoint> {
  const server = await MetricsServer.listen({ address, render: () => renderMetrics(status(), recorder), log });
  return { recorder, server };
}
