// The Prometheus endpoint scraped over HTTP with a fake status source: the exposition format, the
// states from the StatusReport, the recorder's histograms and counters, and bad requests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

import { parseHaCf } from '../lib/config/hacf';
import { parseMetricsAddress } from '../lib/metrics/address';
import { serveMetrics } from '../lib/metrics/endpoint';
import { GapTracker } from '../lib/metrics/gaps';
import { sampleProcess } from '../lib/metrics/process';
import { Histogram } from '../lib/metrics/histogram';
import { AUTH_FAILURE_REASONS, classifyAuthFailure, MetricsRecorder } from '../lib/metrics/recorder';
import { CONTENT_TYPE } from '../lib/metrics/render';
import { replayReason, verdictReason } from '../lib/transport/inbound';
import { sampleReport } from './support/fake-control';

interface Reply {
  status: number;
  type: string | undefined;
  body: string;
}

function get(url: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Parses the text format strictly: every sample belongs to a family announced with HELP and TYPE. */
function parseExposition(text: string): Map<string, number> {
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  let helped = '';
  for (const line of text.slice(0, -1).split('\n')) {
    const help = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$/.exec(line);
    if (help) {
      helped = help[1];
      continue;
    }
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (gauge|counter|histogram)$/.exec(line);
    if (type) {
      assert.equal(type[1], helped, `TYPE ${type[1]} follows its HELP`);
      assert.ok(!types.has(type[1]), `family ${type[1]} announced once`);
      types.set(type[1], type[2]);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*\})? (-?[0-9.e+-]+|\+Inf|NaN)$/.exec(line);
    assert.ok(m, `a valid sample line: ${line}`);
    const family = m[1].replace(/_(bucket|sum|count)$/, (s) => (types.get(m[1].slice(0, -s.length)) === 'histogram' ? '' : s));
    assert.ok(types.has(family), `${m[1]} belongs to an announced family`);
    const key = `${m[1]}${m[2] ?? ''}`;
    assert.ok(!samples.has(key), `one sample per series: ${key}`);
    samples.set(key, Number(m[3] === '+Inf' ? Infinity : m[3]));
  }
  return samples;
}

test('metrics address: a port alone is loopback; an address must be an IP literal', () => {
  assert.deepEqual(parseMetricsAddress('9694'), { ok: true, value: { host: '127.0.0.1', port: 9694 } });
  assert.deepEqual(parseMetricsAddress('0.0.0.0:9100'), { ok: true, value: { host: '0.0.0.0', port: 9100 } });
  assert.deepEqual(parseMetricsAddress('[::1]:9100'), { ok: true, value: { host: '::1', port: 9100 } });
  for (const bad of ['', 'x', '0', '65536', 'host:9100', '1.2.3:9100', '127.0.0.1:', '127.0.0.1:9100:1', '::1:9100']) {
    assert.equal(parseMetricsAddress(bad).ok, false, bad);
  }
});

test('hbd_metrics in ha.cf sets the endpoint; without it metrics are off', () => {
  const base = 'node a b\nbcast eth0\nlogfacility daemon\n';
  assert.deepEqual(parseHaCf(`${base}hbd_metrics 127.0.0.1:9694\n`, 'ha.cf').haCf.metrics, { host: '127.0.0.1', port: 9694 });
  assert.equal(parseHaCf(base, 'ha.cf').haCf.metrics, null);
});

test('every auth-fail text of the transport is classified into a fixed reason', () => {
  assert.equal(classifyAuthFailure(verdictReason({ verdict: 'bad-signature', index: 1, method: 'sha1' } as never)), 'bad-signature');
  assert.equal(classifyAuthFailure(verdictReason({ verdict: 'unknown-key-index', index: 7 } as never)), 'unknown-key-index');
  assert.equal(classifyAuthFailure(verdictReason({ verdict: 'unsigned' } as never)), 'unsigned');
  assert.equal(classifyAuthFailure(verdictReason({ verdict: 'unverified' } as never)), 'unverified');
  assert.equal(classifyAuthFailure('unknown node'), 'unknown-node');
  assert.equal(classifyAuthFailure(replayReason(4, 5)), 'replay');
  assert.equal(classifyAuthFailure('netstring: bad length'), 'malformed');
});

test('heartbeat gaps: one per new sequence number, duplicates on other links ignored, a restart measured', () => {
  const rec = new MetricsRecorder();
  const gaps = new GapTracker(rec);
  gaps.onStatus('b', 7, 10, 1000);
  gaps.onStatus('b', 7, 10, 1000.2); // the same beat on eth1
  gaps.onStatus('b', 7, 11, 2000);
  gaps.onStatus('b', 7, 11, 2000.3);
  gaps.onStatus('b', 7, 12, 5500); // late
  gaps.onStatus('b', 8, 1, 9500); // restarted with a new generation
  gaps.onStatus('c', 1, 1, 100);
  const b = rec.gaps.get('b')!.snapshot();
  assert.equal(b.count, 3);
  assert.equal(b.sum, 1 + 3.5 + 4);
  assert.equal(rec.gaps.has('c'), false, 'a first status is no gap');
});

