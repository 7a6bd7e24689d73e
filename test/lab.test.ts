import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { Capture } from './lab/capture';
import { blockEventLoop, cpuStress, labSkipReason } from './lab/env';
import { relaySettings } from './lab/impair';
import { Lab, LabNode } from './lab/lab';
import type { LabProcess } from './lab/process';
import { Topology, validateShape } from './lab/topology';
import { run } from './lab/tools';

const PORT = '694';
const GROUP = '239.0.0.1';
const WAIT_MS = 5_000;

// The node program: `listen` prints "rx <source> <payload>" per datagram on port 694 (joining the
// multicast group on the given interface address); `send` sends "<tag> <seq> <Date.now()>" datagrams.
const PEER_JS = `'use strict';
const dgram = require('node:dgram');
const [mode, ...args] = process.argv.slice(2);
if (mode === 'listen') {
  const [port, group, ifaceAddr] = args;
  const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  s.on('message', (msg, from) => process.stdout.write('rx ' + from.address + ' ' + msg + '\\n'));
  s.bind(Number(port), () => {
    s.addMembership(group, ifaceAddr);
    process.stdout.write('listening\\n');
  });
} else if (mode === 'send') {
  const [dest, port, count, tag, ifaceAddr] = args;
  const s = dgram.createSocket('udp4');
  s.bind(() => {
    s.setBroadcast(true);
    if (ifaceAddr) s.setMulticastInterface(ifaceAddr);
    let seq = 0;
    const next = () => {
      if (seq === Number(count)) return s.close();
      s.send(tag + ' ' + seq++ + ' ' + Date.now(), Number(port), dest, (err) => {
        if (err) throw err;
        setTimeout(next, 10);
      });
    };
    next();
  });
} else {
  console.error('usage: peer.js listen PORT GROUP IFACE_ADDR | send DEST PORT COUNT TAG [IFACE_ADDR]');
  process.exit(2);
}
`;

/** True while pid names a live process (a zombie counts as gone). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

interface PcapRecord {
  tsNs: bigint;
  frame: Buffer;
}

/** Reads a little-endian pcap (what tcpdump writes on x86): header fields and the records. */
function readPcap(file: string): { magic: number; linktype: number; records: PcapRecord[] } {
  const buf = fs.readFileSync(file);
  assert.ok(buf.length >= 24, `${file} is shorter than a pcap header`);
  const magic = buf.readUInt32LE(0);
  const nano = magic === 0xa1b23c4d;
  assert.ok(nano || magic === 0xa1b2c3d4, `${file}: unknown pcap magic ${magic.toString(16)}`);
  const records: PcapRecord[] = [];
  for (let at = 24; at < buf.length; ) {
    const sec = BigInt(buf.readUInt32LE(at));
    const frac = BigInt(buf.readUInt32LE(at + 4));
    const caplen = buf.readUInt32LE(at + 8);
    records.push({ tsNs: sec * 1_000_000_000n + (nano ? frac : frac * 1000n), frame: buf.subarray(at + 16, at + 16 + caplen) });
    at += 16 + caplen;
  }
  return { magic, linktype: buf.readUInt32LE(20), records };
}

/** UDP destination port and payload of an Ethernet/IPv4 frame, or null. */
function udpOf(frame: Buffer): { dport: number; payload: string } | null {
  if (frame.readUInt16BE(12) !== 0x0800 || frame[23] !== 17) return null;
  const udp = 14 + (frame[14] & 0x0f) * 4;
  return { dport: frame.readUInt16BE(udp + 2), payload: frame.subarray(udp + 8).toString() };
}

test('names fit in 15 characters and addresses stay in 198.18.0.0/15', () => {
  const t = new Topology('hb1a2b', validateShape({ nodes: 99, links: 9 }));
  for (const name of [t.port(99, 8), t.relayEnd(99, 8), t.relayBridgeEnd(99, 8), t.bridge(8), t.nodeNs(99)]) {
    assert.ok(name.startsWith('hb1a2b') && name.length <= 15, name);
  }
  assert.equal(t.cidr(3, 1), '198.18.1.3/24');
  assert.equal(t.broadcast(1), '198.18.1.255');
  assert.equal(t.iface(1), 'eth1');
  assert.equal(t.mac(3, 1), '02:68:62:00:01:03');
  assert.deepEqual(t.namespaces.slice(0, 2), ['hb1a2bsw', 'hb1a2bn1']);
  assert.throws(() => t.port(100, 0), /node 100 does not exist \(nodes are 1\.\.99\)/);
  assert.throws(() => t.iface(9), /medium 9 does not exist \(media are 0\.\.8\)/);
});

