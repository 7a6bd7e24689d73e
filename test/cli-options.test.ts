// The README's table of which subcommand takes which common option is checked against the
// program itself, so the documentation cannot promise an option a command refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { buildProgram } from '../lib/cli/main';

const README = path.resolve(__dirname, '..', '..', 'README.md');
const COMMON = ['--config-dir', '--node', '--state-dir', '--run-dir'];

function readmeTable(): Map<string, string[]> {
  const text = fs.readFileSync(README, 'utf8');
  const at = text.indexOf('<!-- common-options:');
  assert.ok(at >= 0, 'README has the common-options table');
  const rows = new Map<string, string[]>();
  for (const line of text.slice(at).split('\n').slice(3)) {
    if (!line.startsWith('|')) break;
    const [cmds, opts] = line.split('|').slice(1, 3).map((c) => [...c.matchAll(/`([^`]+)`/g)].map((m) => m[1]));
    for (const c of cmds) rows.set(c, opts);
  }
  return rows;
}

test('every subcommand is in the README table with exactly the common options it accepts', () => {
  const table = readmeTable();
  const program = buildProgram();
  // A command with subcommands (`export pacemaker`) is listed by its full name.
  const leaves = program.commands.filter((c) => c.name() !== 'help').flatMap((c) => (c.commands.length ? c.commands.map((s) => ({ name: `${c.name()} ${s.name()}`, cmd: s })) : [{ name: c.name(), cmd: c }]));
  assert.deepEqual([...table.keys()].sort(), leaves.map((l) => l.name).sort());
  for (const { name, cmd } of leaves) {
    const accepted = cmd.options.map((o) => o.long).filter((l): l is string => l !== undefined && COMMON.includes(l));
    assert.deepEqual(accepted.sort(), [...table.get(name)!].sort(), name);
  }
});
