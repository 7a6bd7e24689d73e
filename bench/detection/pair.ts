// One survivor/victim pair in a lab of its own: a capture on the switch for the pair's whole life,
// a survivor that stays, and one trial after another, each with a fresh victim process (a higher
// generation each time, as a restarted hbd has): start it, wait until the survivor has it up and
// steady, SIGKILL it at a random phase of its beat, wait for the survivor's verdict.
import * as fs from 'node:fs';

import { readCapture } from '../../lib/pcap/reader';
import { monoNowMs } from '../../lib/transport/clock';
import type { Capture } from '../../test/lab/capture';
import type { Lab } from '../../test/lab/lab';
import { Drivers } from '../../test/support/driver-client';
import type { TransportKind } from '../../test/support/transport-driver';
import { measureClockOffset, type ClockOffset } from './clock';
import { StartGate } from './gate';
import { driverConfig, KEYS, steadyBeats, SURVIVOR, VICTIM, type Timing } from './config';
import { realtimeThreads } from './sched';
import { DriverSurvivor, type Death, type Survivor } from './survivor';
import { statusBeats, type Beat } from './wire';

export type SurvivorKind = TransportKind | 'heartbeat';

export interface PairSpec {
  readonly survivor: SurvivorKind;
  readonly victim: TransportKind;
  readonly timing: Timing;
  /** ha.cf `realtime` for both nodes of the pair (native: SCHED_FIFO engine; ts: its worker and the process's autogroup at nice −20). */
  readonly realtime: boolean;
}

/** Starts the survivor of kind 'heartbeat' (heartbeat-survivor.ts), injected to keep this file free of it. */
export type HeartbeatStarter = (lab: Lab, timing: Timing) => Promise<Survivor>;

export interface TrialRecord {
  readonly generation: number;
  readonly killMono: number;
  readonly death: Death | null;
  /** Why the trial has no measurement (null: it has one). */
  readonly problem: string | null;
  /** The survivor declared the running victim dead (before the kill). */
  readonly survivorFalseDeaths: number;
  /** The victim declared the survivor dead. */
  readonly victimFalseDeaths: number;
  /** Own-stall reports of the survivor during the trial. */
  readonly survivorStalls: number;
}

export interface PairData {
  readonly trials: TrialRecord[];
  /** The victims' status beats on the wire, every generation. */
  readonly beats: Beat[];
  readonly rejectedDatagrams: number;
  /** Realtime−monotonic offsets measured when the pair opened and closed. */
  readonly offsets: readonly ClockOffset[];
  /** tcpdump's own count of packets it dropped, as it reported it. */
  readonly captureDrops: number | null;
  /** Realtime threads in the survivor at the end and in the first victim once steady (null: gone). */
  readonly realtimeThreads: { readonly survivor: number | null; readonly victim: number | null };
}

const WAIT_MS = 30_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Pair {
  readonly trials: TrialRecord[] = [];
  private readonly offsets: ClockOffset[] = [];
  private victimRealtime: number | null = null;

  private constructor(
    readonly spec: PairSpec,
    private readonly drivers: Drivers,
    private readonly capture: Capture,
    readonly survivor: Survivor,
    private readonly victimAddress: string,
    private readonly gate: StartGate | null,
  ) {}

  /** Starts the capture, then the survivor; the lab must have 2 nodes. `gate` is shared with concurrent pairs. */
  static async open(lab: Lab, spec: PairSpec, startHeartbeat: HeartbeatStarter | null, gate: StartGate | null): Promise<Pair> {
    const drivers = new Drivers(lab);
    const capture = await lab.startCapture(0, { name: 'detection' });
    let survivor: Survivor;
    if (spec.survivor === 'heartbeat') {
      if (!startHeartbeat) throw new Error('bench/detection: a heartbeat survivor was asked for, but heartbeat cannot be started here');
      survivor = await startHeartbeat(lab, spec.timing);
    } else {
      const cfg = driverConfig(spec.survivor, SURVIVOR, spec.timing, 1, { realtime: spec.realtime });
      survivor = new DriverSurvivor(spec.survivor, await drivers.start(1, cfg, WAIT_MS));
    }
    const pair = new Pair(spec, drivers, capture, survivor, lab.node(2).address(0), gate);
    pair.offsets.push(measureClockOffset());
    return pair;
  }

  /** One detection trial with a victim of generation `generation`, killed `delayMs` after it was seen steady. */
  async trial(generation: number, delayMs: number): Promise<TrialRecord> {
    const { timing } = this.spec;
    const s = this.survivor;
    const from = s.mark();
    // Bounded: past it the start goes ahead (it disturbs, it does not break).
    await this.gate?.clearToStart(WAIT_MS);
    const cfg = driverConfig(this.spec.victim, VICTIM, timing, generation, { realtime: this.spec.realtime });
    const victim = await this.drivers.start(2, cfg, WAIT_MS);
    try {
      await s.waitSteady(generation, steadyBeats(timing), from, WAIT_MS);
      // Read once the victim is beating: the engine thread makes itself realtime as it starts.
      if (this.victimRealtime === null) this.victimRealtime = realtimeThreads(victim.process.pid);
      await sleep(delayMs);
      const killMark = s.mark();
      const up = s.holdsVictimUp();
      const killMono = monoNowMs();
      // The earliest the death can fall due (heartbeat does not say when it took the last status).
      const release = this.gate?.expect((s.lastStatusMono() ?? killMono - timing.keepaliveMs) + timing.deadtimeMs);
      let death: Death | null = null;
      let problem: string | null = up ? null : 'the survivor held the victim dead at the kill (a false death it had not taken back)';
      try {
        if (!victim.process.kill('SIGKILL')) throw new Error(`${victim.name} exited on its own before the kill`);
        if (up) death = await s.waitDeath(killMark, timing.deadtimeMs + WAIT_MS);
      } catch (e) {
        problem = `no death declared: ${(e as Error).message.split('\n')[0]}`;
      } finally {
        release?.();
      }
      await victim.process.exitWithin(5_000);
      const record: TrialRecord = {
        generation,
        killMono,
        death,
        problem,
        survivorFalseDeaths: s.deathsBetween(from, killMark),
        victimFalseDeaths: victim.all('peer-dead', (l) => l.node === SURVIVOR).length,
        survivorStalls: s.stallsSince(from),
      };
      this.trials.push(record);
      return record;
    } finally {
      victim.process.kill('SIGKILL');
      victim.close();
    }
  }

  /** Stops the capture and reads the victims' beats from it. */
  async finish(): Promise<PairData> {
    this.offsets.push(measureClockOffset());
    const survivorRealtime = realtimeThreads(this.survivor.pid);
    this.survivor.close();
    this.drivers.closeAll();
    const file = await this.capture.stop();
    const scan = statusBeats(readCapture(fs.readFileSync(file)), this.victimAddress, KEYS);
    return {
      trials: this.trials,
      beats: scan.beats.filter((b) => b.node === VICTIM),
      rejectedDatagrams: scan.rejected.length,
      offsets: this.offsets,
      captureDrops: tcpdumpDrops(this.capture.process.stderrPath),
      realtimeThreads: { survivor: survivorRealtime, victim: this.victimRealtime },
    };
  }
}

/** "N packets dropped by kernel" from tcpdump's exit summary; null when it printed none. */
export function tcpdumpDrops(stderrPath: string | null): number | null {
  if (!stderrPath) return null;
  let text: string;
  try {
    text = fs.readFileSync(stderrPath, 'utf8');
  } catch {
    return null;
  }
  const m = /(\d+) packets? dropped by kernel/.exec(text);
  return m ? Number(m[1]) : null;
}
