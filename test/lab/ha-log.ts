// Reading an hbd node's ha-log in lab tests: the node writes it to <logs>/ha-log.
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { LabNode } from './lab';

export function haLogPath(node: LabNode): string {
  return path.join(node.dirs.logs, 'ha-log');
}

/** The node's ha-log so far ('' before the daemon wrote it). */
export function logOf(node: LabNode): string {
  try {
    return fs.readFileSync(haLogPath(node), 'utf8');
  } catch {
    return '';
  }
}

/** The ms timestamp of the first log line matching re (log lines start with ISO time). */
export function lineTime(node: LabNode, re: RegExp): number | null {
  const line = logOf(node).split('\n').find((l) => re.test(l));
  return line ? Date.parse(line.slice(0, 24)) : null;
}
