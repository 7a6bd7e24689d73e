// A ControlHandler with a fixed report and recorded calls, for the control socket and CLI tests.
import type { ActionResult, ControlHandler, ReloadResult, Scope, StatusReport } from '../../lib/control/types';

export const T0 = Date.parse('2026-12-01T10:00:00.000Z');

export function sampleReport(over: Partial<StatusReport> = {}): StatusReport {
  return {
    version: '0.1.0',
    pid: 4242,
    startedAt: T0,
    localNode: 'node1',
    comm: 'up',
    autoFailback: 'on',
    nodes: [
      { name: 'node1', type: 'normal', status: 'active', since: T0 + 1000, links: [{ name: 'eth0', status: 'up' }, { name: 'eth1', status: 'up' }] },
      { name: 'node2', type: 'normal', status: 'dead', since: T0 + 60_000, links: [{ name: 'eth0', status: 'dead' }, { name: 'eth1', status: 'up' }] },
      { name: '198.18.0.1', type: 'ping', status: 'ping', since: null, links: [{ name: '198.18.0.1', status: 'up' }] },
    ],
    groups: [
      { key: 'IPaddr::198.18.0.10', node: 'node1', holder: 'node1', state: 'held', resources: [{ text: 'IPaddr::198.18.0.10', state: 'running' }, { text: 'httpd', state: 'running' }] },
      { key: '198.18.0.11', node: 'node2', holder: 'node1', state: 'held', resources: [{ text: '198.18.0.11', state: 'running' }] },
    ],
    heldResources: 'all',
    transport: { kind: 'native', reason: 'the native addon loaded' },
    counters: { packetsIn: 1200, packetsOut: 1100, authFailures: 3, lateHeartbeats: 2, largestGapMs: 2870, takeovers: [{ from: 'node2', at: T0 + 60_000, durationMs: 812 }] },
    parameters: { hbversion: '3.0.6', keepalive: '1000ms', deadtime: '5000ms' },
    process: {
      rssBytes: 58 * 1048576, cpuSeconds: 12.25, threads: 9, openFds: 31, externalBytes: 2 * 1048576, arrayBuffersBytes: 1048576,
      heapSpaces: [{ name: 'new_space', sizeBytes: 1048576, usedBytes: 524288 }, { name: 'old_space', sizeBytes: 8 * 1048576, usedBytes: 6 * 1048576 }],
    },
    ...over,
  };
}

export class FakeHandler implements ControlHandler {
  readonly calls: string[] = [];
  report: StatusReport = sampleReport();
  action: ActionResult = { accepted: true, message: 'Going standby [all].' };
  reloadResult: ReloadResult = { ok: true, applied: ['haresources'], restartNeeded: ['udpport'], diagnostics: [] };
  throwOn: string | null = null;
  onStop: () => void = () => undefined;

  status(): StatusReport {
    this.calls.push('status');
    if (this.throwOn === 'status') throw new Error('boom');
    return this.report;
  }

  standby(scope: Scope): ActionResult {
    this.calls.push(`standby ${scope}`);
    return this.action;
  }

  async takeover(scope: Scope): Promise<ActionResult> {
    this.calls.push(`takeover ${scope}`);
    return this.action;
  }

  stop(): void {
    this.calls.push('stop');
    this.onStop();
  }

  reload(): ReloadResult {
    this.calls.push('reload');
    return this.reloadResult;
  }
}
