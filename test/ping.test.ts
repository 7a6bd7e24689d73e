// Ping nodes (spec §7.8): the TypeScript transport and the daemon refuse them with the fix; the
// native engine's option checks; its raw ICMP socket on loopback (root); and in the netns lab an
// `hbd start` node whose ping targets are plain lab nodes (their kernels answer the echoes): the
// NS_st payloads on the wire, status ping, deadping after a cut cable, a half-dead ping_group.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { loadNative } from '../lib/native';
import { createNativeTransport } from '../lib/transport/native';
import type { TransportEvent, TransportOptions } from '../lib/transport/types';
import { createUdpTransport } from '../lib/transport/udp';
import { decode } from '../lib/wire/codec';
import { get } from '../lib/wire/message';
import type { AuthKeys } from '../lib/wire/types';
import { labSkipReason } from './lab/env';
import { lineTime, logOf } from './lab/ha-log';
import { withLab } from './lab/lab';

const load = loadNative({ HBD_TRANSPORT: 'auto', HBD_REQUIRE_NATIVE: process.env.HBD_REQUIRE_NATIVE });
const binding = load.binding;
const nativeSkip: string | false = binding ? false : (load.reason ?? 'native addon not loaded');
// CI runs as root, and there a missing privilege must fail rather than skip (as the lab does).
const isRoot = process.env.CI === 'true' || process.getuid?.() === 0;
const rootSkip: string | false = nativeSkip || (isRoot ? false : 'raw ICMP sockets need root (CAP_NET_RAW)');
const labSkip: string | false = nativeSkip || (labSkipReason() ?? false);

const HBD = path.resolve(__dirname, '..', '..', 'bin', 'hbd');
const keys: AuthKeys = { sendIndex: 1, keys: [{ index: 1, method: 'sha1', key: Buffer.from('ping-test-secret') }] };

function options(over: Partial<TransportOptions> = {}): TransportOptions {
  return {
    localNode: 'n1',
    nodes: ['n1'],
    media: [{ kind: 'ucast', iface: 'lo', peer: '127.0.0.1' }],
    udpPort: 20000 + ((process.pid + 7) % 20000),
    keepaliveMs: 50,
    deadtimeMs: 500,
    warntimeMs: 250,
    initdeadMs: 1000,
    stallLimitMs: 5000,
    authKeys: keys,
    wireFormat: 'netstring+auth',
    uuid: Buffer.alloc(16, 3),
    generation: 9,
    firstSeq: 1,
    ttl: 3,
    realtime: false,
    rtprio: null,
    pingNodes: [
      { name: '198.18.0.9', addresses: ['198.18.0.9'], group: false },
      { name: 'routers', addresses: ['198.18.0.7', '198.18.0.8'], group: true },
    ],
    deadpingMs: 300,
    ...over,
  };
}

test('the TypeScript transport refuses ping nodes at start, naming the lines and the fix', async () => {
  const t = createUdpTransport(options());
  await assert.rejects(t.start(() => undefined), (e: Error) => {
    assert.match(e.message, /^ha\.cf ping 198\.18\.0\.9, ping_group routers 198\.18\.0\.7 198\.18\.0\.8: ping nodes are reached by ICMP echo over a raw socket/);
    assert.match(e.message, /ping nodes need the native engine: build it \(npm rebuild hbd\), or remove the ping lines$/);
    return true;
  });
  await t.stop();
  // Without ping nodes the same options are fine (no socket is opened here: the refusal came first).
  assert.doesNotThrow(() => createUdpTransport(options({ pingNodes: [] })));
});

