// The Prometheus endpoint: GET /metrics on node:http, loopback unless configured otherwise. Each
// scrape renders a fresh snapshot; nothing is computed between scrapes. A scraper cannot hurt the
// daemon: few connections, short timeouts, no request body read.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

import { describeErrno } from '../errors';
import { formatMetricsAddress, type MetricsAddress } from './address';
import { CONTENT_TYPE } from './render';

export interface MetricsServerOptions {
  readonly address: MetricsAddress;
  /** The exposition text of one scrape; a throw becomes a 500 and a log line. */
  readonly render: () => string;
  readonly log: (text: string) => void;
}

export const METRICS_PATH = '/metrics';

export class MetricsServer {
  private constructor(
    private readonly server: http.Server,
    /** The bound address (the port is the real one when 0 was asked for). */
    readonly address: MetricsAddress,
  ) {}

  static listen(opts: MetricsServerOptions): Promise<MetricsServer> {
    const server = http.createServer((req, res) => answer(req, res, opts));
    server.maxConnections = 16;
    server.headersTimeout = 5000;
    server.requestTimeout = 5000;
    server.keepAliveTimeout = 5000;
    return new Promise((resolve, reject) => {
      server.once('error', (e) => reject(new Error(`metrics endpoint: ${describeErrno(e, 'listen', formatMetricsAddress(opts.address))}`)));
      server.listen({ host: opts.address.host, port: opts.address.port, exclusive: true }, () => {
        const a = server.address() as AddressInfo;
        resolve(new MetricsServer(server, { host: a.address, port: a.port }));
      });
    });
  }

  get url(): string {
    return `http://${formatMetricsAddress(this.address)}${METRICS_PATH}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

function answer(req: http.IncomingMessage, res: http.ServerResponse, opts: MetricsServerOptions): void {
  const path = (req.url ?? '').split('?')[0];
  if (path !== METRICS_PATH) return plain(res, 404, `not found: the metrics are at ${METRICS_PATH}\n`);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return plain(res, 405, `method ${req.method} not allowed: use GET\n`);
  }
  let body: string;
  try {
    body = opts.render();
  } catch (e) {
    opts.log(`metrics endpoint: rendering failed: ${(e as Error).message}`);
    return plain(res, 500, 'internal error while rendering the metrics (see the hbd log)\n');
  }
  res.writeHead(200, { 'Content-Type': CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body) });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function plain(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
