// The UDP media of the TypeScript transport on node:dgram (spec §3.6). node:dgram has no
// SO_BINDTODEVICE, so each medium's receive socket is bound to an address only that medium receives
// on (IF's broadcast address, the multicast group, IF's own address): the socket a packet arrives on
// names its link, as heartbeat's per-medium read children do. Limitation: two mcast media with the
// same group and port on different interfaces both see each other's packets (IP_MULTICAST_ALL).
import * as dgram from 'node:dgram';
import * as dns from 'node:dns';
import * as os from 'node:os';

import type { Medium } from './types';

/** A medium that could not be opened; `medium` is its ha.cf text, as the daemon logs it. */
export class MediumError extends Error {
  constructor(
    readonly medium: string,
    readonly iface: string,
    detail: string,
    readonly syscall?: string,
    readonly code?: string,
  ) {
    super(`${medium}: ${detail}`);
    this.name = 'MediumError';
  }
}

/** Where a packet or a socket problem goes; `link` is the medium's interface name. */
export interface MediumSink {
  packet(link: string, bytes: Buffer, source: string): void;
  error(link: string, syscall: string, errno: string, message: string): void;
}

export interface OpenMedium {
  readonly link: string;
  /** Sends one datagram; failures go to the sink, once per run of failures. */
  send(bytes: Buffer): void;
  close(): Promise<void>;
}

export type Interfaces = NodeJS.Dict<os.NetworkInterfaceInfo[]>;

/**
 * SO_RCVBUF asked for on every receive socket (the kernel doubles it for its bookkeeping). Under a
 * flood the peers' genuine packets wait here while the core works through it, instead of being
 * dropped whenever the thread is off the CPU for a few ms: the default (rmem_default, 208 KiB)
 * holds ~200 small datagrams. Not the native engine's 4 MiB (native/media.cc): JavaScript drains
 * 20-60k packets/s, not a million, and a full queue is a delay for every status behind it. Measured
 * in the lab (both nodes flooded at 35-52k packets/s on a shared 2-core VM): 4 MiB held the peer's
 * statuses 120-180 ms (median, at most 425 ms), 1 MiB 0-36 ms (at most 108 ms) with no more drops.
 * node:dgram cannot set SO_RCVBUFFORCE, so the kernel caps it at net.core.rmem_max.
 */
export const RECEIVE_BUFFER_BYTES = 1024 * 1024;

/** The directive as written in ha.cf, for error messages. */
export function mediumText(m: Medium): string {
  switch (m.kind) {
    case 'bcast':
      return `bcast ${m.iface}`;
    case 'mcast':
      return `mcast ${m.iface} ${m.group} ${m.port} ${m.ttl} ${m.loop ? 1 : 0}`;
    case 'ucast':
      return `ucast ${m.iface} ${m.peer}`;
  }
}

function ipv4ToInt(a: string): number {
  const parts = a.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new RangeError(`not an IPv4 address: ${a}`);
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** The prefix length of a dotted netmask, or null when its one-bits are not contiguous. */
function prefixLength(netmask: string): number | null {
  const host = ~ipv4ToInt(netmask) >>> 0;
  // Contiguous host bits: host + 1 is a power of two (2^32 wraps to 0 under `&`).
  if ((host & (host + 1)) !== 0) return null;
  return host === 0 ? 32 : Math.clz32(host);
}

/** The directed broadcast address of `address`/`netmask` (what SIOCGIFBRDADDR reports). */
export function broadcastAddress(address: string, netmask: string): string {
  return intToIpv4((ipv4ToInt(address) | ~ipv4ToInt(netmask)) >>> 0);
}

export interface LocalAddress {
  readonly address: string;
  readonly netmask: string;
}

/** IF's first IPv4 address; throws a MediumError naming the fix when there is none. */
export function interfaceIPv4(m: Medium, interfaces: Interfaces): LocalAddress {
  const text = mediumText(m);
  const infos = interfaces[m.iface];
  if (!infos) {
    const known = Object.keys(interfaces).sort().join(', ') || 'none';
    throw new MediumError(text, m.iface, `interface ${m.iface} does not exist (interfaces: ${known}); correct the interface name in ha.cf`);
  }
  const v4 = infos.find((i) => i.family === 'IPv4');
  if (!v4) {
    throw new MediumError(text, m.iface, `interface ${m.iface} has no IPv4 address; give it one (ip addr add ADDRESS/PREFIX dev ${m.iface}) or name another interface in ha.cf`);
  }
  return { address: v4.address, netmask: v4.netmask };
}

/** IF's broadcast address; an interface without one (/31, /32) gets the fix: use ucast. */
export function interfaceBroadcast(m: Medium, local: LocalAddress): string {
  const len = prefixLength(local.netmask);
  if (len === null || len >= 31) {
    throw new MediumError(mediumText(m), m.iface, `interface ${m.iface} (${local.address}/${len ?? local.netmask}) has no broadcast address; use ucast media on it instead of bcast`);
  }
  return broadcastAddress(local.address, local.netmask);
}

function errnoOf(e: unknown): { syscall: string; code: string; message: string } {
  const err = e as NodeJS.ErrnoException;
  return { syscall: err.syscall ?? 'socket', code: typeof err.code === 'string' ? err.code : 'EUNKNOWN', message: err.message ?? String(e) };
}

/** Wraps a socket failure during opening with the medium, the operation and the errno name. */
function openFailure(m: Medium, what: string, e: unknown): MediumError {
  const { syscall, code, message } = errnoOf(e);
  return new MediumError(mediumText(m), m.iface, `${what}: ${code} (${message})`, syscall, code);
}

function bindSocket(sock: dgram.Socket, address: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    sock.once('error', onError);
    sock.bind({ address, port }, () => {
      sock.off('error', onError);
      resolve();
    });
  });
}