test('hbd start on the TypeScript transport refuses a ha.cf with ping, with the same message', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbd-ping-'));
  try {
    const conf = path.join(dir, 'etc');
    fs.mkdirSync(conf);
    fs.writeFileSync(path.join(conf, 'ha.cf'), 'keepalive 100ms\ndeadtime 1000ms\nucast lo 127.0.0.1\nnode n1\nping 198.18.0.9\n');
    fs.writeFileSync(path.join(conf, 'authkeys'), 'auth 1\n1 sha1 x\n', { mode: 0o600 });
    fs.writeFileSync(path.join(conf, 'haresources'), '');
    const r = spawnSync(process.execPath, [HBD, 'start', '-c', conf, '--node', 'n1', '--state-dir', path.join(dir, 'state'), '--run-dir', path.join(dir, 'run')], {
      encoding: 'utf8',
      env: { ...process.env, HBD_TRANSPORT: 'ts', HBD_REQUIRE_NATIVE: '0' },
      timeout: 30_000,
    });
    assert.notEqual(r.status, 0, `hbd start exited ${r.status}: ${r.stderr}`);
    assert.match(r.stderr, /ERROR: cannot start the ts transport: ha\.cf ping 198\.18\.0\.9: ping nodes are reached by ICMP echo/);
    assert.match(r.stderr, /hbd: not started: ha\.cf ping 198\.18\.0\.9: .*ping nodes need the native engine: build it \(npm rebuild hbd\), or remove the ping lines/);
    assert.ok(!fs.existsSync(path.join(dir, 'run', 'hbd.pid')), 'no pid file left behind');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe('native engine ping options', { skip: nativeSkip }, () => {
  const bad: [string, Partial<TransportOptions> | Record<string, unknown>, RegExp][] = [
    ['pingNodes not an array', { pingNodes: 'x' }, /Engine options\.pingNodes must be an array of \{ name, addresses, group \} \(got "x"\)/],
    ['a ping node without a name', { pingNodes: [{ addresses: ['198.18.0.9'], group: false }] }, /Engine options\.pingNodes\[0\]\.name must be a non-empty string \(got undefined\)/],
    ['a non-string address', { pingNodes: [{ name: 'g', addresses: ['198.18.0.9', 5], group: true }] }, /pingNodes\[0\]\.addresses\[1\] must be a non-empty string \(got 5\)/],
    ['group not a boolean', { pingNodes: [{ name: 'g', addresses: ['198.18.0.9'], group: 1 }] }, /pingNodes\[0\]\.group must be true or false \(got 1\)/],
    ['ping with two addresses', { pingNodes: [{ name: 'g', addresses: ['198.18.0.8', '198.18.0.9'], group: false }] }, /pingNodes\[0\]\.addresses must hold exactly one address \(several are a group: group true\) \(got 2\)/],
    ['a group without addresses', { pingNodes: [{ name: 'g', addresses: [], group: true }] }, /pingNodes\[0\]\.addresses must hold at least one address \(got 0\)/],
    ['a ping node named like a node', { nodes: ['n1', 'n2'], pingNodes: [{ name: 'n2', addresses: ['198.18.0.2'], group: false }] }, /pingNodes\[0\]\.name "n2" is already a node or ping node/],
    ['two ping nodes of one name', { pingNodes: [{ name: 'g', addresses: ['198.18.0.2'], group: true }, { name: 'g', addresses: ['198.18.0.3'], group: true }] }, /pingNodes\[1\]\.name "g" is already a node or ping node/],
    ['deadping zero', { deadpingMs: 0 }, /Engine options\.deadpingMs must be a number from 1 to 86400000 \(got 0\)/],
  ];
  for (const [what, over, message] of bad) {
    test(`${what} is a TypeError naming the option`, () => {
      assert.throws(() => createNativeTransport(options(over as Partial<TransportOptions>), binding!), (e: Error) => e instanceof TypeError && message.test(e.message));
    });
  }
});

/** Waits (bounded) until `pred` holds for the events collected so far. */
async function until(events: TransportEvent[], pred: (es: TransportEvent[]) => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred(events)) {
    if (Date.now() > end) throw new Error(`no ${what} within ${ms} ms; events: ${JSON.stringify(events.slice(-8))}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const summary = (e: TransportEvent): string => ('node' in e && 'link' in e ? `${e.type} ${e.node} ${e.link}${e.type === 'peer-up' ? ` ${e.status}` : ''}` : e.type);

for (const wireFormat of ['netstring+auth', 'netstring', 'classic'] as const) {
  test(`native engine (${wireFormat}): loopback answers the echoes, the ping nodes come up with status ping`, { skip: rootSkip, timeout: 20_000 }, async () => {
    const t = createNativeTransport(
      options({
        wireFormat,
        pingNodes: [
          { name: '127.0.0.1', addresses: ['127.0.0.1'], group: false },
          { name: 'loopbacks', addresses: ['127.0.0.2', '127.0.0.3'], group: true },
        ],
      }),
      binding!,
    );
    const events: TransportEvent[] = [];
    await t.start((e) => events.push(e));
    try {
      const want = ['peer-up 127.0.0.1 127.0.0.1 ping', 'link-up 127.0.0.1 127.0.0.1', 'peer-up loopbacks 127.0.0.2 ping', 'link-up loopbacks 127.0.0.2', 'link-up loopbacks 127.0.0.3'];
      await until(events, (es) => want.every((w) => es.map(summary).includes(w)), 'ping node events');
      assert.deepEqual(events.filter((e) => e.type === 'auth-fail' || e.type === 'media-error'), []);
    } finally {
      await t.stop();
    }
  });
}

test('native engine without root: start fails with EPERM, naming the ping nodes and the privilege', { skip: rootSkip, timeout: 30_000 }, (t) => {
  // A child as uid/gid 65534 (nobody) loads the compiled transport and starts one ping node.
  const script = `
    const { createNativeTransport } = require(${JSON.stringify(path.resolve(__dirname, '..', 'lib', 'transport', 'native'))});
    const opts = ${JSON.stringify({ ...options({ pingNodes: [{ name: '127.0.0.1', addresses: ['127.0.0.1'], group: false }] }), uuid: undefined, authKeys: undefined })};
    opts.uuid = Buffer.alloc(16, 3);
    opts.authKeys = { sendIndex: 1, keys: [{ index: 1, method: 'crc', key: Buffer.alloc(0) }] };
    createNativeTransport(opts).start(() => {}).then(
      () => console.log(JSON.stringify({ started: true })),
      (e) => console.log(JSON.stringify({ message: e.message, code: e.code, syscall: e.syscall, medium: e.medium })));
  `;
  const r = spawnSync(process.execPath, ['-e', script], { uid: 65534, gid: 65534, encoding: 'utf8', timeout: 20_000, env: { ...process.env, HBD_TRANSPORT: 'native' } });
  if (/EACCES|Cannot find module/.test(r.stderr)) return t.skip(`uid 65534 cannot read this checkout: ${r.stderr.split('\n')[0]}`);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.deepEqual({ ...out, message: undefined }, { message: undefined, code: 'EPERM', syscall: 'socket(SOCK_RAW, IPPROTO_ICMP)', medium: 'ping nodes' });
  assert.match(String(out.message), /^ping nodes: raw ICMP socket \(needs root or CAP_NET_RAW, as heartbeat's ping media do\): socket\(SOCK_RAW, IPPROTO_ICMP\) failed: Operation not permitted \(EPERM\)$/);
});

// --- the netns lab ------------------------------------------------------------------------------

interface IcmpEcho {
  readonly type: number;
  readonly src: string;
  readonly dst: string;
  readonly ident: number;
  readonly seq: number;
  readonly checksumOk: boolean;
  readonly payload: Buffer;
}

/** RFC 1071, written here independently of native/ping.cc: 0 when a received checksum verifies. */
function onesComplementSum(b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < b.length; i += 2) sum += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** The ICMP echoes of an Ethernet pcap as the lab writes it (lib/pcap/reader.ts keeps only UDP). */
function icmpEchoes(file: string): IcmpEcho[] {
  const b = fs.readFileSync(file);
  const magic = b.readUInt32LE(0);
  assert.ok(magic === 0xa1b2c3d4 || magic === 0xa1b23c4d, `${file}: not a little-endian pcap`);
  assert.equal(b.readUInt32LE(20), 1, `${file}: link type is not Ethernet`);
  const out: IcmpEcho[] = [];
  for (let off = 24; off + 16 <= b.length; ) {
    const len = b.readUInt32LE(off + 8);
    const f = b.subarray(off + 16, off + 16 + len);
    off += 16 + len;
    if (f.length < 34 || f.readUInt16BE(12) !== 0x0800 || f[23] !== 1) continue;
    const ip = 14;
    const icmp = f.subarray(ip + (f[ip]! & 0x0f) * 4, ip + f.readUInt16BE(ip + 2));
    if (icmp[0] !== 0 && icmp[0] !== 8) continue;
    const dotted = (o: number) => [...f.subarray(o, o + 4)].join('.');
    out.push({ type: icmp[0]!, src: dotted(ip + 12), dst: dotted(ip + 16), ident: icmp.readUInt16BE(4), seq: icmp.readUInt16BE(6), checksumOk: onesComplementSum(icmp) === 0, payload: icmp.subarray(8) });
  }
  return out;
}

const esc = (s: string): string => s.replace(/[.]/g, '\\.');

test('lab: ping and ping_group targets are lab nodes; status ping, NS_st on the wire, deadping after a cut', { skip: labSkip, timeout: 90_000 }, async () => {
  await withLab({ nodes: 3 }, async (lab) => {
    const n1 = lab.node(1);
    const logFile = path.join(n1.dirs.logs, 'ha-log');
    const deadpingMs = 600;
    // n2 and n3 run nothing: their kernels answer. 198.18.0.9 is nobody.
    n1.writeConfig({
      haCf: [
        `logfile ${logFile}`,
        'keepalive 100ms',
        'deadtime 1000ms',
        'warntime 500ms',
        'initdead 3000ms',
        `deadping ${deadpingMs}ms`,
        'bcast eth0',
        'realtime off',
        'node n1',
        `ping ${lab.node(2).address()}`,
        `ping_group routers ${lab.node(3).address()} 198.18.0.9`,
        '',
      ].join('\n'),
      authkeys: 'auth 1\n1 sha1 ping-lab-secret\n',
    });
    const capture = await lab.startCapture(0, { filter: 'icmp', name: 'ping' });
    const p1 = await n1.spawn([...n1.hbdArgv('start'), '--no-stderr'], { env: { HBD_TRANSPORT: 'native', HBD_REQUIRE_NATIVE: '1' }, logFile, name: 'hbd-native' });
    const n2 = lab.node(2).address();
    await p1.waitFor(new RegExp(`info: Status update for node ${esc(n2)}: status ping`), 15_000);
    await p1.waitFor(/info: Status update for node routers: status ping/, 15_000);
    await p1.waitFor(/Local status now set to: 'active'/, 15_000);
    const log = logOf(n1);
    assert.match(log, new RegExp(`info: Link ${esc(n2)}:${esc(n2)} up\\.`));
    assert.match(log, /info: Link routers:198\.18\.0\.3 up\./);
    assert.match(log, /info: ping heartbeat started\.[\s\S]*info: ping group heartbeat started\./);
    // Longer than deadping: the group lives on its one answering address, 198.18.0.9 never comes up.
    await new Promise((r) => setTimeout(r, 2 * deadpingMs));
    await capture.stop();
    assert.doesNotMatch(logOf(n1), /is dead/);
    assert.doesNotMatch(logOf(n1), /Link routers:198\.18\.0\.9 up/);

    // What went over the wire: echo requests carrying heartbeat's NS_st, echoed back verbatim.
    const echoes = icmpEchoes(capture.path);
    const requests = echoes.filter((e) => e.type === 8 && e.src === n1.address());
    const replies = echoes.filter((e) => e.type === 0 && e.dst === n1.address());
    assert.ok(requests.length >= 6 && replies.length >= 4, `${requests.length} requests, ${replies.length} replies`);
    assert.ok(echoes.every((e) => e.checksumOk), 'every ICMP checksum verifies');
    assert.equal(new Set(requests.map((e) => e.ident)).size, 1, 'one identifier per engine');
    // Requests to 198.18.0.9 use sequence numbers too but never leave n1 (ARP gets no answer).
    const seqs = requests.map((e) => e.seq);
    assert.ok(seqs.every((s, i) => i === 0 || s > seqs[i - 1]!), `sequence increments: ${seqs.slice(0, 12).join(',')}`);
    const labKeys: AuthKeys = { sendIndex: 1, keys: [{ index: 1, method: 'sha1', key: Buffer.from('ping-lab-secret') }] };
    const expected: [string, string, string][] = [
      [n2, n2, 'ping'],
      [lab.node(3).address(), 'routers', 'ping_group'],
    ];
    for (const [dst, src, info] of expected) {
      const req = requests.find((e) => e.dst === dst);
      assert.ok(req, `an echo request to ${dst}`);
      const d = decode(req.payload, labKeys);
      assert.equal(d.auth.verdict, 'ok');
      assert.equal(d.format, 'netstring', 'msgfmt classic on glue ≥ 1.0.10: netstring with the inner auth');
      assert.deepEqual(d.message.map((f) => f.name), ['t', 'st', 'info', 'src', 'ts', 'auth']);
      assert.deepEqual([get(d.message, 't'), get(d.message, 'st'), get(d.message, 'info'), get(d.message, 'src')], ['NS_st', 'ping', info, src]);
      assert.ok(Math.abs(parseInt(get(d.message, 'ts')!, 16) - Date.now() / 1000) < 60, 'ts is our status time');
    }
    const reply = replies.find((e) => e.src === n2)!;
    assert.ok(requests.some((r) => r.seq === reply.seq && r.payload.equals(reply.payload)), 'the reply echoes a request');

    // Cut n2's cable: it is dead deadping after its last echo; the group is untouched.
    const cutAt = Date.now();
    await lab.cutLink(2, 0);
    await p1.waitFor(new RegExp(`WARN: node ${esc(n2)}: is dead`), 10_000);
    const deadAt = lineTime(n1, /: is dead/)!;
    assert.ok(deadAt - cutAt >= deadpingMs - 100 - 50, `declared dead ${deadAt - cutAt} ms after the cut`);
    assert.ok(deadAt - cutAt < deadpingMs + 2000, `declared dead ${deadAt - cutAt} ms after the cut`);
    await p1.waitFor(new RegExp(`info: Link ${esc(n2)}:${esc(n2)} dead\\.`), 5_000);
    assert.doesNotMatch(logOf(n1), /node routers: is dead/);
    assert.doesNotMatch(logOf(n1), /string2msg_ll|failed authentication/);
  });
});
