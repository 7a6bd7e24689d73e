// lib/pcap/reader.ts: the capture reader behind `hbd decode`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

import fc from 'fast-check';

import { CaptureError, captureKind, readCapture } from '../lib/pcap/reader';
import { CAPTURE_DIR } from './vectors/vector-file';

// ---- frame and file builders ------------------------------------------------------------

function ipv4(payload: Buffer, o: { proto?: number; flags?: number; src?: string; dst?: string } = {}): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + payload.length, 2);
  h.writeUInt16BE(o.flags ?? 0x4000, 6); // DF, not a fragment
  h[8] = 64;
  h[9] = o.proto ?? 17;
  (o.src ?? '10.0.0.1').split('.').forEach((x, i) => (h[12 + i] = Number(x)));
  (o.dst ?? '10.0.0.255').split('.').forEach((x, i) => (h[16 + i] = Number(x)));
  return Buffer.concat([h, payload]);
}

function udp(payload: Buffer, sport = 40000, dport = 694): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([h, payload]);
}

const ethernet = (ip: Buffer, etype = 0x0800, vlans = 0): Buffer => {
  const tags = Buffer.concat(Array.from({ length: vlans }, () => Buffer.from([0x81, 0x00, 0x00, 0x05])));
  const t = Buffer.alloc(2);
  t.writeUInt16BE(etype);
  // Pad to the 60-byte Ethernet minimum like a NIC does: the reader must trust the IP length.
  const frame = Buffer.concat([Buffer.alloc(12, 0xee), tags, t, ip]);
  return frame.length < 60 ? Buffer.concat([frame, Buffer.alloc(60 - frame.length)]) : frame;
};
const sll = (ip: Buffer): Buffer => Buffer.concat([Buffer.from([0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00]), ip]);
const sll2 = (ip: Buffer): Buffer => Buffer.concat([Buffer.from([0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0]), ip]);

interface Frame {
  data: Buffer;
  sec: number;
  nanos: number;
}

function pcapFile(frames: Frame[], o: { le: boolean; nano: boolean; link: number }): Buffer {
  const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    if (o.le) b.writeUInt32LE(n);
    else b.writeUInt32BE(n);
    return b;
  };
  const u16 = (n: number): Buffer => {
    const b = Buffer.alloc(2);
    if (o.le) b.writeUInt16LE(n);
    else b.writeUInt16BE(n);
    return b;
  };
  const head = Buffer.concat([u32(o.nano ? 0xa1b23c4d : 0xa1b2c3d4), u16(2), u16(4), u32(0), u32(0), u32(65535), u32(o.link)]);
  return Buffer.concat([head, ...frames.map((f) => Buffer.concat([u32(f.sec), u32(o.nano ? f.nanos : Math.floor(f.nanos / 1000)), u32(f.data.length), u32(f.data.length), f.data]))]);
}

function pcapngBlock(le: boolean, type: number, body: Buffer): Buffer {
  const pad = Buffer.alloc((4 - (body.length % 4)) % 4);
  const len = 12 + body.length + pad.length;
  const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    if (le) b.writeUInt32LE(n);
    else b.writeUInt32BE(n);
    return b;
  };
  return Buffer.concat([u32(type), u32(len), body, pad, u32(len)]);
}

function pcapng(le: boolean, parts: ({ idb: number; tsresol?: number } | { epb: Buffer; iface?: number; units: bigint } | { spb: Buffer })[]): Buffer {
  const w = (n: number, size: 2 | 4): Buffer => {
    const b = Buffer.alloc(size);
    if (size === 2) (le ? b.writeUInt16LE(n) : b.writeUInt16BE(n));
    else (le ? b.writeUInt32LE(n) : b.writeUInt32BE(n));
    return b;
  };
  const shb = pcapngBlock(le, 0x0a0d0d0a, Buffer.concat([w(0x1a2b3c4d, 4), w(1, 2), w(0, 2), Buffer.alloc(8, 0xff)]));
  const blocks = parts.map((p) => {
    if ('idb' in p) {
      const opt = p.tsresol === undefined ? Buffer.alloc(0) : Buffer.concat([w(9, 2), w(1, 2), Buffer.from([p.tsresol, 0, 0, 0]), w(0, 2), w(0, 2)]);
      return pcapngBlock(le, 1, Buffer.concat([w(p.idb, 2), w(0, 2), w(65535, 4), opt]));
    }
    if ('epb' in p) {
      return pcapngBlock(le, 6, Buffer.concat([w(p.iface ?? 0, 4), w(Number(p.units >> 32n), 4), w(Number(p.units & 0xffffffffn), 4), w(p.epb.length, 4), w(p.epb.length, 4), p.epb]));
    }
    return pcapngBlock(le, 3, Buffer.concat([w(p.spb.length, 4), p.spb]));
  });
  return Buffer.concat([shb, ...blocks]);
}

