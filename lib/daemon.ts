// The daemon: wires configuration, state, transport, membership, resource policy, resources, the
// control socket, metrics and logging together and owns start and shutdown. Policy lives in the
// parts; this file only connects them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';

import { CRC_WARNING, crcMigration } from './config/authkeys';
import { formatDiagnostic } from './config/diagnostics';
import { reloadConfig, type ConfigField } from './config/reload';
import type { ClusterConfig, Medium as ConfigMedium } from './config/types';
import { ResourceExecutor } from './cluster/executor';
import { ResourcePolicy } from './cluster/policy';
import { policyConfigFrom } from './cluster/types';
import { parseBuiltinArgs } from './config/resource-args';
import type { Resource } from './config/types';
import { configParameters } from './control/parameters';
import { ControlServer } from './control/server';
import type { ActionResult, ControlHandler, NodeReport, ReloadResult, Scope, StatusReport } from './control/types';
import type { MetricsEndpoint } from './metrics/endpoint';
import { serveMetrics } from './metrics/endpoint';
import type { AddressBackend, AddressEntry, VipSpec } from './resources/address';
import { createNativeAddressBackend, DEFAULT_ANNOUNCE } from './resources/address-native';
import { resolveVip } from './resources/ipaddr';
import { createGroupRunners, registryOptions, selectAddressBackend } from './resources/registry';
import { describeErrno } from './errors';
import { AuthFailLog } from './log/auth-fail-log';
import { Logger } from './log/logger';
import type { Level } from './log/levels';
import type { MetricsAddress } from './metrics/address';
import { GapTracker } from './metrics/gaps';
import { sampleProcess } from './metrics/process';
import { classifyAuthFailure, MetricsRecorder } from './metrics/recorder';
import { Membership, type MembershipAction } from './membership/membership';
import { loadNative } from './native';
import { nextGeneration } from './state/generation';
import { HEAP_TRIM_DEFAULTS, HeapTrimmer } from './service/heap-trim';
import { ensurePrivateDir, RUN_DIR_MODE, STATE_DIR_MODE } from './state/private-dir';
import { loadOrCreateUuid } from './state/uuid';
import { monoNowMs } from './transport/clock';
import { watchdogFromEnv } from './systemd';
import { selectTransport } from './transport/select';
import type { Medium, PingNodeSpec, Transport, TransportEvent, TransportOptions } from './transport/types';
import { version } from './version';
import type { Message } from './wire/types';

export interface DaemonOptions {
  readonly config: ClusterConfig;
  readonly stateDir: string;
  readonly runDir: string;
  /** Copy every log line to stderr (foreground runs). */
  readonly logStderr: boolean;
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Where to serve Prometheus metrics (`start --metrics`, else ha.cf `hbd_metrics`); null: off.
   * Served with serveMetrics() (lib/metrics/endpoint.ts) once the daemon has its status report.
   */
  readonly metrics?: MetricsAddress | null;
}

const PID_FILE = 'hbd.pid';
/** Readable by tools (cl_status, monitoring), written by hbd only. */
const PID_FILE_MODE = 0o644;
/** heartbeat's final shutdown phases after its own shutdone: 1 s, then 1 s more (spec §8.8). */
const FINAL_SHUTDOWN_MS = 2000;

/** heartbeat's start-up line for each medium (HBcomm plugins' cl_log texts). */
function mediumStartedText(m: ConfigMedium, port: number): string {
  switch (m.type) {
    case 'bcast':
      return `UDP Broadcast heartbeat started on port ${port} (${port}) interface ${m.iface}`;
    case 'mcast':
      return `UDP multicast heartbeat started for group ${m.group} port ${m.port} interface ${m.iface} (ttl=${m.ttl} loop=${m.loop ? 1 : 0})`;
    case 'ucast':
      return `UDP Unicast heartbeat started on port ${port} (${port}) interface ${m.iface} to ${m.peer}`;
  }
}