function closeSocket(sock: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      sock.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

async function resolvePeer(m: Extract<Medium, { kind: 'ucast' }>): Promise<string> {
  try {
    return (await dns.promises.lookup(m.peer, { family: 4 })).address;
  } catch (e) {
    const { code } = errnoOf(e);
    throw new MediumError(mediumText(m), m.iface, `cannot resolve ${m.peer} to an IPv4 address: ${code}; write the peer's address or add it to /etc/hosts`, 'getaddrinfo', code);
  }
}

interface Plan {
  readonly recvAddress: string;
  readonly recvPort: number;
  readonly sendAddress: string;
  readonly destAddress: string;
  readonly destPort: number;
}

async function plan(m: Medium, udpPort: number, interfaces: Interfaces): Promise<Plan> {
  const local = interfaceIPv4(m, interfaces);
  switch (m.kind) {
    case 'bcast': {
      const bcast = interfaceBroadcast(m, local);
      return { recvAddress: bcast, recvPort: udpPort, sendAddress: local.address, destAddress: bcast, destPort: udpPort };
    }
    case 'mcast':
      return { recvAddress: m.group, recvPort: m.port, sendAddress: local.address, destAddress: m.group, destPort: m.port };
    case 'ucast':
      return { recvAddress: local.address, recvPort: udpPort, sendAddress: local.address, destAddress: await resolvePeer(m), destPort: udpPort };
  }
}

/** Socket options that throw synchronously, wrapped with the medium and the option's name. */
function configure(m: Medium, what: string, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    throw openFailure(m, what, e);
  }
}

/**
 * Opens one medium: a receive socket (SO_REUSEADDR, as heartbeat) and a send socket bound to IF's
 * address on an ephemeral port. Rejects with a MediumError naming the medium, syscall and errno.
 */
export async function openMedium(m: Medium, udpPort: number, sink: MediumSink, interfaces: Interfaces = os.networkInterfaces()): Promise<OpenMedium> {
  const p = await plan(m, udpPort, interfaces);
  const link = m.iface;
  const recv = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  const send = dgram.createSocket({ type: 'udp4' });
  const sockets = [recv, send];
  try {
    await bindSocket(recv, p.recvAddress, p.recvPort).catch((e) => {
      throw openFailure(m, `bind ${p.recvAddress}:${p.recvPort}`, e);
    });
    await bindSocket(send, p.sendAddress, 0).catch((e) => {
      throw openFailure(m, `bind ${p.sendAddress}:0`, e);
    });
    if (m.kind === 'bcast') configure(m, 'SO_BROADCAST', () => send.setBroadcast(true));
    configure(m, `SO_RCVBUF ${RECEIVE_BUFFER_BYTES}`, () => recv.setRecvBufferSize(RECEIVE_BUFFER_BYTES));
    if (m.kind === 'mcast') {
      const local = p.sendAddress;
      configure(m, `IP_ADD_MEMBERSHIP ${m.group} on ${local}`, () => recv.addMembership(m.group, local));
      configure(m, `IP_MULTICAST_IF ${local}`, () => send.setMulticastInterface(local));
      configure(m, `IP_MULTICAST_TTL ${m.ttl}`, () => send.setMulticastTTL(m.ttl));
      configure(m, `IP_MULTICAST_LOOP ${m.loop ? 1 : 0}`, () => send.setMulticastLoopback(m.loop));
    }
  } catch (e) {
    await Promise.all(sockets.map(closeSocket));
    throw e;
  }
  for (const s of sockets) {
    s.on('error', (e) => {
      const { syscall, code, message } = errnoOf(e);
      sink.error(link, syscall, code, message);
    });
  }
  recv.on('message', (bytes, rinfo) => sink.packet(link, bytes, `${rinfo.address}:${rinfo.port}`));
  // The send socket is never addressed; whatever reaches it is dropped unread.
  let failing = false;
  let closed = false;
  let pending = 0;
  let drained: (() => void) | null = null;
  return {
    link,
    send(bytes: Buffer): void {
      if (closed) return;
      pending++;
      send.send(bytes, p.destPort, p.destAddress, (e) => {
        if (--pending === 0) drained?.();
        if (!e) {
          failing = false;
        } else if (!failing && !closed) {
          failing = true;
          const { syscall, code, message } = errnoOf(e);
          sink.error(link, syscall, code, `${mediumText(m)}: send to ${p.destAddress}:${p.destPort}: ${message}`);
        }
      });
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      // node:dgram silently drops a send still in its address lookup when the socket closes, and
      // the last one is the shutdone notice: let pending sends finish first (bounded).
      if (pending > 0) await new Promise<void>((resolve) => ((drained = resolve), setTimeout(resolve, 1_000).unref()));
      await Promise.all(sockets.map(closeSocket));
    },
  };
}