const PAYLOAD = Buffer.from('###\n11:(0)t=status,%%%\n');

// ---- tests ----------------------------------------------------------------------------------

test('the three real captures: every heartbeat datagram, ARP frames counted', () => {
  const expect: Record<string, [number, string[]]> = {
    'real-hb-sha1.pcap': [10, []],
    'real-hb-crc.pcap': [11, ['skipped 19 frame(s) that are not IPv4 UDP']],
    'real-hb-sha1-restart-dt-bump.pcap': [1190, []],
  };
  for (const [file, [n, notes]] of Object.entries(expect)) {
    const cap = readCapture(fs.readFileSync(path.join(CAPTURE_DIR, file)));
    assert.equal(cap.kind, 'pcap');
    assert.equal(cap.datagrams.length, n, file);
    assert.deepEqual(cap.notes, notes, file);
    for (const d of cap.datagrams) {
      assert.equal(d.dst.port, 694);
      assert.match(d.src.address, /^198\.18\.0\.[12]$/);
      assert.ok(d.payload.subarray(0, 4).equals(Buffer.from('###\n')), `${file}#${d.frame}`);
      assert.ok(d.time !== null && d.time.seconds > 1.7e9 && d.time.nanos % 1000 === 0);
    }
  }
});

test('classic pcap in both byte orders, with µs and ns stamps, gives the same datagrams', () => {
  const frames: Frame[] = [
    { data: ethernet(ipv4(udp(PAYLOAD))), sec: 1700000000, nanos: 123456789 },
    { data: ethernet(ipv4(udp(Buffer.from('x'), 694, 5555), { src: '192.168.1.2', dst: '192.168.1.3' })), sec: 1700000001, nanos: 1000 },
  ];
  for (const le of [true, false]) {
    for (const nano of [true, false]) {
      const buf = pcapFile(frames, { le, nano, link: 1 });
      assert.equal(captureKind(buf), 'pcap');
      const cap = readCapture(buf);
      assert.equal(cap.datagrams.length, 2);
      const [a, b] = cap.datagrams;
      assert.ok(a!.payload.equals(PAYLOAD));
      assert.deepEqual(a!.time, { seconds: 1700000000, nanos: nano ? 123456789 : 123456000 });
      assert.deepEqual([a!.src, a!.dst], [{ address: '10.0.0.1', port: 40000 }, { address: '10.0.0.255', port: 694 }]);
      assert.deepEqual([b!.frame, b!.src, b!.dst], [2, { address: '192.168.1.2', port: 694 }, { address: '192.168.1.3', port: 5555 }]);
    }
  }
});

test('link types: Ethernet with 802.1Q tags, Linux SLL and SLL2, raw IP', () => {
  const ip = ipv4(udp(PAYLOAD));
  const cases: [number, Buffer][] = [[1, ethernet(ip, 0x0800, 1)], [1, ethernet(ip, 0x0800, 2)], [113, sll(ip)], [276, sll2(ip)], [101, ip], [228, ip]];
  for (const [link, frame] of cases) {
    const cap = readCapture(pcapFile([{ data: frame, sec: 1, nanos: 0 }], { le: true, nano: false, link }));
    assert.equal(cap.datagrams.length, 1, `link ${link}`);
    assert.ok(cap.datagrams[0]!.payload.equals(PAYLOAD));
  }
});

test('non-UDP frames, fragments and broken IP headers are skipped with counted notes', () => {
  const frames: Frame[] = [
    ethernet(Buffer.alloc(28), 0x0806), // ARP
    ethernet(ipv4(Buffer.alloc(20), { proto: 6 })), // TCP
    ethernet(Buffer.alloc(40), 0x86dd), // IPv6
    ethernet(ipv4(udp(PAYLOAD), { flags: 0x2000 })), // first fragment (MF)
    ethernet(ipv4(udp(PAYLOAD), { flags: 0x0010 })), // later fragment (offset)
    ethernet(ipv4(udp(PAYLOAD)).subarray(0, 30)), // IP length beyond the frame
    ethernet(ipv4(udp(PAYLOAD))),
  ].map((data) => ({ data, sec: 5, nanos: 0 }));
  const cap = readCapture(pcapFile(frames, { le: true, nano: false, link: 1 }));
  assert.equal(cap.datagrams.length, 1);
  assert.equal(cap.datagrams[0]!.frame, 7);
  assert.deepEqual(cap.notes, [
    'skipped 3 frame(s) that are not IPv4 UDP',
    'skipped 2 IPv4 fragment(s) (reassembly is not supported)',
    'skipped 1 frame(s) with a truncated or malformed IPv4/UDP header',
  ]);
});

