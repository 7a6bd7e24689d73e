// Address actions run inside a lab namespace (the addon acts on the namespace of its own process,
// and the test process lives in the root one, which tests must never change):
//   node dist/test/support/address-actor.js '<json: Step[]>'
// runs the steps in order through lib/resources/address-native.ts and prints one JSON array with
// each step's outcome: { ok: true, value } or { ok: false, name, code, syscall, message }.
import { createNativeAddressBackend } from '../../lib/resources/address-native';
import { monoNowMs } from '../../lib/transport/clock';
import { blockEventLoop } from '../lab/env';
import type { VipSpec } from '../../lib/resources/address';

export type Step =
  | { readonly op: 'add' | 'remove'; readonly vip: VipSpec }
  | { readonly op: 'list'; readonly iface?: string }
  /** value: the AnnounceResult and the time onFirst was called; blockMs: spin the event loop that long right after starting. */
  | { readonly op: 'announce'; readonly vip: VipSpec; readonly count: number; readonly intervalMs: number; readonly blockMs?: number }
  /** Refreshes every everyMs for forMs, then stops; value: the errors seen (codes). */
  | { readonly op: 'refresh'; readonly vip: VipSpec; readonly everyMs: number; readonly forMs: number };

export type Outcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly name: string; readonly code?: string; readonly syscall?: string; readonly message: string };

async function run(steps: readonly Step[]): Promise<Outcome[]> {
  const backend = createNativeAddressBackend();
  const out: Outcome[] = [];
  for (const s of steps) {
    try {
      switch (s.op) {
        case 'add':
          out.push({ ok: true, value: await backend.add(s.vip) });
          break;
        case 'remove':
          out.push({ ok: true, value: await backend.remove(s.vip) });
          break;
        case 'list':
          out.push({ ok: true, value: await backend.list(s.iface) });
          break;
        case 'announce': {
          let firstAtMono: number | null = null;
          const done = backend.announce(s.vip, { count: s.count, intervalMs: s.intervalMs }, (at) => (firstAtMono = at));
          const blocked = s.blockMs ? { from: monoNowMs(), to: (blockEventLoop(s.blockMs), monoNowMs()) } : null;
          out.push({ ok: true, value: { ...(await done), onFirst: firstAtMono, blocked } });
          break;
        }
        case 'refresh': {
          const errors: string[] = [];
          const h = backend.refresh(s.vip, s.everyMs, (e) => errors.push(String(e.code)));
          await new Promise((r) => setTimeout(r, s.forMs));
          await h.stop();
          out.push({ ok: true, value: errors });
          break;
        }
      }
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      out.push({ ok: false, name: err.name, code: err.code, syscall: err.syscall, message: err.message });
    }
  }
  return out;
}

if (require.main === module) {
  run(JSON.parse(process.argv[2] ?? '[]') as Step[]).then(
    (out) => process.stdout.write(JSON.stringify(out) + '\n'),
    (e: Error) => {
      process.stderr.write(`address-actor: ${e.message}\n`);
      process.exitCode = 1;
    },
  );
}