function toTransportMedium(m: ConfigMedium): Medium {
  switch (m.type) {
    case 'bcast':
      return { kind: 'bcast', iface: m.iface };
    case 'mcast':
      return { kind: 'mcast', iface: m.iface, group: m.group, port: m.port, ttl: m.ttl, loop: m.loop };
    case 'ucast':
      return { kind: 'ucast', iface: m.iface, peer: m.peer };
  }
}

/** `ping IP` is a ping node named by its address text; `ping_group NAME IP…` one reachable via any. */
function pingNodesOf(cfg: ClusterConfig): PingNodeSpec[] {
  return [
    ...cfg.pingNodes.map((p) => ({ name: p.address, addresses: [p.address], group: false })),
    ...cfg.pingGroups.map((g) => ({ name: g.name, addresses: g.addresses, group: true })),
  ];
}

/** The pid of a live hbd recorded in `<runDir>/hbd.pid`, or null (no file, or its process is gone). */
export function runningPid(runDir: string): number | null {
  const file = path.join(runDir, PID_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'latin1');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const other = Number(text.trim());
  if (!Number.isInteger(other) || other <= 0 || other === process.pid) return null;
  try {
    process.kill(other, 0);
    return other;
  } catch (e) {
    // EPERM: it exists but is not ours to signal — still a live process.
    if ((e as NodeJS.ErrnoException).code === 'EPERM') return other;
    return null;
  }
}

export function alreadyRunningMessage(pid: number, runDir: string): string {
  return `hbd is already running as PID ${pid} (${path.join(runDir, PID_FILE)}); stop it first (hbd stop) or use another --run-dir`;
}

/**
 * Refuses to start over a live daemon; a stale pid file is replaced. The file is created anew
 * (O_EXCL, no symlink followed) with mode 0644 whatever the umask, in a run directory only we write.
 */
