// The pure-TypeScript transport: heartbeat's media, status beat, retransmit history and per-peer
// liveness on node:dgram and the event loop's timers, in one thread with the rest of hbd.
//
// That sharing is its limit and the reason the native engine exists: when JavaScript stalls (GC,
// a slow synchronous call), the beats stall with it and peers may declare us dead. checkIn() and
// stallLimitMs therefore mean nothing here, and realtime/rtprio cannot be applied to one thread.
// What it does do is notice its own stalls (a timer firing late) and refuse to blame peers for them
// until the packets queued meanwhile have been read (Liveness.stalled(), spec-free "awareness").
import { get, getBuffer, getHex } from '../wire/message';
import { addControlFields, statusMessage } from '../wire/builders';
import { decode, encode } from '../wire/codec';
import type { AuthKeys, DecodeResult, Message } from '../wire/types';
import { delayUntil, monoNowMs, nextSlot } from './clock';
import { DEFAULT_MAX_REXMIT_DELAY_MS, SendHistory } from './history';
import { EncodeError } from '../wire/errors';
import { AuthFailSummary } from './auth-fail-summary';
import { isForUs, readControl, replayReason, verdictReason } from './inbound';
import { Liveness, stallThresholdMs } from './liveness';
import { LoadAvg } from './loadavg';
import { openMedium, type MediumSink, type OpenMedium } from './media-ts';
import type { LivenessEvent, PingNodeSpec, RetransmitResult, Transport, TransportEvent, TransportOptions } from './types';

/** The largest UDP payload over IPv4 (65535 − 20 − 8): a longer packet cannot go out on any medium. */
const MAX_DATAGRAM = 65507;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type EventBody = DistributiveOmit<TransportEvent, 'mono' | 'wall'>;

/** Throws a RangeError when the keys cannot sign: their send index has no key. */
export function checkAuthKeys(keys: AuthKeys, name = 'authKeys'): void {
  if (!keys.keys.some((k) => k.index === keys.sendIndex)) {
    throw new RangeError(`transport option ${name}.sendIndex must be an index present in ${name}.keys, got ${JSON.stringify(keys.sendIndex)}`);
  }
}

/** Throws a RangeError naming the first option a transport cannot run with. */
export function checkTransportOptions(o: TransportOptions): void {
  const fail = (name: string, want: string, got: unknown): never => {
    throw new RangeError(`transport option ${name} must be ${want}, got ${JSON.stringify(got)}`);
  };
  for (const k of ['keepaliveMs', 'deadtimeMs', 'warntimeMs', 'initdeadMs'] as const) if (!(o[k] > 0)) fail(k, 'a positive number of ms', o[k]);
  if (!o.nodes.includes(o.localNode)) fail('nodes', `a list containing the local node ${o.localNode}`, o.nodes);
  if (!Number.isInteger(o.udpPort) || o.udpPort < 1 || o.udpPort > 65535) fail('udpPort', 'a port from 1 to 65535', o.udpPort);
  if (o.uuid.length !== 16) fail('uuid', '16 bytes', o.uuid.toString('hex'));
  if (!Number.isSafeInteger(o.firstSeq) || o.firstSeq < 1) fail('firstSeq', 'an integer ≥ 1', o.firstSeq);
  if (!Number.isSafeInteger(o.generation) || o.generation < 0) fail('generation', 'an integer ≥ 0', o.generation);
  checkAuthKeys(o.authKeys);
  const rexmit = o.maxRexmitDelayMs ?? DEFAULT_MAX_REXMIT_DELAY_MS;
  if (!Number.isInteger(rexmit) || rexmit <= 0) fail('maxRexmitDelayMs', 'a positive integer', rexmit);
}

/** Why this transport cannot serve ping nodes, naming the ha.cf lines and the two ways out. */
export function pingNeedsNativeMessage(nodes: readonly PingNodeSpec[]): string {
  const lines = nodes.map((n) => (n.group ? `ping_group ${n.name} ${n.addresses.join(' ')}` : `ping ${n.name}`));
  return `ha.cf ${lines.join(', ')}: ping nodes are reached by ICMP echo over a raw socket, which the TypeScript transport cannot open; ping nodes need the native engine: build it (npm rebuild hbd), or remove the ping lines`;
}

