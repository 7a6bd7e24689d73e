// The load conditions of a measurement, switched on around a series of trials and always off after.
import * as os from 'node:os';

import { cpuStress, type CpuStress } from '../../test/lab/env';
import { BLOCK, type Load } from './config';
import type { Survivor } from './survivor';

export interface ActiveLoad {
  stop(): Promise<void>;
}

/** cpuStress runs at most 10 minutes: one stress after another until stopped. */
const STRESS_CHUNK_MS = 600_000;

export function cores(): number {
  return os.availableParallelism();
}

export function describeLoad(load: Load): string {
  switch (load) {
    case 'idle':
      return 'no load on purpose';
    case 'cpu':
      return `${cores()} spinning processes at 100% (every core saturated, normal priority)`;
    case 'block':
      return `the survivor's JavaScript event loop blocked ${BLOCK.forMs} ms of every ${BLOCK.everyMs} ms (a busy-wait in its driver)`;
  }
}

/** Saturates every core until stop() (each stress process also ends itself within 10 minutes). */
export async function startCpuLoad(): Promise<ActiveLoad> {
  let stopped = false;
  let current: CpuStress = await cpuStress({ cores: cores(), dutyPct: 100, durationMs: STRESS_CHUNK_MS });
  const renew = (): void => {
    void current.done.then(async () => {
      if (stopped) return;
      const next = await cpuStress({ cores: cores(), dutyPct: 100, durationMs: STRESS_CHUNK_MS });
      current = next;
      // stop() may have come while this one was starting.
      if (stopped) await next.stop();
      else renew();
    });
  };
  renew();
  return {
    async stop() {
      stopped = true;
      await current.stop();
    },
  };
}

/** Switches `load` on for these survivors ('block' blocks each one's event loop). */
export async function applyLoad(load: Load, survivors: readonly Survivor[]): Promise<ActiveLoad> {
  switch (load) {
    case 'idle':
      return { stop: async () => undefined };
    case 'cpu':
      return startCpuLoad();
    case 'block':
      await Promise.all(survivors.map((s) => s.setBlocking(true)));
      return { stop: async () => void (await Promise.all(survivors.map((s) => s.setBlocking(false).catch(() => undefined)))) };
  }
}