test('bad lab and netem options are rejected with the option named', async () => {
  await assert.rejects(Lab.create({ nodes: 0 }), /option 'nodes' must be an integer from 1 to 99 \(got 0\)/);
  await assert.rejects(Lab.create({ nodes: 2, links: 1.5 }), /option 'links' must be an integer from 1 to 9 \(got 1\.5\)/);
  assert.equal(relaySettings({ lossPct: 30, delayMs: 5, jitterMs: 1 }), '30 5 1 30 5 1');
  assert.equal(relaySettings({ delayMs: 5, direction: 'ingress' }), '0 0 0 0 5 0');
  assert.throws(() => relaySettings({ lossPct: 101 }), /'lossPct' must be a number from 0 to 100 \(got 101\)/);
  assert.throws(() => relaySettings({ direction: 'up' as never }), /'direction' must be 'both', 'egress' or 'ingress'/);
});

test('cpuStress runs bounded child processes and stop() ends them by PID', async () => {
  await assert.rejects(cpuStress({ cores: 0, dutyPct: 50, durationMs: 100 }), /option 'cores' must be an integer from 1 to 64/);
  const long = await cpuStress({ cores: 1, dutyPct: 30, durationMs: 60_000 });
  assert.equal(long.pids.length, 1);
  assert.ok(alive(long.pids[0]));
  await long.stop();
  assert.ok(!alive(long.pids[0]));
  const short = await cpuStress({ cores: 2, dutyPct: 50, durationMs: 100 });
  await short.done; // ends on its own
  assert.ok(short.pids.every((pid) => !alive(pid)));
  const start = performance.now();
  blockEventLoop(20);
  assert.ok(performance.now() - start >= 20);
});

