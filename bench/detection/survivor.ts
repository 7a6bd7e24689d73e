// The node that stays up for a whole series of trials and declares each victim dead. Two kinds
// behind one seam: an hbd transport in a transport-driver process (its events carry their own
// CLOCK_MONOTONIC time), and a real heartbeat (see heartbeat-survivor.ts: its log lines are stamped
// as they are written).
import type { DriverHandle, DriverLine } from '../../test/support/driver-client';
import { BLOCK, VICTIM } from './config';

export interface Death {
  /** When the survivor declared the victim dead, CLOCK_MONOTONIC ms. */
  readonly detectedMono: number;
  /** When that verdict reached the survivor's JavaScript (hbd only), CLOCK_MONOTONIC ms. */
  readonly deliveredMono: number | null;
  /** The timeout the survivor says it applied (hbd only), ms. */
  readonly timeoutMs: number | null;
}

export interface Survivor {
  readonly kind: 'native' | 'ts' | 'heartbeat';
  /** The survivor's main process (heartbeat: its master control process). */
  readonly pid: number;
  /** A position in the survivor's output: later waits and counts look only after it. */
  mark(): number;
  /** Resolves once the survivor has taken `beats` statuses from victim generation `generation`. */
  waitSteady(generation: number, beats: number, from: number, timeoutMs: number): Promise<void>;
  /** When the survivor took the victim's latest status, CLOCK_MONOTONIC ms (null: it does not say). */
  lastStatusMono(): number | null;
  /** Whether the survivor's last verdict on the victim, up to now, is "up". */
  holdsVictimUp(): boolean;
  /** The victim's death declared after mark `from`. */
  waitDeath(from: number, timeoutMs: number): Promise<Death>;
  /** Deaths of the victim declared between two marks. */
  deathsBetween(from: number, to: number): number;
  /** Own-stall reports since mark `from` (hbd only; 0 for heartbeat). */
  stallsSince(from: number): number;
  /** Turns the periodic event-loop block on or off (only hbd has an event loop to block). */
  setBlocking(on: boolean): Promise<void>;
  /** Ends what the survivor runs beside the node itself (the node goes with its lab). */
  close(): void;
}

const victimIs = (type: string) => (l: DriverLine) => l.type === type && l.node === VICTIM;

export class DriverSurvivor implements Survivor {
  constructor(
    readonly kind: 'native' | 'ts',
    private readonly h: DriverHandle,
  ) {}

  get pid(): number {
    return this.h.process.pid;
  }

  mark(): number {
    return this.h.lines.length;
  }

  async waitSteady(generation: number, beats: number, from: number, timeoutMs: number): Promise<void> {
    const ofGen = (l: DriverLine) => victimIs('status')(l) && l.generation === generation;
    await this.h.waitFor(`${beats} statuses of ${VICTIM} generation ${generation}`, () => this.h.lines.slice(from).filter(ofGen).length >= beats, timeoutMs, from);
  }

  lastStatusMono(): number | null {
    for (let i = this.h.lines.length - 1; i >= 0; i--) if (victimIs('status')(this.h.lines[i]!)) return this.h.lines[i]!.mono as number;
    return null;
  }

  holdsVictimUp(): boolean {
    for (let i = this.h.lines.length - 1; i >= 0; i--) {
      const l = this.h.lines[i]!;
      if (victimIs('peer-up')(l)) return true;
      if (victimIs('peer-dead')(l)) return false;
    }
    return false;
  }

  async waitDeath(from: number, timeoutMs: number): Promise<Death> {
    const l = await this.h.waitFor(`peer-dead of ${VICTIM}`, victimIs('peer-dead'), timeoutMs, from);
    return { detectedMono: l.mono as number, deliveredMono: (l.printMono as number | undefined) ?? null, timeoutMs: l.timeoutMs as number };
  }

  deathsBetween(from: number, to: number): number {
    return this.h.lines.slice(from, to).filter(victimIs('peer-dead')).length;
  }

  stallsSince(from: number): number {
    return this.h.lines.slice(from).filter((l) => l.type === 'own-stall').length;
  }

  async setBlocking(on: boolean): Promise<void> {
    const from = this.mark();
    this.h.command({ cmd: 'block-loop', everyMs: BLOCK.everyMs, forMs: on ? BLOCK.forMs : 0 });
    // The reply comes after any block in progress: blocking is in force (or over) once it is seen.
    const reply = await this.h.waitFor('block-loop reply', (l) => l.type === 'blocking' || l.type === 'command-error', 5_000, from);
    if (reply.type === 'command-error') throw new Error(`${this.h.name}: block-loop refused: ${String(reply.message)}`);
  }

  close(): void {
    this.h.close();
  }
}
