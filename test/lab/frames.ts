// Link-layer frames of a lab capture (lib/pcap/reader.ts keeps only heartbeat's UDP): gratuitous
// ARP and neighbour advertisements as the address tests and the takeover bench look at them.

import * as fs from 'node:fs';

export interface Frame {
  /** Capture time: CLOCK_REALTIME ms. */
  readonly at: number;
  readonly bytes: Buffer;
}

/** Every Ethernet frame of a pcap as the lab writes it. */
export function frames(file: string): Frame[] {
  const b = fs.readFileSync(file);
  const magic = b.readUInt32LE(0);
  if (magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d) throw new Error(`${file}: not a little-endian pcap (magic ${magic.toString(16)})`);
  if (b.readUInt32LE(20) !== 1) throw new Error(`${file}: link type ${b.readUInt32LE(20)} is not Ethernet (1)`);
  const fraction = magic === 0xa1b23c4d ? 1e6 : 1e3;
  const out: Frame[] = [];
  for (let off = 24; off + 16 <= b.length; ) {
    const len = b.readUInt32LE(off + 8);
    out.push({ at: b.readUInt32LE(off) * 1000 + b.readUInt32LE(off + 4) / fraction, bytes: b.subarray(off + 16, off + 16 + len) });
    off += 16 + len;
  }
  return out;
}

const mac = (b: Buffer, at: number): string => [...b.subarray(at, at + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
const ipv4 = (b: Buffer, at: number): string => [...b.subarray(at, at + 4)].join('.');

export interface Arp {
  readonly op: number;
  readonly ethDst: string;
  readonly ethSrc: string;
  readonly sha: string;
  readonly spa: string;
  readonly tha: string;
  readonly tpa: string;
  /** Capture time: CLOCK_REALTIME ms. */
  readonly at: number;
}

export function arps(file: string): Arp[] {
  return frames(file)
    .filter((f) => f.bytes.length >= 42 && f.bytes.readUInt16BE(12) === 0x0806)
    .map(({ bytes: f, at }) => ({ op: f.readUInt16BE(20), ethDst: mac(f, 0), ethSrc: mac(f, 6), sha: mac(f, 22), spa: ipv4(f, 28), tha: mac(f, 32), tpa: ipv4(f, 38), at }));
}

export interface Na {
  readonly ethDst: string;
  readonly ethSrc: string;
  readonly src: Buffer;
  readonly dst: Buffer;
  readonly hopLimit: number;
  readonly flags: number;
  readonly target: Buffer;
  readonly tlla: string | null;
  readonly checksumOk: boolean;
}

/** RFC 4443 §2.3 over the IPv6 pseudo-header, written here independently of native/ndisc.cc. */
function icmpv6ChecksumOk(src: Buffer, dst: Buffer, icmp: Buffer): boolean {
  const pseudo = Buffer.alloc(40);
  src.copy(pseudo, 0);
  dst.copy(pseudo, 16);
  pseudo.writeUInt32BE(icmp.length, 32);
  pseudo[39] = 58;
  const all = Buffer.concat([pseudo, icmp, Buffer.alloc(icmp.length % 2)]);
  let sum = 0;
  for (let i = 0; i < all.length; i += 2) sum += all.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

export function neighbourAdverts(file: string): Na[] {
  const out: Na[] = [];
  for (const { bytes: f } of frames(file)) {
    if (f.length < 14 + 40 + 24 || f.readUInt16BE(12) !== 0x86dd || f[14 + 6] !== 58) continue;
    const icmp = f.subarray(54, 54 + f.readUInt16BE(18));
    if (icmp[0] !== 136) continue;
    const tlla = icmp.length >= 32 && icmp[24] === 2 && icmp[25] === 1 ? mac(icmp, 26) : null;
    out.push({ ethDst: mac(f, 0), ethSrc: mac(f, 6), src: f.subarray(22, 38), dst: f.subarray(38, 54), hopLimit: f[21]!, flags: icmp[4]!, target: icmp.subarray(8, 24), tlla, checksumOk: icmpv6ChecksumOk(f.subarray(22, 38), f.subarray(38, 54), icmp) });
  }
  return out;
}

/** 2001:2::… in its 16 bytes (only the forms these tests use: one `::` and hex groups). */
export function ipv6Bytes(text: string): Buffer {
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return Buffer.from(groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]));
}