export function createUdpTransport(opts: TransportOptions): Transport {
  checkTransportOptions(opts);
  return new UdpTransport(opts);
}

interface Timer {
  handle: NodeJS.Timeout;
  /** When it should fire (mono ms); a later firing measures our own lateness. */
  due: number;
}

class UdpTransport implements Transport {
  readonly kind = 'ts' as const;
  private state: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  private media: OpenMedium[] = [];
  private liveness: Liveness | null = null;
  private readonly history: SendHistory;
  private readonly loadavg = new LoadAvg();
  /** Peer UUIDs learned from authenticated `srcuuid`, for `destuuid` (spec §4 step 1). */
  private readonly peerUuids = new Map<string, Buffer>();
  private emitTo: (e: TransportEvent) => void = () => undefined;
  private nextSeq: number;
  private status: 'up' | 'active' = 'up';
  private bumpMs = 0;
  private flowControl = true; // heartbeat starts with flow control on (spec §7.7)
  private t0 = 0;
  private beat: Timer | null = null;
  private deadline: Timer | null = null;
  private deathCheck: NodeJS.Immediate | null = null;
  private readonly authFails = new AuthFailSummary();
  private authFlush: Timer | null = null;
  /** When the last stall was reported: timers due before it were late for the same stall. */
  private lastStallAt = -Infinity;
  private stopped: Promise<void> | null = null;
  /** opts.authKeys until a reload replaces them (setAuthKeys). */
  private authKeys: AuthKeys;

  constructor(private readonly opts: TransportOptions) {
    this.authKeys = opts.authKeys;
    this.nextSeq = opts.firstSeq;
    this.history = new SendHistory(opts.firstSeq, opts.maxRexmitDelayMs ?? DEFAULT_MAX_REXMIT_DELAY_MS);
  }