export function claimPidFile(runDir: string): string {
  ensurePrivateDir(runDir, RUN_DIR_MODE, 'run');
  const file = path.join(runDir, PID_FILE);
  const other = runningPid(runDir);
  if (other !== null) throw new Error(alreadyRunningMessage(other, runDir));
  fs.rmSync(file, { force: true });
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, PID_FILE_MODE);
  try {
    fs.fchmodSync(fd, PID_FILE_MODE);
    fs.writeSync(fd, `${process.pid}\n`);
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

/**
 * The address the engine may add by itself at a holder's death (contract C): an IPaddr, IPaddr2 or
 * IPv6addr resource resolved against this host's addresses (findif); null for anything else or an
 * address that cannot be resolved here (its resource then reports why when it is started).
 */
function vipOf(r: Resource, entries: readonly AddressEntry[]): VipSpec | null {
  if (r.script !== 'IPaddr' && r.script !== 'IPaddr2' && r.script !== 'IPv6addr') return null;
  const a = parseBuiltinArgs(r.script, r.args);
  if (!a.ok || a.value.type === 'systemd') return null;
  const v = resolveVip(a.value, entries);
  return v.ok ? v.vip : null;
}

/**
 * Settings the running daemon applies on reload; everything else waits for a restart. authkeys is
 * live so that keys rotate across a running cluster without a restart (README, "Key rotation").
 */
const LIVE_FIELDS: ReadonlySet<ConfigField> = new Set<ConfigField>(['logging', 'authKeys']);

/** The method of the key outgoing packets are signed with. */
function signingMethod(cfg: ClusterConfig): string {
  return cfg.authKeys.keys.find((k) => k.index === cfg.authKeys.sendIndex)?.method ?? '?';
}

function loggerFor(cfg: ClusterConfig, logStderr: boolean): Logger {
  const l = cfg.logging;
  // With no log output configured, stderr is the only place left (hbd check says so too).
  return new Logger(cfg.localNode, { ...l, stderr: logStderr || (!l.logfile && !l.debugfile && !l.facility) });
}

export class Daemon {
  private membershipTimer: NodeJS.Timeout | null = null;
  private authFailTimer: NodeJS.Timeout | null = null;
  private readonly authFails: AuthFailLog;
  private stopping: Promise<void> | null = null;
  private markStopped!: (status: number) => void;
  /**
   * Resolves when the daemon has shut down, whoever asked (a signal, `hbd stop` through the
   * control socket, the stall guard), with the exit status for `hbd start`.
   */
  readonly stopped = new Promise<number>((resolve) => (this.markStopped = resolve));
  /** Set once the transport is being closed: from then on events are dropped. */
  private closing = false;
  /** What the metrics endpoint shows beyond the status report (serveMetrics(…, this.metrics)). */
  readonly metrics = new MetricsRecorder();
  private readonly gaps: GapTracker;
  /** The native engine's handles are unref'd; this keeps the process alive until stop(). */
  private alive: NodeJS.Timeout | null = null;
  /** Runs a full collection when failovers have left enough garbage (lib/service/heap-trim.ts). */
  private readonly heapTrim = new HeapTrimmer(HEAP_TRIM_DEFAULTS);
  private executor!: ResourceExecutor;
  private policy!: ResourcePolicy;
  private control: ControlServer | null = null;
  private metricsEndpoint: MetricsEndpoint | null = null;
  private readonly startedAt = Date.now();
  /** Wall ms of each node's last status change, for `hbd status`. */
  private readonly since = new Map<string, number>();
  private readonly counters = { packetsIn: 0, authFailures: 0, lateHeartbeats: 0, largestGapMs: 0 };
  private fallbackReason: string | null = null;

  private constructor(
    private cfg: ClusterConfig,
    private log: Logger,
    private readonly logStderr: boolean,
    private readonly transport: Transport,
    private readonly membership: Membership,
    private readonly pidFile: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    const known = new Set([...cfg.nodes.map((n) => n.name), ...cfg.pingNodes.map((p) => p.address), ...cfg.pingGroups.map((g) => g.name)]);
    this.authFails = new AuthFailLog((name) => known.has(name));
    const metrics = this.metrics;
    const counters = this.counters;
    this.gaps = new GapTracker({
      onHeartbeatGap(node: string, ms: number) {
        counters.largestGapMs = Math.max(counters.largestGapMs, ms);
        metrics.onHeartbeatGap(node, ms);
      },
      onAuthFailure: (r, c) => metrics.onAuthFailure(r, c),
      onTakeover: (ms) => metrics.onTakeover(ms),
      onResourceAction: (res, op, ms, ok) => metrics.onResourceAction(res, op, ms, ok),
    });
  }

  /** Starts everything; rejects (after logging) when a medium cannot be opened. */
  static async start(opts: DaemonOptions): Promise<Daemon> {
    const cfg = opts.config;
    const log = loggerFor(cfg, opts.logStderr);
    log.info(`Configuration validated. Starting hbd ${version()} (heartbeat 3.0.6 protocol)`);
    try {
      // HBD_TRANSPORT / HBD_REQUIRE_NATIVE problems surface before anything is written.
      loadNative(opts.env);
    } catch (e) {
      log.error((e as Error).message);
      await log.close();
      throw e;
    }
    let pidFile: string;
    try {
      pidFile = claimPidFile(opts.runDir);
    } catch (e) {
      log.error((e as NodeJS.ErrnoException).code ? describeErrno(e, 'write', path.join(opts.runDir, PID_FILE)) : (e as Error).message);
      await log.close();
      throw e;
    }
    try {
      ensurePrivateDir(opts.stateDir, STATE_DIR_MODE, 'state');
    } catch (e) {
      log.error((e as Error).message);
      fs.rmSync(pidFile, { force: true });
      await log.close();
      throw e;
    }
    const nowSec = Math.floor(Date.now() / 1000);
    const gen = nextGeneration(opts.stateDir, cfg.hbgenMethod, nowSec);
    if (gen.warning) log.warn(gen.warning);
    log.info(`Heartbeat generation: ${gen.generation}`);
    const crc = crcMigration(cfg.authKeys);
    if (crc) log.warn(`authkeys: ${CRC_WARNING}; ${crc}`);
    const uuid = loadOrCreateUuid(opts.stateDir, cfg.uuidFrom, cfg.localNode);
    if (uuid.note) log.info(uuid.note);
    const env = opts.env ?? process.env;
    let watchdog: ReturnType<typeof watchdogFromEnv>;
    try {
      watchdog = watchdogFromEnv(env, process.pid);
    } catch (e) {
      log.error((e as Error).message);
      fs.rmSync(pidFile, { force: true });
      await log.close();
      throw e;
    }

    const topts: TransportOptions = {
      localNode: cfg.localNode,
      nodes: cfg.nodes.map((n) => n.name),
      media: cfg.media.map(toTransportMedium),
      udpPort: cfg.udpPort,
      keepaliveMs: cfg.timings.keepaliveMs,
      deadtimeMs: cfg.timings.deadtimeMs,
      warntimeMs: cfg.timings.warntimeMs,
      initdeadMs: cfg.timings.initdeadMs,
      stallLimitMs: cfg.timings.stallLimitMs,
      authKeys: cfg.authKeys,
      wireFormat: cfg.wireFormat,
      uuid: uuid.uuid,
      generation: gen.generation,
      firstSeq: 1,
      ttl: cfg.hopfudge + cfg.nodes.length + cfg.pingNodes.length + cfg.pingGroups.length,
      realtime: cfg.realtime,
      rtprio: cfg.rtprio,
      maxRexmitDelayMs: cfg.maxRexmitDelayMs,
      pingNodes: pingNodesOf(cfg),
      deadpingMs: cfg.timings.deadpingMs,
      watchdog,
    };
    const { transport, fallbackReason } = selectTransport(topts, opts.env);
    if (fallbackReason) log.warn(`native engine not in use: ${fallbackReason}; using the TypeScript transport`);
    else log.info('hbd: using the native engine');
    if (watchdog && transport.kind !== 'native') log.warn(`systemd watchdog (WATCHDOG_USEC) not fed: only the native engine can send to ${watchdog.socket}; systemd will restart hbd when WatchdogSec= runs out`);

    const membership = new Membership(
      {
        localNode: cfg.localNode,
        nodes: topts.nodes,
        pingNodes: topts.pingNodes?.map((p) => p.name),
        maxRexmitDelayMs: cfg.maxRexmitDelayMs,
        keepaliveMs: cfg.timings.keepaliveMs,
        deadtimeMs: cfg.timings.deadtimeMs,
        // heartbeat's start-up grace covers its own late first beats; the engine thread has none.
        startDeadtimeBump: transport.kind !== 'native',
        highestSeq: () => transport.highestSeq(),
      },
      monoNowMs(),
      Math.random,
    );
    const d = new Daemon(cfg, log, opts.logStderr, transport, membership, pidFile, env);
    d.fallbackReason = fallbackReason;
    await d.setUpResources();
    // The first status (st=init) already carries the start-up dt and flow control: those settings
    // go to the transport before it starts, the rest (status up, its log line) after.
    const startActions = membership.start(monoNowMs());
    const early = (a: MembershipAction) => a.type === 'flow-control' || a.type === 'deadtime-bump';
    d.apply(startActions.filter(early));
    try {
      await transport.start((e) => d.onTransportEvent(e));
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { medium?: string };
      log.error(`cannot start the ${transport.kind} transport: ${err.message}`);
      d.closing = true; // the start-up bump's timer must not keep a failed start alive
      if (d.membershipTimer) clearTimeout(d.membershipTimer);
      fs.rmSync(pidFile, { force: true });
      await log.close();
      throw e;
    }
    d.alive = setInterval(() => undefined, 1 << 30);
    d.heapTrim.start();
    for (const m of cfg.media) log.info(mediumStartedText(m, cfg.udpPort));
    try {
      d.control = await ControlServer.listen({ runDir: opts.runDir, handler: d.controlHandler(), log: (level, text) => d.log.log(level, text) });
      const metricsAt = opts.metrics !== undefined ? opts.metrics : cfg.metrics;
      if (metricsAt) d.metricsEndpoint = await serveMetrics(metricsAt, () => d.status(), (t) => d.log.warn(t), d.metrics);
    } catch (e) {
      log.error(`cannot start: ${(e as Error).message}`);
      await d.stop('start-up failure', 1);
      throw e;
    }
    // heartbeat's ping plugins, once per ping medium.
    for (const p of topts.pingNodes ?? []) log.info(p.group ? 'ping group heartbeat started.' : 'ping heartbeat started.');
    d.apply(startActions.filter((a) => !early(a)));
    d.notifySystemd('READY=1');
    return d;
  }

  get transportKind(): 'native' | 'ts' {
    return this.transport.kind;
  }

  /**
   * The resource side: the address backend that goes with the transport (rtnetlink with the native
   * engine, iproute2 with the TypeScript transport), a runner per haresources group, the policy
   * and what carries out its actions. The engine's takeover plans need this host's addresses to
   * resolve each group's leading IP resources (findif), read once here.
   */
  private async setUpResources(): Promise<void> {
    const cfg = this.cfg;
    const backend: AddressBackend = selectAddressBackend(this.transport.kind, () => createNativeAddressBackend());
    let entries: AddressEntry[] = [];
    if (cfg.resources.length > 0) {
      try {
        entries = await backend.list();
      } catch (e) {
        this.log.warn(`cannot list this host's addresses (${(e as Error).message}): IP resources are added when their group starts, not at the peer's death deadline`);
      }
    }
    const runners = createGroupRunners(cfg, {
      ...registryOptions(cfg, { backend, log: this.log }),
      onAction: (e) => this.executor.onAction(e),
    });
    this.policy = new ResourcePolicy(policyConfigFrom(cfg, (r) => vipOf(r, entries), { pid: process.pid }), monoNowMs());
    const plans = this.transport.setTakeoverPlan?.bind(this.transport);
    this.executor = new ResourceExecutor({
      policy: this.policy,
      runners,
      groups: cfg.resources,
      log: (level, text) => this.log.log(level, text),
      send: (message: Message) => this.apply([{ type: 'send', message }]),
      bumpDeadtime: (tag, extraMs) => this.apply(this.membership.bumpDeadtime(tag, extraMs, monoNowMs())),
      setPlan: plans ? (node, vips, announce) => plans(node, vips && vips.length > 0 ? { vips, announce } : null) : null,
      announce: DEFAULT_ANNOUNCE,
      metrics: this.metrics,
      monoNow: monoNowMs,
      wallNow: Date.now,
    });
  }

  // --- ControlHandler (lib/control): `hbd status|standby|takeover|stop|reload`, cl_status ------------

  status(): StatusReport {
    const m = this.membership.snapshot();
    const p = this.policy.snapshot();
    const nodes: NodeReport[] = m.nodes.map((n) => ({ name: n.name, type: n.type, status: n.status, since: this.since.get(n.name) ?? null, links: n.links }));
    return {
      version: version(),
      pid: process.pid,
      startedAt: this.startedAt,
      localNode: this.cfg.localNode,
      comm: m.comm,
      autoFailback: this.cfg.autoFailback,
      nodes,
      groups: this.executor.groupReports(p.groups),
      // heartbeat's MCP answers `none` in legacy mode, where it does not track holdings.
      heldResources: this.cfg.autoFailback === 'legacy' && this.cfg.nodes.length <= 2 ? 'none' : p.rscstatus,
      transport: { kind: this.transport.kind, reason: this.fallbackReason ? `native engine not in use: ${this.fallbackReason}` : 'the native engine loaded' },
      counters: {
        packetsIn: this.counters.packetsIn,
        packetsOut: Math.max(0, this.transport.highestSeq()),
        authFailures: this.counters.authFailures,
        lateHeartbeats: this.counters.lateHeartbeats,
        largestGapMs: this.counters.largestGapMs,
        takeovers: [...this.executor.takeovers],
      },
      parameters: configParameters(this.cfg),
      process: sampleProcess(),
    };
  }

  private controlHandler(): ControlHandler {
    return {
      status: () => this.status(),
      standby: (scope) => this.standby(scope),
      takeover: (scope) => this.takeover(scope),
      stop: () => void this.stop('hbd stop'),
      reload: () => this.reload(),
    };
  }

  standby(scope: Scope): ActionResult {
    if (this.stopping) return { accepted: false, message: 'hbd is shutting down' };
    const r = this.executor.request({ type: 'standby', scope });
    // heartbeat refuses standby without nice_failback (auto_failback legacy, two nodes) with an
    // info line only; the operator must hear it as a refusal.
    return this.cfg.autoFailback === 'legacy' && this.cfg.nodes.length <= 2 ? { accepted: false, message: 'Standby mode only implemented when nice_failback on (auto_failback legacy)' } : r;
  }

  takeover(scope: Scope): ActionResult {
    if (this.stopping) return { accepted: false, message: 'hbd is shutting down' };
    return this.executor.request({ type: 'takeover', scope });
  }

  /**
   * SIGHUP and `hbd reload`: re-read the files. Valid: apply what can change live (logging) and
   * name what waits for a restart. Invalid: log why and keep running on the current configuration.
   * Either way the log files are reopened (logrotate sends SIGHUP too).
   */
  reload(): ReloadResult {
    if (this.stopping) {
      return { ok: false, diagnostics: [{ severity: 'error', file: this.cfg.configDir, line: null, message: 'hbd is shutting down: nothing was reloaded' }] };
    }
    const { result, config } = reloadConfig(this.cfg, LIVE_FIELDS);
    if (!config || !result.ok) {
      for (const d of result.diagnostics) if (d.severity === 'error') this.log.error(formatDiagnostic(d).replace(/\n\s*/g, ' '));
      this.log.error(`configuration NOT reloaded: ${this.cfg.configDir} has errors; still running on the previous configuration`);
      this.log.reopen();
      return result;
    }
    if (!isDeepStrictEqual(config.authKeys, this.cfg.authKeys)) {
      this.transport.setAuthKeys(config.authKeys);
      this.log.info(`authkeys reloaded: signing with key ${config.authKeys.sendIndex} (${signingMethod(config)}), accepting keys ${config.authKeys.keys.map((k) => k.index).join(', ')}`);
    }
    if (!isDeepStrictEqual(config.logging, this.cfg.logging)) {
      const old = this.log;
      this.log = loggerFor(config, this.logStderr);
      void old.close();
    } else {
      this.log.reopen();
    }
    // The running configuration takes the live settings only, so that a change needing a
    // restart is reported again by the next reload.
    this.cfg = Object.freeze({ ...this.cfg, ...Object.fromEntries([...LIVE_FIELDS].map((f) => [f, config[f]])) });
    for (const d of result.diagnostics) this.log.warn(formatDiagnostic(d).replace(/\n\s*/g, ' '));
    this.log.info(`configuration reloaded from ${config.configDir}: applied ${result.applied.join(', ') || 'nothing'}${result.restartNeeded.length ? `; effective at the next restart: ${result.restartNeeded.join(', ')}` : ''}`);
    return result;
  }

  /**
   * Clean shutdown in heartbeat's order (spec §8.8): a status, then the policy's part — not before
   * comm-up ("Shutdown delayed until Communication is up."), `resource … info=shutdown`, every
   * group released last to first, the shutdone notice (peers take over at once) and our own
   * shutdone back through membership — then heartbeat's final 2 s in which we still answer
   * retransmission requests, and the end of beating. Idempotent.
   * `stall` (JavaScript wedged) and `start-up failure`: no notice; beating stops at once so the
   * peers take over, then our groups are released here so that no address stays up twice.
   * @param status what `hbd start` exits with afterwards (1: the daemon stopped itself).
   */
  stop(reason: string, status = 0): Promise<void> {
    this.stopping ??= (async () => {
      this.notifySystemd('STOPPING=1');
      this.log.debug(1, `shutdown requested: ${reason}`);
      const orderly = reason !== 'stall' && reason !== 'start-up failure';
      if (orderly) {
        this.transport.setStatus(this.localStatus());
        this.executor.input({ type: 'shutdown', keepResources: false });
        await this.executor.shutdownComplete;
        await new Promise((resolve) => setTimeout(resolve, FINAL_SHUTDOWN_MS));
      } else {
        this.log.info(`Heartbeat shutdown in progress. (${process.pid})`);
      }
      this.closing = true;
      this.executor.close();
      if (this.membershipTimer) clearTimeout(this.membershipTimer);
      if (this.authFailTimer) clearTimeout(this.authFailTimer);
      if (this.alive) clearInterval(this.alive);
      this.heapTrim.stop();
      await this.transport.stop();
      if (!orderly) await this.releaseAll();
      await this.control?.close();
      await this.metricsEndpoint?.server.close();
      fs.rmSync(this.pidFile, { force: true });
      this.log.info(`${this.cfg.localNode} Heartbeat shutdown complete.`);
      await this.log.close();
      this.markStopped(status);
    })();
    return this.stopping;
  }

  /** After an emergency stop: every group down, last first, as heartbeat's restart gives them up. */
  private async releaseAll(): Promise<void> {
    if (this.cfg.resources.length === 0) return;
    this.log.info('Giving up all HA resources.');
    for (const key of this.cfg.resources.map((g) => g.key).reverse()) await this.executor.release(key);
    this.log.info('All HA resources relinquished.');
  }

  /** The local status membership set last (the transport's `st`). */
  private localStatus(): 'up' | 'active' {
    return this.membership.snapshot().nodes.find((n) => n.local)?.status === 'active' ? 'active' : 'up';
  }

  /**
   * sd_notify for a Type=notify service (the addon sends it, whichever transport runs); nothing when
   * systemd did not ask. sdNotify reads NOTIFY_SOCKET from the process environment.
   */
  private notifySystemd(text: string): void {
    if (!this.env.NOTIFY_SOCKET) return;
    try {
      const binding = loadNative({ ...this.env, HBD_TRANSPORT: 'auto', HBD_REQUIRE_NATIVE: '' }).binding;
      if (!binding) this.log.warn(`systemd notification ${text} not sent: the native addon is not available`);
      else binding.sdNotify(text);
    } catch (e) {
      this.log.warn(`systemd notification ${text} not sent: ${(e as Error).message}`);
    }
  }

  private onTransportEvent(e: TransportEvent): void {
    if (this.closing) return;
    if (e.type === 'status' || e.type === 'message') this.counters.packetsIn++;
    if (e.type === 'status') this.gaps.onStatus(e.node, e.generation, e.seq, e.mono);
    else if (e.type === 'status-advance') {
      this.counters.packetsIn += e.monos.length;
      e.monos.forEach((mono, i) => this.gaps.onStatus(e.node, e.generation, e.fromSeq + i, mono));
    }
    else if (e.type === 'peer-late') this.counters.lateHeartbeats++;
    else if (e.type === 'auth-fail') {
      this.counters.authFailures += e.count;
      this.metrics.onAuthFailure(classifyAuthFailure(e.reason), e.count);
    }
    switch (e.type) {
      case 'stall-stop':
        this.log.crit(`hbd's JavaScript side was unresponsive for ${Math.round(e.silentMs)} ms: heartbeats stopped so that the peers take over; restarting`);
        void this.stop('stall', 1);
        return;
      case 'media-error':
        this.log.error(`${e.link}: ${e.syscall}: ${e.errno}: ${e.message}`);
        return;
      case 'warning':
        this.log.warn(`${e.message} (${e.syscall}: ${e.errno})`);
        return;
      case 'media-reopened':
        this.log.info(`${e.link}: interface came back (ifindex ${e.ifindex}); medium reopened`);
        return;
      case 'auth-fail':
        // Outsiders choose this rate: counted and rate-limited here, never one line per packet.
        this.writeAuthFailLines(this.authFails.note(e, monoNowMs()));
        return;
      case 'plan-executed':
        this.onPlanExecuted(e);
        return;
      default:
        this.apply(this.membership.onEvent(e, e.mono));
    }
  }

  /** The engine added a dead holder's addresses at the deadline itself: say so, tell the policy. */
  private onPlanExecuted(e: Extract<TransportEvent, { type: 'plan-executed' }>): void {
    for (const r of e.results) {
      const where = `${r.vip.address}/${r.vip.prefix} on ${r.label ?? r.vip.iface}`;
      if (!r.ok) {
        this.log.error(`hbd: takeover plan for ${e.node}: ${where}: ${r.syscall}: ${r.errno}: ${r.message}`);
        continue;
      }
      const announced = r.firstAnnounceAtMono === null ? 'not announced' : `first ${r.vip.family === 4 ? 'gratuitous ARP' : 'neighbour advertisement'} ${(r.firstAnnounceAtMono - e.deadAtMono).toFixed(3)} ms`;
      this.log.info(`hbd: takeover plan for ${e.node}: ${where} ${r.changed ? 'added' : 'already present'} ${(r.addedAtMono - e.deadAtMono).toFixed(3)} ms after the death deadline, ${announced}`);
    }
    this.executor.input({ type: 'plan-executed', node: e.node, addresses: e.results.filter((r) => r.ok && r.changed).map((r) => r.vip.address) });
  }

  private apply(actions: readonly MembershipAction[]): void {
    for (const a of actions) {
      switch (a.type) {
        case 'send':
          this.apply(this.membership.sent(a.message, this.transport.send(a.message)));
          break;
        case 'retransmit':
          this.apply(this.membership.onRetransmitResult(a.seq, a.to, this.transport.retransmit(a.seq), monoNowMs()));
          break;
        case 'set-status':
          this.transport.setStatus(a.status);
          break;
        case 'comm-up':
          this.transport.setCommUp();
          this.executor.input({ type: 'comm-up' });
          break;
        case 'mark-dead':
          this.transport.markDead(a.node);
          break;
        case 'flow-control':
          this.transport.setFlowControl(a.on);
          break;
        case 'deadtime-bump':
          this.transport.setDeadtimeBump(a.extraMs);
          break;
        case 'log':
          this.log.log(a.level as Level, a.text);
          break;
        case 'deliver':
          this.executor.input({ type: 'deliver', from: a.from, message: a.message, own: a.own, comm: a.comm });
          break;
        case 'node-status':
          this.since.set(a.node, Date.now());
          if (this.isNormalNode(a.node)) this.executor.input({ type: 'node-status', node: a.node, status: a.status, previous: a.previous, message: a.message });
          break;
        case 'peer-restart':
          this.executor.input({ type: 'peer-restart', node: a.node, oldGeneration: a.oldGeneration, generation: a.generation });
          break;
        case 'partition-healed':
          this.executor.input({ type: 'partition-healed', node: a.node });
          break;
        case 'link-status':
          // Shown by `hbd status` from membership's snapshot; serialised only when it will be logged.
          if (this.log.debugLevel >= 2) this.log.debug(2, `${a.type}: ${a.node} ${a.link} ${a.status}`);
          break;
      }
    }
    this.armMembershipTimer();
  }

  private isNormalNode(name: string): boolean {
    return this.cfg.nodes.some((n) => n.name === name);
  }

  private writeAuthFailLines(lines: readonly { level: Level; text: string }[]): void {
    for (const l of lines) this.log.log(l.level, l.text);
    if (this.authFailTimer) clearTimeout(this.authFailTimer);
    this.authFailTimer = null;
    const due = this.authFails.nextDue();
    if (due === Infinity || this.stopping) return;
    this.authFailTimer = setTimeout(() => this.writeAuthFailLines(this.authFails.flush(monoNowMs())), Math.max(0, due - monoNowMs()));
  }

  private armMembershipTimer(): void {
    if (this.membershipTimer) clearTimeout(this.membershipTimer);
    this.membershipTimer = null;
    const at = this.membership.nextTimer();
    if (at === Infinity || this.closing) return;
    this.membershipTimer = setTimeout(() => this.apply(this.membership.onTimer(monoNowMs())), Math.max(0, at - monoNowMs()));
  }
}