describe('network lab: 3 nodes, 2 media', { skip: labSkipReason() ?? false }, () => {
  let lab: Lab;
  let peerJs: string;
  const listeners = new Map<LabNode, LabProcess>();
  const captures: Capture[] = [];
  const startedPids: number[] = [];

  const send = (from: LabNode, dest: string, tag: string, count = 3, ifaceAddr?: string) =>
    from.exec([process.execPath, peerJs, 'send', dest, PORT, String(count), tag, ...(ifaceAddr ? [ifaceAddr] : [])]);
  const heard = (node: LabNode, from: string, tag: string, count = 1) =>
    listeners.get(node)!.waitFor(
      (text) => text.split('\n').filter((l) => l.startsWith(`rx ${from} ${tag} `)).length >= count,
      WAIT_MS,
    );
  const log = (node: LabNode) => fs.readFileSync(listeners.get(node)!.stdoutPath!, 'utf8');

  before(async () => {
    lab = await Lab.create({ nodes: 3, links: 2 });
    peerJs = path.join(lab.root, 'peer.js');
    fs.writeFileSync(peerJs, PEER_JS);
    for (const node of lab.nodes) {
      const p = await node.spawn([process.execPath, peerJs, 'listen', PORT, GROUP, node.address(1)], { name: 'peer' });
      startedPids.push(p.pid);
      listeners.set(node, p);
    }
    for (const p of listeners.values()) await p.waitFor(/^listening$/m, WAIT_MS);
    for (const k of [0, 1]) captures.push(await lab.startCapture(k));
    startedPids.push(...captures.map((c) => c.process.pid));
  });

  after(async () => {
    await lab?.teardown({ failed: true });
  });

  test('each node has eth0/eth1 in 198.18.<k>.<i>/24, lo up, no IPv6, and its own directories', async () => {
    const n2 = lab.node('n2');
    type Addr = { ifname: string; operstate: string; addr_info: Array<{ family: string; local: string; prefixlen: number; broadcast?: string }> };
    const links = JSON.parse((await n2.exec(['ip', '-j', 'addr', 'show'])).stdout) as Addr[];
    const byName = new Map(links.map((l) => [l.ifname, l]));
    assert.deepEqual([...byName.keys()].sort(), ['eth0', 'eth1', 'lo']);
    assert.deepEqual(byName.get('eth0')!.addr_info, [
      { ...byName.get('eth0')!.addr_info[0], family: 'inet', local: '198.18.0.2', prefixlen: 24, broadcast: '198.18.0.255' },
    ]);
    assert.equal(byName.get('eth1')!.addr_info[0].local, '198.18.1.2');
    assert.ok(links.every((l) => l.addr_info.every((a) => a.family === 'inet')), 'no inet6 addresses');
    assert.equal(byName.get('lo')!.addr_info[0].local, '127.0.0.1');

    const files = n2.writeConfig({ haCf: 'bcast eth0\n', authkeys: 'auth 1\n1 crc\n' });
    assert.equal(fs.statSync(files.authkeys).mode & 0o777, 0o600);
    assert.equal(fs.readFileSync(files.haresources, 'utf8'), '');
    assert.equal(path.dirname(files.haCf), n2.dirs.config);
    assert.notEqual(n2.dirs.state, lab.node(3).dirs.state);
    assert.deepEqual(n2.hbdArgv().slice(2, 6), ['start', '-c', n2.dirs.config, '--node']);
  });

  test('broadcast on eth0 reaches the other two nodes', async () => {
    await send(lab.node(1), '198.18.0.255', 'b1');
    await heard(lab.node(2), '198.18.0.1', 'b1', 3);
    await heard(lab.node(3), '198.18.0.1', 'b1', 3);
  });

  test('multicast to 239.0.0.1 on eth1 reaches the other two nodes', async () => {
    await send(lab.node(1), GROUP, 'm1', 3, '198.18.1.1');
    await heard(lab.node(2), '198.18.1.1', 'm1', 3);
    await heard(lab.node(3), '198.18.1.1', 'm1', 3);
  });

  test('cutLink stops that medium only, and restoreLink brings it back', async () => {
    const [n1, n2, n3] = lab.nodes;
    await lab.cutLink(n3, 0);
    const eth0 = JSON.parse((await n3.exec(['ip', '-j', 'link', 'show', 'eth0'])).stdout)[0] as { flags: string[] };
    assert.ok(eth0.flags.includes('NO-CARRIER') && eth0.flags.includes('UP'), `n3 eth0 flags ${eth0.flags}`);
    // b2 goes first; once the later m2 has arrived over eth1, b2 would have too.
    await send(n1, '198.18.0.255', 'b2');
    await send(n1, GROUP, 'm2', 3, '198.18.1.1');
    await heard(n2, '198.18.0.1', 'b2', 3);
    await heard(n3, '198.18.1.1', 'm2', 3);
    assert.doesNotMatch(log(n3), / b2 /);

    await lab.restoreLink(n3, 0);
    await send(n1, '198.18.0.255', 'b3');
    await heard(n3, '198.18.0.1', 'b3', 3);
  });

  test('netem 100% loss drops everything on that cable, both ways, until cleared', async () => {
    const [n1, n2, n3] = lab.nodes;
    await lab.netem(n2, 0, { lossPct: 100 });
    await send(n1, '198.18.0.255', 'b4');
    await send(n1, GROUP, 'm4', 3, '198.18.1.1');
    await heard(n3, '198.18.0.1', 'b4', 3);
    await heard(n2, '198.18.1.1', 'm4', 3);
    assert.doesNotMatch(log(n2), / b4 /);

    await send(n2, '198.18.0.255', 'b5');
    await send(n2, GROUP, 'm5', 3, '198.18.1.2');
    await heard(n1, '198.18.1.2', 'm5', 3);
    await heard(n3, '198.18.1.2', 'm5', 3);
    assert.doesNotMatch(log(n1) + log(n3), / b5 /);

    await lab.clearNetem(n2, 0);
    await send(n1, '198.18.0.255', 'b6');
    await heard(n2, '198.18.0.1', 'b6', 3);
  });

  test('netem delay holds frames back for at least delayMs (pcap time vs. send time)', async () => {
    const [n1, n2] = lab.nodes;
    const delayMs = 40;
    // n2's cable had the loss relay before: a second relay on the same cable must work from the start.
    await lab.netem(n2, 0, { delayMs, direction: 'egress' });
    const capture = await lab.startCapture(0, { name: 'delay' });
    startedPids.push(capture.process.pid);
    await send(n2, '198.18.0.255', 'd1');
    await send(n2, '198.18.0.1', 'd2'); // unicast: ARP and UDP checksums must survive the relay
    await heard(n1, '198.18.0.2', 'd1', 3);
    await heard(n1, '198.18.0.2', 'd2', 3);
    await lab.clearNetem(n2, 0);
    const pcap = readPcap(await capture.stop());
    const delayed = pcap.records.map((r) => ({ r, udp: udpOf(r.frame) })).filter(({ udp }) => /^d[12] /.test(udp?.payload ?? ''));
    assert.equal(delayed.length, 6);
    for (const { r, udp } of delayed) {
      const sentMs = BigInt(udp!.payload.split(' ')[2]);
      // Date.now() is taken before the send, so the bound holds with no margin but its truncation.
      assert.ok(r.tsNs >= (sentMs + BigInt(delayMs) - 1n) * 1_000_000n, `${udp!.payload} captured at ${r.tsNs} ns`);
    }
  });

  test('captures on the switch bridges hold each medium\'s packets, with nanosecond timestamps', async () => {
    const [br0, br1] = await Promise.all(captures.map((c) => c.stop()));
    for (const file of [br0, br1]) {
      const pcap = readPcap(file);
      assert.equal(pcap.magic, captures[0].nanosecond ? 0xa1b23c4d : 0xa1b2c3d4);
      assert.equal(pcap.linktype, 1); // Ethernet
      assert.ok(pcap.records.every((r) => udpOf(r.frame)?.dport === 694), 'only udp port 694 is captured');
    }
    const tags = (file: string) => readPcap(file).records.map((r) => udpOf(r.frame)!.payload.split(' ')[0]);
    const count = (list: string[], tag: string) => list.filter((t) => t === tag).length;
    const on0 = tags(br0);
    const on1 = tags(br1);
    assert.equal(count(on0, 'b1'), 3);
    assert.equal(count(on1, 'm1'), 3);
    assert.equal(count(on0, 'm1') + count(on1, 'b1'), 0);
    assert.equal(count(on0, 'b5'), 0); // dropped by n2's relay before reaching the bridge
    assert.equal(count(on0, 'b4'), 3); // dropped after the bridge, on the way to n2
  });

  test('recreateInterface brings back eth1 with the same address and a new ifindex', async () => {
    const [n1, n2] = lab.nodes;
    const before = await n2.ifindex(1);
    await lab.removeInterface(n2, 1);
    await assert.rejects(n2.ifindex(1), /eth1/);
    await lab.recreateInterface(n2, 1);
    assert.notEqual(await n2.ifindex(1), before);
    await send(n1, '198.18.1.255', 'r1');
    await heard(n2, '198.18.1.1', 'r1', 3);
  });

  test('teardown kills every process (forked ones too) and leaves no namespace', async () => {
    const n3 = lab.node(3);
    // A child that leaves its parent's process group: only the namespace sweep can find it.
    const forker = await n3.spawn([
      process.execPath, '-e',
      "const c = require('node:child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { detached: true, stdio: 'ignore' }); console.log(c.pid); c.unref();",
    ]);
    const text = await forker.waitFor(/^\d+$/m, WAIT_MS, { failOnExit: false });
    const orphan = Number(text.trim());
    assert.ok(alive(orphan));
    const pids = [...startedPids, ...lab.pids, orphan];
    const root = lab.root;

    await lab.teardown();
    await lab.teardown(); // idempotent

    const left = (await run(['ip', 'netns', 'list'])).stdout.split('\n').filter((l) => l.startsWith(lab.prefix));
    assert.deepEqual(left, []);
    assert.deepEqual(pids.filter(alive), []);
    assert.ok(!fs.existsSync(root));
  });
});
