// One native-engine node for test/native-engine.test.ts, run in a lab namespace:
//   node dist/test/support/engine-peer.js <config.json>
// The config is transport-driver's JSON (kind "native") plus `blockMs`, `realtime` and `probe`.
// Prints every event as one JSON line on stdout, goes active after the first peer-up (as membership
// would) and then sends `probe` once, and on SIGUSR1 blocks its own event loop for blockMs by spinning — the
// wedged-JavaScript case — between a `block-start` and a `block-end` line that carry the engine's
// clock (monoNow), so the test can tell what the engine did meanwhile. `plans` are handed to
// setTakeoverPlan before the start and again on SIGUSR2 (then a `plans-set` line; a plan fires
// once), a refusal prints a `plan-error` line and exits. SIGTERM stops it.
import * as fs from 'node:fs';

import { loadNative } from '../../lib/native';
import { createNativeTransport } from '../../lib/transport/native';
import type { TakeoverPlan } from '../../lib/transport/types';
import { commandMessage, driverOptions, jsonLine } from './transport-driver';

export interface EnginePeerConfig {
  readonly blockMs?: number;
  readonly realtime?: boolean;
  /** A message ([name, value] string fields) to send after the first peer-up. */
  readonly probe?: readonly (readonly [string, string])[];
  /** Takeover plans: what the engine does by itself when that node dies. */
  readonly plans?: readonly { readonly node: string; readonly plan: TakeoverPlan }[];
}

function main(file: string): void {
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as EnginePeerConfig & Record<string, unknown>;
  const { options } = driverOptions(json, file);
  const binding = loadNative({ HBD_TRANSPORT: 'native' }).binding!;
  const transport = createNativeTransport({ ...options, realtime: json.realtime ?? false }, binding);
  const print = (value: unknown): void => {
    fs.writeSync(1, jsonLine(value));
  };
  const setPlans = (): void => {
    try {
      for (const { node, plan } of json.plans ?? []) transport.setTakeoverPlan!(node, plan);
    } catch (e) {
      print({ type: 'plan-error', message: (e as Error).message, code: (e as NodeJS.ErrnoException).code });
      process.exit(1);
    }
  };
  setPlans();
  process.on('SIGUSR2', () => {
    setPlans();
    print({ type: 'plans-set', mono: binding.monoNow() });
  });
  let active = false;
  process.on('SIGUSR1', () => {
    print({ type: 'block-start', mono: binding.monoNow() });
    const until = binding.monoNow() + (json.blockMs ?? 0);
    while (binding.monoNow() < until);
    print({ type: 'block-end', mono: binding.monoNow() });
  });
  process.on('SIGTERM', () => void transport.stop().then(() => process.exit(0)));
  setInterval(() => undefined, 1 << 30); // the engine thread does not keep the process alive
  transport
    .start((e) => {
      print(e);
      if (e.type === 'peer-up' && !active) {
        active = true;
        transport.setCommUp();
        transport.setStatus('active');
        if (json.probe) print({ type: 'sent', seq: transport.send(commandMessage(json.probe)) });
      }
    })
    .then(() => print({ type: 'started', pid: process.pid }))
    .catch((e: NodeJS.ErrnoException) => {
      print({ type: 'start-error', message: e.message, code: e.code });
      process.exit(1);
    });
}

if (require.main === module) main(process.argv[2] ?? '');