test('pcapng: both byte orders, EPB with if_tsresol, SPB, several interfaces', () => {
  for (const le of [true, false]) {
    const buf = pcapng(le, [
      { idb: 1 },
      { idb: 113, tsresol: 9 },
      { epb: ethernet(ipv4(udp(PAYLOAD))), units: 1700000000_250000n },
      { epb: sll(ipv4(udp(PAYLOAD))), iface: 1, units: 1700000000_123456789n },
      { spb: ethernet(ipv4(udp(PAYLOAD))) },
    ]);
    assert.equal(captureKind(buf), 'pcapng');
    const cap = readCapture(buf);
    assert.equal(cap.kind, 'pcapng');
    assert.deepEqual(cap.datagrams.map((d) => d.time), [{ seconds: 1700000000, nanos: 250000000 }, { seconds: 1700000000, nanos: 123456789 }, null]);
    assert.ok(cap.datagrams.every((d) => d.payload.equals(PAYLOAD)));
  }
  // if_tsresol with the high bit set is a power of two: 2^-10 s units.
  const bin = readCapture(pcapng(true, [{ idb: 1, tsresol: 0x80 | 10 }, { epb: ethernet(ipv4(udp(PAYLOAD))), units: 3n * 1024n + 512n }]));
  assert.deepEqual(bin.datagrams[0]!.time, { seconds: 3, nanos: 500000000 });
});

test('malformed captures are CaptureErrors with the byte offset', () => {
  const good = pcapFile([{ data: ethernet(ipv4(udp(PAYLOAD))), sec: 1, nanos: 0 }], { le: true, nano: false, link: 1 });
  const ng = pcapng(true, [{ idb: 1 }, { epb: ethernet(ipv4(udp(PAYLOAD))), units: 1n }]);
  const patched = (b: Buffer, at: number, v: number): Buffer => {
    const c = Buffer.from(b);
    c.writeUInt32LE(v, at);
    return c;
  };
  const cases: [string, Buffer, number, RegExp][] = [
    ['short global header', good.subarray(0, 10), 10, /needs 24 bytes/],
    ['truncated record header', good.subarray(0, 30), 24, /record header needs 16 bytes/],
    ['record overruns the file', good.subarray(0, good.length - 1), 32, /claims \d+ captured bytes/],
    ['unsupported link type', patched(good, 20, 127), 20, /link type 127 is not supported/],
    ['bad µs fraction', patched(good, 28, 2_000_000), 28, /fraction/],
    ['pcapng bad byte-order magic', patched(ng, 8, 0x12345678), 8, /byte-order magic/],
    ['pcapng block length not a multiple of 4', patched(ng, 4, 30), 4, /multiple of 4/],
    ['pcapng block overruns the file', ng.subarray(0, ng.length - 4), 28 + 20 + 4, /block claims/],
    ['pcapng trailing length differs', patched(ng, 24, 99), 24, /trailing block length/],
    ['pcapng packet for an undescribed interface', pcapng(true, [{ epb: PAYLOAD, units: 1n }]), 36, /interface 0, but only 0/],
    ['not a capture', Buffer.from('hello'), 0, /not a pcap or pcapng/],
  ];
  for (const [name, buf, offset, re] of cases) {
    assert.throws(() => readCapture(buf), (e: unknown) => e instanceof CaptureError && e.offset === offset && re.test(e.message) && e.message.includes(`byte ${offset}`), name);
  }
});

test('any truncation or corruption of a capture gives a CaptureError or a result, nothing else', () => {
  const files = [
    pcapFile([{ data: ethernet(ipv4(udp(PAYLOAD))), sec: 1, nanos: 0 }, { data: sll2(ipv4(udp(PAYLOAD))), sec: 2, nanos: 0 }], { le: false, nano: true, link: 1 }),
    pcapng(true, [{ idb: 1, tsresol: 9 }, { epb: ethernet(ipv4(udp(PAYLOAD))), units: 5n }, { spb: ethernet(ipv4(udp(PAYLOAD))) }]),
  ];
  fc.assert(
    fc.property(fc.constantFrom(...files), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean(), (f, at, byte, truncate) => {
      const i = at % f.length;
      const c = truncate ? f.subarray(0, i) : Buffer.from(f).fill(byte, i, i + 1);
      try {
        readCapture(c);
      } catch (e) {
        if (!(e instanceof CaptureError)) throw e;
        assert.ok(e.offset >= 0 && e.offset <= c.length, e.message);
      }
    }),
    { numRuns: 2000 },
  );
});