test('histogram buckets are cumulative and +Inf counts everything', () => {
  const h = new Histogram([0.1, 1]);
  for (const s of [0.05, 0.1, 0.5, 3, -1, NaN]) h.observe(s);
  assert.deepEqual(h.snapshot(), { buckets: [{ le: 0.1, count: 2 }, { le: 1, count: 3 }], sum: 3.65, count: 4 });
});

test('the endpoint is scraped: states, counters, histograms, in the text format', async () => {
  let report = sampleReport();
  const ep = await serveMetrics({ host: '127.0.0.1', port: 0 }, () => report, () => undefined);
  try {
    const rec = ep.recorder;
    rec.onHeartbeatGap('node2', 1000);
    rec.onHeartbeatGap('node2', 2870);
    rec.onHeartbeatGap('node1', 4);
    rec.onAuthFailure('bad-signature', 2);
    rec.onAuthFailure(classifyAuthFailure('unsigned packet'), 1);
    rec.onTakeover(812);
    rec.onResourceAction('IPaddr::198.18.0.10', 'start', 40, true);
    rec.onResourceAction('httpd', 'start', 1200, false);
    rec.onResourceAction('httpd', 'start', 300, true);

    assert.equal(ep.server.address.host, '127.0.0.1');
    const r = await get(ep.server.url);
    assert.equal(r.status, 200);
    assert.equal(r.type, CONTENT_TYPE);
    const s = parseExposition(r.body);
    const v = (k: string) => {
      assert.ok(s.has(k), `missing ${k}`);
      return s.get(k);
    };
    assert.equal(v('hbd_info{version="0.1.0",node="node1"}'), 1);
    assert.equal(v('hbd_transport{kind="native"}'), 1);
    assert.equal(v('hbd_transport{kind="ts"}'), 0);
    assert.equal(v('hbd_communication_up'), 1);
    assert.equal(v('hbd_node_state{node="node2",type="normal",state="dead"}'), 1);
    assert.equal(v('hbd_node_state{node="node2",type="normal",state="active"}'), 0);
    assert.equal(v('hbd_node_alive{node="node1",type="normal"}'), 1);
    assert.equal(v('hbd_node_alive{node="node2",type="normal"}'), 0);
    assert.equal(v('hbd_node_alive{node="198.18.0.1",type="ping"}'), 1);
    assert.equal(v('hbd_link_up{node="node2",link="eth0"}'), 0);
    assert.equal(v('hbd_link_up{node="node2",link="eth1"}'), 1);
    assert.equal(v('hbd_resource_group_local{group="198.18.0.11",preferred="node2"}'), 1);
    assert.equal(v('hbd_resource_group_state{group="IPaddr::198.18.0.10",state="held"}'), 1);
    assert.equal(v('hbd_packets_received_total'), 1200);
    assert.equal(v('hbd_late_heartbeats_total'), 2);
    assert.equal(v('hbd_heartbeat_largest_gap_seconds'), 2.87);
    assert.equal(v('hbd_heartbeat_gap_seconds_bucket{node="node2",le="1"}'), 1);
    assert.equal(v('hbd_heartbeat_gap_seconds_bucket{node="node2",le="5"}'), 2);
    assert.equal(v('hbd_heartbeat_gap_seconds_bucket{node="node2",le="+Inf"}'), 2);
    assert.equal(v('hbd_heartbeat_gap_seconds_count{node="node1"}'), 1);
    assert.equal(v('hbd_heartbeat_gap_seconds_bucket{node="node1",le="0.005"}'), 1);
    assert.equal(v('hbd_auth_failures_total{reason="bad-signature"}'), 2);
    assert.equal(v('hbd_auth_failures_total{reason="unsigned"}'), 1);
    for (const reason of AUTH_FAILURE_REASONS) v(`hbd_auth_failures_total{reason="${reason}"}`);
    assert.equal(v('hbd_takeovers_total'), 1);
    assert.equal(v('hbd_takeover_duration_seconds_bucket{le="1"}'), 1);
    assert.equal(v('hbd_takeover_duration_seconds_bucket{le="0.5"}'), 0);
    assert.equal(v('hbd_resource_action_duration_seconds_count{resource="httpd",op="start"}'), 2);
    assert.equal(v('hbd_resource_action_failures_total{resource="httpd",op="start"}'), 1);
    assert.equal(v('hbd_resource_action_failures_total{resource="IPaddr::198.18.0.10",op="start"}'), 0);
    assert.equal(v('process_resident_memory_bytes'), 58 * 1048576);
    assert.equal(v('process_cpu_seconds_total'), 12.25);
    assert.equal(v('process_open_fds'), 31);
    assert.equal(v('process_threads'), 9);
    assert.equal(v('nodejs_heap_space_size_total_bytes{space="old_space"}'), 8 * 1048576);
    assert.equal(v('nodejs_heap_space_size_used_bytes{space="new_space"}'), 524288);
    assert.equal(v('nodejs_external_memory_bytes'), 2 * 1048576);

    // Each scrape is fresh: a status change shows at once.
    report = { ...report, nodes: report.nodes.map((n) => (n.name === 'node2' ? { ...n, status: 'active' as const } : n)) };
    const again = parseExposition((await get(ep.server.url)).body);
    assert.equal(again.get('hbd_node_state{node="node2",type="normal",state="active"}'), 1);
  } finally {
    await ep.server.close();
  }
});