  async start(onEvent: (e: TransportEvent) => void): Promise<void> {
    if (this.state !== 'new') throw new Error(`transport: start() called twice (state ${this.state})`);
    if (this.opts.pingNodes?.length) {
      this.state = 'stopped';
      throw new Error(pingNeedsNativeMessage(this.opts.pingNodes));
    }
    this.state = 'starting';
    this.emitTo = onEvent;
    const sink: MediumSink = {
      packet: (link, bytes, source) => this.receive(link, bytes, source),
      error: (link, syscall, errno, message) => this.emit([{ type: 'media-error', link, syscall, errno, message }]),
    };
    const opened = await Promise.allSettled(this.opts.media.map((m) => openMedium(m, this.opts.udpPort, sink)));
    this.media = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = opened.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed || this.state !== 'starting') {
      const media = this.media;
      this.media = [];
      this.state = 'stopped';
      await Promise.all(media.map((m) => m.close()));
      throw failed ? failed.reason : new Error('transport: stopped while starting');
    }
    this.state = 'running';
    const now = monoNowMs();
    const o = this.opts;
    this.liveness = new Liveness({ localNode: o.localNode, nodes: o.nodes, keepaliveMs: o.keepaliveMs, deadtimeMs: o.deadtimeMs, warntimeMs: o.warntimeMs, initdeadMs: o.initdeadMs }, now);
    this.t0 = now;
    // heartbeat's first status says st=init (see Transport.start), the beat goes on from there.
    this.sendStatus('init');
    this.armBeat(nextSlot(this.t0, o.keepaliveMs, now), now);
    this.armDeadline();
  }

  setStatus(status: 'up' | 'active'): void {
    this.status = status;
    if (this.state === 'running') this.sendStatus();
  }

  setDeadtimeBump(extraMs: number): void {
    if (!Number.isFinite(extraMs) || extraMs < 0) throw new RangeError(`transport: deadtime bump must be ≥ 0 ms, got ${extraMs}`);
    const changed = extraMs !== this.bumpMs;
    this.bumpMs = extraMs;
    if (changed && this.state === 'running') this.sendStatus();
  }

  setCommUp(): void {
    if (!this.liveness) throw new Error('transport: setCommUp() before start()');
    this.liveness.setCommUp();
    this.armDeadline();
  }

  setFlowControl(on: boolean): void {
    this.flowControl = on;
  }

  send(message: Message): number | null {
    this.mustRun('send');
    const type = get(message, 't');
    if (type === undefined) throw new RangeError('transport: a cluster message needs a t field');
    const seq = type.startsWith('NS_') ? undefined : this.nextSeq;
    const dest = get(message, 'dest');
    const full = addControlFields(message, {
      node: this.opts.localNode,
      uuid: this.opts.uuid,
      seq,
      generation: this.opts.generation,
      nowSec: Math.floor(Date.now() / 1000),
      loadavg: this.loadavg.read(monoNowMs()),
      ttl: this.opts.ttl,
      destUuid: dest === undefined ? undefined : this.peerUuids.get(dest),
    });
    const bytes = encode(full, this.opts.wireFormat, this.authKeys);
    if (bytes.length > MAX_DATAGRAM) {
      throw new EncodeError('', `the signed packet is ${bytes.length} bytes, more than the ${MAX_DATAGRAM} a UDP datagram can carry`);
    }
    if (seq !== undefined) {
      this.nextSeq = seq + 1;
      this.history.add(seq, bytes);
    }
    for (const m of this.media) m.send(bytes);
    return seq ?? null;
  }

  retransmit(seq: number): RetransmitResult {
    this.mustRun('retransmit');
    const r = this.history.take(seq, monoNowMs());
    if (r.result === 'sent') for (const m of this.media) m.send(r.bytes);
    return r.result;
  }

  highestSeq(): number {
    return this.nextSeq - 1;
  }

  markDead(node: string): void {
    if (!this.liveness) throw new Error('transport: markDead() before start()');
    this.liveness.markDead(node);
    this.armDeadline();
  }

  /** Nothing to do: JS and this transport share one thread (see the file comment). */
  checkIn(): void {}

  setAuthKeys(keys: AuthKeys): void {
    checkAuthKeys(keys, 'keys');
    this.authKeys = keys;
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.state = 'stopped';
      if (this.beat) clearTimeout(this.beat.handle);
      if (this.deadline) clearTimeout(this.deadline.handle);
      if (this.deathCheck) clearImmediate(this.deathCheck);
      if (this.authFlush) clearTimeout(this.authFlush.handle);
      this.beat = this.deadline = this.deathCheck = this.authFlush = null;
      const media = this.media;
      this.media = [];
      await Promise.all(media.map((m) => m.close()));
    })();
    return this.stopped;
  }

  private mustRun(what: string): void {
    if (this.state !== 'running') throw new Error(`transport: ${what}() while ${this.state === 'stopped' ? 'stopped' : 'not started'}`);
  }

  private emit(events: readonly EventBody[]): void {
    if (events.length === 0) return;
    const time = { mono: monoNowMs(), wall: Date.now() };
    this.emitAt(time.mono, time.wall, events);
  }

  private emitAt(mono: number, wall: number, events: readonly EventBody[]): void {
    for (const e of events) this.emitTo({ ...e, mono, wall } as TransportEvent);
  }

  private sendStatus(status: 'init' | 'up' | 'active' = this.status): void {
    this.send(statusMessage({ status, deadtimeMs: this.opts.deadtimeMs + this.bumpMs, flowControl: this.flowControl }));
  }

  private receive(link: string, bytes: Buffer, source: string): void {
    if (this.state !== 'running' || !this.liveness) return;
    const mono = monoNowMs();
    const wall = Date.now();
    // Counted, and reported once per source and second (see auth-fail-summary.ts).
    const fail = (reason: string, node: string | null) => {
      this.authFails.note(link, source, mono, () => ({ reason, node }));
      this.armAuthFlush();
    };
    let d: DecodeResult;
    try {
      d = decode(bytes, this.authKeys);
    } catch (e) {
      // The codec throws only DecodeError; anything else is still a bad packet, never a crash.
      fail((e as Error).message, null);
      return;
    }
    const src = get(d.message, 'src') ?? null;
    if (d.auth.verdict !== 'ok') return fail(verdictReason(d.auth), src);
    const c = readControl(d.message);
    if ('error' in c) return fail(c.error, src);
    if (!this.liveness.isPeer(c.src) && c.src !== this.opts.localNode) return fail('unknown node', c.src);
    const msg = d.message;
    let events: LivenessEvent[];
    let accepted: boolean;
    if (c.type === 'status') {
      const dtMs = getHex(msg, 'dt') ?? 0;
      ({ events, accepted } = this.liveness.status(mono, { node: c.src, link, generation: c.generation, seq: c.seq!, status: get(msg, 'st') ?? '', dtMs }));
    } else {
      ({ events, accepted } = this.liveness.packet(mono, c.src, link, c.generation));
    }
    // Replays of an older generation are counted and summarised like forged packets, not one event each.
    const out: EventBody[] = [];
    for (const e of events) {
      if (e.type === 'replay') fail(replayReason(e.generation, e.currentGeneration), e.node);
      else out.push(e);
    }
    if (accepted) {
      const uuid = getBuffer(msg, 'srcuuid');
      if (uuid?.length === 16) this.peerUuids.set(c.src, uuid);
      if (c.type === 'status') out.push({ type: 'status', node: c.src, link, message: msg, seq: c.seq!, generation: c.generation });
      else out.push({ type: 'message', node: c.src, link, message: msg, seq: c.seq, generation: c.generation, forUs: isForUs(msg, this.opts.localNode, this.opts.uuid) });
    }
    this.emitAt(mono, wall, out);
    this.armDeadline();
  }

  /** One timer at the end of the earliest open auth-fail window. */
  private armAuthFlush(): void {
    const due = this.authFails.nextDue();
    if (this.state !== 'running' || due === Infinity || (this.authFlush && this.authFlush.due <= due)) return;
    if (this.authFlush) clearTimeout(this.authFlush.handle);
    const now = monoNowMs();
    this.authFlush = {
      due,
      handle: setTimeout(() => {
        this.authFlush = null;
        if (this.state !== 'running') return;
        this.emit(this.authFails.flush(monoNowMs()));
        this.armAuthFlush();
      }, delayUntil(due, now)),
    };
  }

  private armBeat(due: number, now: number): void {
    this.beat = { due: Math.max(due, now), handle: setTimeout(() => this.onBeat(), delayUntil(due, now)) };
  }

  private onBeat(): void {
    if (this.state !== 'running' || !this.beat) return;
    const now = monoNowMs();
    // libuv rounds to whole ms against a cached loop time: a timer can fire a fraction early.
    if (now < this.beat.due) return this.armBeat(this.beat.due, now);
    const stalled = this.noteLateness(this.beat.due, now);
    this.sendStatus();
    this.armBeat(nextSlot(this.t0, this.opts.keepaliveMs, now), now);
    if (stalled) this.armDeadline();
  }

  /** Keeps one timer at Liveness.nextDeadline(); re-armed whenever that may have moved. */
  private armDeadline(): void {
    if (this.state !== 'running' || !this.liveness || this.deathCheck) return;
    const due = this.liveness.nextDeadline();
    if (this.deadline && this.deadline.due === due) return;
    if (this.deadline) clearTimeout(this.deadline.handle);
    this.deadline = null;
    if (due === Infinity) return;
    const now = monoNowMs();
    this.deadline = { due: Math.max(due, now), handle: setTimeout(() => this.onDeadline(), delayUntil(due, now)) };
  }

  private onDeadline(): void {
    if (this.state !== 'running' || !this.deadline) return;
    this.noteLateness(this.deadline.due, monoNowMs());
    this.deadline = null;
    // Judge deaths from the check phase: the poll phase in between reads every packet already queued
    // on our sockets, so a peer whose status waited in a buffer during a stall is not declared dead.
    this.deathCheck = setImmediate(() => {
      this.deathCheck = null;
      if (this.state !== 'running' || !this.liveness) return;
      this.emit(this.liveness.tick(monoNowMs()));
      this.armDeadline();
    });
  }

  /** Reports a stall when a timer fired more than the threshold late; true if it did. */
  private noteLateness(due: number, now: number): boolean {
    const late = now - due;
    if (late <= stallThresholdMs(this.opts.keepaliveMs) || due <= this.lastStallAt || !this.liveness) return false;
    this.lastStallAt = now;
    this.emit(this.liveness.stalled(now, late));
    return true;
  }
}
