import type { Level } from './levels';

/**
 * One log line: `2026-11-25T04:40:12.345Z n2 hbd[1234]: WARN: node n1: is dead`.
 * ISO 8601 UTC with milliseconds instead of heartbeat's second-resolution local time: failure
 * detection here is measured in milliseconds, and the logs must show it. The text after the
 * level is heartbeat's own message wherever heartbeat has one.
 */
export function formatLine(atMs: number, node: string, pid: number, level: Level, message: string): string {
  return `${new Date(atMs).toISOString()} ${node} hbd[${pid}]: ${level}: ${message}`;
}

/** heartbeat truncates messages at 5119 bytes; so do we, so one runaway value cannot flood a log. */
export const MAX_MESSAGE_BYTES = 5119;

export function clampMessage(message: string): string {
  if (Buffer.byteLength(message) <= MAX_MESSAGE_BYTES) return message;
  return Buffer.from(message).subarray(0, MAX_MESSAGE_BYTES).toString('utf8').replace(/\uFFFD$/, '');
}