test('label values are escaped; odd names cannot break the format', async () => {
  const report = sampleReport({ localNode: 'a"b\\c\nd' });
  const ep = await serveMetrics({ host: '127.0.0.1', port: 0 }, () => report, () => undefined);
  try {
    const s = parseExposition((await get(ep.server.url)).body);
    assert.equal(s.get('hbd_info{version="0.1.0",node="a\\"b\\\\c\\nd"}'), 1);
  } finally {
    await ep.server.close();
  }
});

test('wrong path, wrong method, HEAD and a failing render', async () => {
  const logged: string[] = [];
  let fail = false;
  const ep = await serveMetrics({ host: '127.0.0.1', port: 0 }, () => {
    if (fail) throw new Error('no report');
    return sampleReport();
  }, (t) => logged.push(t));
  try {
    const base = `http://127.0.0.1:${ep.server.address.port}`;
    const nf = await get(`${base}/`);
    assert.equal(nf.status, 404);
    assert.match(nf.body, /the metrics are at \/metrics/);
    assert.equal((await get(ep.server.url, 'POST')).status, 405);
    const head = await get(ep.server.url, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal((await get(`${ep.server.url}?x=1`)).status, 200);
    fail = true;
    assert.equal((await get(ep.server.url)).status, 500);
    assert.deepEqual(logged, ['metrics endpoint: rendering failed: no report']);
  } finally {
    await ep.server.close();
  }
});

test('a port in use is refused naming the address and errno', async () => {
  const first = await serveMetrics({ host: '127.0.0.1', port: 0 }, () => sampleReport(), () => undefined);
  try {
    await assert.rejects(serveMetrics({ host: '127.0.0.1', port: first.server.address.port }, () => sampleReport(), () => undefined), {
      message: `metrics endpoint: listen 127.0.0.1:${first.server.address.port}: EADDRINUSE`,
    });
  } finally {
    await first.server.close();
  }
});

test('resource label space is bounded: past the limit, series fold into "other"', () => {
  const rec = new MetricsRecorder();
  for (let i = 0; i < 600; i++) rec.onResourceAction(`r${i}`, 'start', 1, true);
  assert.equal(rec.resources.size, 513);
  assert.equal([...rec.resources.values()].filter((s) => s.resource === 'other')[0].durations.snapshot().count, 88);
});

test('the README metrics table lists exactly the families a scrape shows, with their types', async () => {
  const text = fs.readFileSync(path.resolve(__dirname, '..', '..', 'README.md'), 'utf8');
  const at = text.indexOf('<!-- metrics:');
  assert.ok(at >= 0, 'README has the metrics table');
  const documented = new Map<string, string>();
  for (const line of text.slice(at).split('\n').slice(3)) {
    if (!line.startsWith('|')) break;
    const [names, type] = line.split('|').slice(1, 3);
    for (const m of names.matchAll(/`((?:hbd|process|nodejs)_[a-z_]+)`/g)) documented.set(m[1], type.trim());
  }
  const ep = await serveMetrics({ host: '127.0.0.1', port: 0 }, () => sampleReport(), () => undefined);
  try {
    const body = (await get(ep.server.url)).body;
    const scraped = new Map([...body.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
    assert.deepEqual([...documented].sort(), [...scraped].sort());
  } finally {
    await ep.server.close();
  }
});

test("the process sample: this process's RSS, threads and descriptors from /proc, V8's spaces from V8", () => {
  const p = sampleProcess();
  const status = fs.readFileSync('/proc/self/status', 'latin1');
  assert.ok(p.rssBytes > 10 * 1048576 && p.rssBytes % 1024 === 0, String(p.rssBytes));
  assert.ok(Math.abs(p.threads - Number(/^Threads:\s+(\d+)/m.exec(status)![1])) <= 2, String(p.threads));
  assert.ok(p.openFds >= 3 && Math.abs(p.openFds - fs.readdirSync('/proc/self/fd').length) <= 1, String(p.openFds));
  assert.ok(p.cpuSeconds > 0);
  const spaces = new Map(p.heapSpaces.map((h) => [h.name, h]));
  for (const name of ['new_space', 'old_space', 'code_space']) assert.ok(spaces.has(name), `${name} in ${[...spaces.keys()].join(', ')}`);
  for (const h of p.heapSpaces) assert.ok(h.usedBytes <= h.sizeBytes, JSON.stringify(h));
  assert.ok(p.externalBytes >= p.arrayBuffersBytes);
});
