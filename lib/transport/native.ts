// The native engine as a Transport: a thin shell over the addon's Engine class (native/engine*.cc),
// whose own thread beats, receives and judges liveness whatever the event loop is doing. This file
// only relays events and checks in (so the engine can tell a wedged JS side from a busy one).
import { loadNative, NativeUnavailableError, type NativeBinding } from '../native';
import type { AuthKeys, Message } from '../wire/types';
import { deliverEvents } from './deliver';
import type { LivenessConfig, StatusInput, StatusOutcome } from './liveness';
import type { LivenessEvent, RetransmitResult, TakeoverPlan, Transport, TransportEvent, TransportOptions } from './types';

export type EngineEvent = TransportEvent;

/**
 * The addon's Engine: the Transport's controls, with a synchronous start and stop.
 * TypeErrors from the constructor name the bad option.
 */
export interface EngineInstance extends Omit<Transport, 'kind' | 'start' | 'stop' | 'setTakeoverPlan'> {
  setTakeoverPlan(node: string, plan: TakeoverPlan | null): void;
  /** Throws an Error with .syscall, .code (errno name) and .medium when a medium cannot be opened. */
  start(): void;
  /** Joins the engine thread; returns when every socket is closed. */
  stop(): void;
}

export type EngineConstructor = new (options: TransportOptions, onEvents: (events: EngineEvent[]) => void) => EngineInstance;

/** The C++ twin of lib/transport/liveness.ts Liveness, method for method. */
export interface LivenessTrackerInstance {
  isPeer(node: string): boolean;
  isPingNode(node: string): boolean;
  state(node: string): 'init' | 'up' | 'dead' | undefined;
  setCommUp(): void;
  status(now: number, s: StatusInput): StatusOutcome;
  markDead(node: string): void;
  packet(now: number, node: string, link: string, generation: number, seq?: number): StatusOutcome;
  ping(now: number, node: string, link: string): StatusOutcome;
  stalled(now: number, lateMs: number): LivenessEvent[];
  tick(now: number): LivenessEvent[];
  nextDeadline(): number;
}

export type LivenessTrackerConstructor = new (cfg: LivenessConfig, startMono: number) => LivenessTrackerInstance;

/**
 * How often JS tells the engine it is alive. The engine only compares the last check-in with the
 * stall limit and the watchdog interval, so a quarter of the shorter one keeps a live event loop
 * well clear of both (a wedged one is still caught within the limit plus a quarter) without a
 * timer per keepalive: at keepalive 10 ms a 10 ms interval cost more CPU than the beats. Capped at
 * 5 s so that the load average the statuses carry (refreshed at each check-in) stays current: the
 * kernel recomputes it only every 5 s (LOAD_FREQ), so a shorter cap bought nothing but wake-ups,
 * and at keepalive 2 s those were most of the main thread's idle CPU (bench/idle).
 */
export function checkInIntervalMs(opts: Pick<TransportOptions, 'stallLimitMs' | 'watchdog'>): number {
  const limit = Math.min(opts.stallLimitMs, opts.watchdog?.intervalMs ?? Infinity);
  return Math.max(1, Math.min(limit / 4, 5000));
}

function requireBinding(): NativeBinding {
  const load = loadNative();
  if (!load.binding) throw new NativeUnavailableError(load.reason);
  return load.binding;
}

/** Throws a TypeError naming the first bad option (the engine checks every one). */
export function createNativeTransport(opts: TransportOptions, binding: NativeBinding = requireBinding()): Transport {
  return new NativeTransport(opts, binding);
}

class NativeTransport implements Transport {
  readonly kind = 'native' as const;
  private readonly engine: EngineInstance;
  private onEvent: ((e: TransportEvent) => void) | null = null;
  private checkInTimer: NodeJS.Timeout | null = null;
  private state: 'new' | 'running' | 'stopped' = 'new';

  constructor(
    private readonly opts: TransportOptions,
    binding: NativeBinding,
  ) {
    this.engine = new binding.Engine(opts, (events) => this.deliver(events));
  }

  async start(onEvent: (e: TransportEvent) => void): Promise<void> {
    if (this.state !== 'new') throw new Error(`transport: start() called twice (state ${this.state})`);
    this.onEvent = onEvent;
    this.engine.start();
    this.state = 'running';
    const engine = this.engine;
    this.checkInTimer = setInterval(() => engine.checkIn(), checkInIntervalMs(this.opts));
    this.checkInTimer.unref();
  }

  setStatus(status: 'up' | 'active'): void {
    this.engine.setStatus(status);
  }

  setDeadtimeBump(extraMs: number): void {
    this.engine.setDeadtimeBump(extraMs);
  }

  setCommUp(): void {
    this.engine.setCommUp();
  }

  setFlowControl(on: boolean): void {
    this.engine.setFlowControl(on);
  }

  send(message: Message): number | null {
    return this.engine.send(message);
  }

  retransmit(seq: number): RetransmitResult {
    return this.engine.retransmit(seq);
  }

  highestSeq(): number {
    return this.engine.highestSeq();
  }

  markDead(node: string): void {
    this.engine.markDead(node);
  }

  checkIn(): void {
    this.engine.checkIn();
  }

  setAuthKeys(keys: AuthKeys): void {
    this.engine.setAuthKeys(keys);
  }

  setTakeoverPlan(node: string, plan: TakeoverPlan | null): void {
    this.engine.setTakeoverPlan(node, plan);
  }

  async stop(): Promise<void> {
    if (this.checkInTimer) clearInterval(this.checkInTimer);
    this.checkInTimer = null;
    this.state = 'stopped';
    this.onEvent = null; // events still queued from the thread are dropped: a stopped transport is silent
    this.engine.stop();
  }

  private deliver(events: EngineEvent[]): void {
    deliverEvents(events, this.onEvent);
  }
}
