// The man pages are generated (lib/man/pages.ts) from the program and the directive table; the
// committed copies in man/ must be exactly what the generator makes now, so they cannot drift.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { buildProgram } from '../lib/cli/main';
import { DIRECTIVES } from '../lib/config/directives';
import { DIRECTIVE_DOCS } from '../lib/man/directive-docs';
import { manPages } from '../lib/man/pages';

const ROOT = path.resolve(__dirname, '..', '..');
const PACKAGE = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { man: string[]; files: string[] };

/** The text from `start` up to the next line that starts an entry, subsection or section. */
function sliceFrom(page: string, start: string): string | null {
  const at = page.indexOf(start);
  if (at < 0) return null;
  const rest = page.slice(at + start.length);
  const end = rest.search(/\n\.(TP|SS|SH)\b/);
  return start + (end < 0 ? rest : rest.slice(0, end));
}

test('the committed man pages are what the generator makes (run `npm run man` after changing a command or a directive)', () => {
  for (const p of manPages()) {
    assert.equal(fs.readFileSync(path.join(ROOT, 'man', p.file), 'utf8'), p.text, `man/${p.file} is stale: run npm run man`);
  }
});

test('package.json installs every page', () => {
  assert.deepEqual(PACKAGE.man, manPages().map((p) => `man/${p.file}`));
  assert.ok(PACKAGE.files.includes('man'));
});

test('ha.cf(5) documents exactly the directives of the table, each with its verdict', () => {
  assert.deepEqual(Object.keys(DIRECTIVE_DOCS).sort(), DIRECTIVES.map((d) => d.name).sort());
  const page = manPages().find((p) => p.file === 'ha.cf.5')!.text;
  for (const d of DIRECTIVES) {
    const raw = sliceFrom(page, `.TP\n\\fB${d.name}\\fR `);
    assert.ok(raw, `ha.cf.5 has an entry for ${d.name}`);
    const entry = raw.replace(/\\-/g, '-').replace(/\n\.br\n/g, ' ');
    const disp = d.disposition;
    if (disp.kind === 'honoured') assert.match(entry, /Accepted\./, d.name);
    if (disp.kind === 'extension') assert.match(entry, /an hbd extension/, d.name);
    if (disp.kind === 'no-effect') assert.ok(entry.includes(`without effect in hbd: ${disp.why}`), d.name);
    if (disp.kind === 'unsupported') assert.ok(entry.includes(`Refused: ${d.name} ${disp.reason}; ${disp.instead}`), `${d.name}: ${entry}`);
    if (d.defaultValue !== null) assert.ok(entry.includes(`Default: ${d.defaultValue}.`), d.name);
  }
});

test('hbd(8) lists every subcommand with every option it takes', () => {
  const page = manPages().find((p) => p.file === 'hbd.8')!.text.replace(/\\-/g, '-');
  for (const c of buildProgram().commands.filter((c) => c.name() !== 'help')) {
    for (const leaf of c.commands.length ? c.commands : [c]) {
      const name = leaf === c ? c.name() : `${c.name()} ${leaf.name()}`;
      const sect = sliceFrom(page, `.SS "hbd ${name}"`);
      assert.ok(sect, `hbd.8 has a section for ${name}`);
      for (const o of leaf.options) assert.ok(sect.includes(o.flags), `${name}: ${o.flags}`);
    }
  }
  for (const s of ['.SH EXIT STATUS', '.SH ENVIRONMENT', '.SH FILES', '.SH SIGNALS', 'HBD_TRANSPORT', 'SIGHUP']) assert.ok(page.includes(s), s);
});

test('every page renders without a groff warning', { skip: fs.existsSync('/usr/bin/man') ? false : 'man (man-db) is not installed' }, () => {
  for (const p of manPages()) {
    const r = spawnSync('man', ['--warnings', '-l', path.join(ROOT, 'man', p.file)], { encoding: 'utf8', env: { ...process.env, MANWIDTH: '80', MANPAGER: 'cat', PAGER: 'cat' } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '', `${p.file}: ${r.stderr}`);
    assert.ok(r.stdout.length > 500, p.file);
  }
});
