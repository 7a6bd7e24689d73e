// The TypeScript packet core: heartbeat's media, status beat, retransmit history and per-peer
// liveness on node:dgram and timers. It runs in a worker thread of its own (lib/transport/udp-worker.ts,
// driven by lib/transport/udp.ts), so that a blocked main event loop delays neither beats nor deaths.
//
// JavaScript's stall rule is the native engine's: when the main thread has not checked in for
// stallLimitMs (hooks.lastCheckIn), the core stops sending statuses for good and reports 'stall-stop',
// so that the peers take over from a node whose daemon is wedged. The core also notices its own
// stalls (a timer firing late: the whole process was frozen) and refuses to blame peers for them
// until the packets queued meanwhile have been read (Liveness.stalled(), spec-free "awareness").
import * as fs from 'node:fs';

import { get, getBuffer, getHex } from '../wire/message';
import { addControlFields, statusMessage } from '../wire/builders';
import { decode, encode } from '../wire/codec';
import { preAuth } from '../wire/preauth';
import type { AuthKeys, DecodeResult, Message } from '../wire/types';
import { delayUntil, monoNowMs, nextSlot } from './clock';
import { DEFAULT_MAX_REXMIT_DELAY_MS, SendHistory } from './history';
import { EncodeError } from '../wire/errors';
import { AuthFailSummary } from './auth-fail-summary';
import { describeRefused, isForUs, readControl, type Refusal, replayReason, verdictReason } from './inbound';
import { Liveness, stallThresholdMs } from './liveness';
import { LoadAvg } from './loadavg';
import { ReplayMemo } from './replay-memo';
import { openMedium, type MediumSink, type OpenMedium } from './media-ts';
import type { LivenessEvent, RetransmitResult, TransportEvent, TransportOptions } from './types';

/**
 * How long a death may wait for our own receive backlog to be read (see drainThenJudge): a 1 MiB
 * socket queue holds ~2,000 small datagrams, which JavaScript reads in 35-100 ms at 20-60k/s.
 */
const DEATH_DRAIN_MS = 250;

/** The largest UDP payload over IPv4 (65535 − 20 − 8): a longer packet cannot go out on any medium. */
const MAX_DATAGRAM = 65507;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type EventBody = DistributiveOmit<TransportEvent, 'mono' | 'wall'>;

/** What the core needs from the thread that hosts it. */
export interface CoreHooks {
  /** CLOCK_MONOTONIC ms of the main thread's last check-in (see TransportOptions.stallLimitMs). */
  lastCheckIn(): number;
  /** A sequenced message (status or not) took `seq`: heartbeat's hiseq moved. */
  seqGiven(seq: number): void;
}

interface Timer {
  handle: NodeJS.Timeout;
  /** When it should fire (mono ms); a later firing measures our own lateness. */
  due: number;
}

/** The Transport's controls minus kind and checkIn (the host thread reads check-ins itself). */
export class UdpCore {
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
  /** Datagrams read from our sockets so far: whether a loop turn brought any (drainThenJudge). */
  private received = 0;
  private readonly authFails = new AuthFailSummary();
  private readonly replays = new ReplayMemo();
  private authFlush: Timer | null = null;
  /** When the last stall was reported: timers due before it were late for the same stall. */
  private lastStallAt = -Infinity;
  /** The stall rule fired: no status goes out any more (the native engine's stallStopped_). */
  private stallStopped = false;
  private stopped: Promise<void> | null = null;
  /** opts.authKeys until a reload replaces them (setAuthKeys). */
  private authKeys: AuthKeys;

  constructor(
    private readonly opts: TransportOptions,
    private readonly hooks: CoreHooks,
  ) {
    this.authKeys = opts.authKeys;
    this.nextSeq = opts.firstSeq;
    this.history = new SendHistory(opts.firstSeq, opts.maxRexmitDelayMs ?? DEFAULT_MAX_REXMIT_DELAY_MS);
  }

