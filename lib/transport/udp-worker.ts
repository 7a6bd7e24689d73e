// The packet core's thread (started by lib/transport/udp.ts): runs UdpCore on its own event loop,
// so that beats, receives and death deadlines go on while the main thread is busy or blocked.
// Protocol and shared memory: lib/transport/worker-protocol.ts.
import { parentPort, workerData } from 'node:worker_threads';

import { eventTime } from './clock';
import { EventPipe } from './event-pipe';
import { raiseAutogroup, raiseThreadPriority } from './thread-priority';
import { UdpCore } from './udp-core';
import { type Command, errorData, HIGHEST_SEQ, LAST_CHECK_IN, REPLY_COUNT, type Reply, type Report, packEvent, reviveAuthKeys, reviveMessage, reviveOptions, sharedViews, type WorkerData } from './worker-protocol';

function main(port: NonNullable<typeof parentPort>, data: WorkerData): void {
  const shared = sharedViews(data.shared);
  const report = (r: Report): void => port.postMessage(r);
  const pipe = new EventPipe((events) => report({ type: 'events', events }), queueMicrotask, eventTime);
  const core = new UdpCore(reviveOptions(data.options), {
    lastCheckIn: () => Number(Atomics.load(shared.big, LAST_CHECK_IN)) / 1000,
    seqGiven: (seq) => Atomics.store(shared.big, HIGHEST_SEQ, BigInt(seq)),
  });
  core.setStatus(data.settings.status);
  core.setDeadtimeBump(data.settings.bumpMs);
  core.setFlowControl(data.settings.flowControl);

  /** The answer to a synchronous call: posted first, then the counter the main thread waits on. */
  const answer = (fn: () => unknown): void => {
    let r: Reply;
    try {
      r = { ok: true, value: fn() };
    } catch (e) {
      r = { ok: false, error: errorData(e) };
    }
    data.replies.postMessage(r);
    Atomics.add(shared.i32, REPLY_COUNT, 1);
    Atomics.notify(shared.i32, REPLY_COUNT);
  };

  // The main thread checks every command before posting it: one that throws here is a bug, and
  // surfaces as this worker's 'error' (lib/transport/udp.ts stops the process with it).
  port.on('message', (c: Command) => {
    switch (c.cmd) {
      case 'send':
        return answer(() => core.send(reviveMessage(c.message)));
      case 'retransmit':
        return answer(() => core.retransmit(c.seq));
      case 'set-status':
        return core.setStatus(c.status);
      case 'deadtime-bump':
        return core.setDeadtimeBump(c.extraMs);
      case 'comm-up':
        return core.setCommUp();
      case 'flow-control':
        return core.setFlowControl(c.on);
      case 'mark-dead':
        return core.markDead(c.node);
      case 'set-auth-keys':
        return core.setAuthKeys(reviveAuthKeys(c.keys));
      case 'ack':
        return pipe.ack();
      case 'stop':
        void core.stop().then(() => {
          report({ type: 'stopped' });
          port.close();
          data.replies.close();
        });
        return;
    }
  });

  if (data.options.realtime) {
    for (const refused of [raiseThreadPriority(), raiseAutogroup()]) if (refused) pipe.push({ ...eventTime(), type: 'warning', ...refused });
  }
  core.start((e) => pipe.push(packEvent(e))).then(
    () => report({ type: 'started' }),
    (e: unknown) => report({ type: 'start-failed', error: errorData(e) }),
  );
}

if (!parentPort) throw new Error('lib/transport/udp-worker.js runs as a worker thread of lib/transport/udp.js, not on its own');
main(parentPort, workerData as WorkerData);