  async start(onEvent: (e: TransportEvent) => void): Promise<void> {
    if (this.state !== 'new') throw new Error(`transport: start() called twice (state ${this.state})`);
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
      this.hooks.seqGiven(seq);
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

  /** authkeys reloaded: signs and verifies with these from the next packet on (checked by the caller). */
  setAuthKeys(keys: AuthKeys): void {
    this.authKeys = keys;
  }

  markDead(node: string): void {
    if (!this.liveness) throw new Error('transport: markDead() before start()');
    this.liveness.markDead(node);
    this.armDeadline();
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
    if (this.stallStopped) return;
    this.send(statusMessage({ status, deadtimeMs: this.opts.deadtimeMs + this.bumpMs, flowControl: this.flowControl }));
  }

  private receive(link: string, bytes: Buffer, source: string): void {
    if (this.state !== 'running' || !this.liveness) return;
    this.received++;
    const mono = monoNowMs();
    // Counted, and reported once per source and second (see auth-fail-summary.ts): `describe` runs
    // for the first packet of a window only.
    const refuse = (describe: () => Refusal): void => {
      this.authFails.note(link, source, mono, describe);
      // A window opened now ends after any open one: only an idle summary needs its timer armed.
      if (!this.authFlush) this.armAuthFlush();
    };
    const fail = (reason: string, node: string | null) => refuse(() => ({ reason, node }));
    // Most of a flood ends here, unparsed (lib/wire/preauth.ts).
    const pre = preAuth(bytes, this.authKeys);
    if (pre === 'fail') return refuse(() => describeRefused(bytes, this.authKeys));
    const replayed = this.replays.get(bytes);
    if (replayed) return refuse(() => replayed);
    let d: DecodeResult;
    try {
      d = decode(bytes, pre === 'classic' ? this.authKeys : null);
    } catch (e) {
      // The codec throws only DecodeError; anything else is still a bad packet, never a crash.
      fail((e as Error).message, null);
      return;
    }
    if (pre !== 'classic') d = { ...d, auth: pre };
    const wall = Date.now();
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
      ({ events, accepted } = this.liveness.packet(mono, c.src, link, c.generation, c.seq ?? -1));
    }
    // Replays of an older generation are counted and summarised like forged packets, not one event each.
    const out: EventBody[] = [];
    for (const e of events) {
      if (e.type === 'replay') {
        const refusal = { reason: replayReason(e.generation, e.currentGeneration), node: e.node };
        refuse(() => refusal);
        // Verified before the decode (not classic): the same bytes again are refused unparsed.
        if (pre !== 'classic') this.replays.add(bytes, refusal);
        continue;
      }
      if (e.type === 'peer-restart') this.replays.clear();
      out.push(e);
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
    this.checkJsStall(now);
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
    const fired = monoNowMs();
    this.noteLateness(this.deadline.due, fired);
    this.deadline = null;
    this.drainThenJudge(fired, this.received);
  }

  /**
   * Judges deaths from the check phase once the poll phase has read what waited in our sockets'
   * kernel queues when the deadline fired: a peer whose status sat in a queue (our own backlog under
   * a flood, or a stall) is not dead. libuv reads at most 32 datagrams per socket and wake, so one
   * loop turn is not enough under a backlog: turns go on while they still bring packets, for at most
   * DEATH_DRAIN_MS (a flood never lets the queue empty; a death is then that much later at most).
   */
  private drainThenJudge(fired: number, seen: number): void {
    this.deathCheck = setImmediate(() => {
      this.deathCheck = null;
      if (this.state !== 'running' || !this.liveness) return;
      const now = monoNowMs();
      if (this.received !== seen && now - fired < DEATH_DRAIN_MS) return this.drainThenJudge(fired, this.received);
      this.emit(this.liveness.tick(now));
      this.armDeadline();
    });
  }

  /**
   * The native engine's stall rule (native/engine.cc CheckJsStall): the main thread silent for more
   * than stallLimitMs stops the beat for good. After our own stall the main thread was frozen too,
   * so it gets the full limit again from then.
   */
  private checkJsStall(now: number): void {
    if (this.stallStopped || !(this.opts.stallLimitMs > 0)) return;
    const silentMs = now - Math.max(this.hooks.lastCheckIn(), this.lastStallAt);
    if (silentMs <= this.opts.stallLimitMs) return;
    this.stallStopped = true;
    // Written at once (the main thread, which owns process.stderr, is the one that is wedged).
    try {
      fs.writeSync(2, `hbd: transport: JavaScript has not checked in for ${silentMs.toFixed(0)} ms (limit ${this.opts.stallLimitMs.toFixed(0)} ms): the event loop is wedged; heartbeats stopped so that this node cannot hold resources as a zombie\n`);
    } catch {
      // stderr closed or full: the event below still says it.
    }
    this.emit([{ type: 'stall-stop', silentMs }]);
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
