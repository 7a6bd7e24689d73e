import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { claimPidFile } from '../lib/daemon';
import { formatGeneration, nextGeneration, parseGeneration } from '../lib/state/generation';
import { ensurePrivateDir, RUN_DIR_MODE, STATE_DIR_MODE } from '../lib/state/private-dir';
import { GlibcRand } from '../lib/state/glibc-rand';
import { formatUuid, loadOrCreateUuid, uuidFromNodename } from '../lib/state/uuid';

function withDir(fn: (dir: string) => void): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbd-state-'));
  try {
    fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('generation file uses heartbeat\'s 15-column format and grows at every start', () => {
  assert.equal(formatGeneration(7), '              7\n');
  assert.equal(parseGeneration('              7\n'), 7);
  assert.equal(parseGeneration('seven'), null);
  withDir((dir) => {
    const first = nextGeneration(dir, 'file', 1_700_000_000);
    assert.equal(first.generation, 1_700_000_001);
    assert.match(first.warning ?? '', /No generation file/);
    const second = nextGeneration(dir, 'file', 5);
    assert.equal(second.generation, 1_700_000_002);
    assert.equal(second.warning, null);
    assert.equal(fs.readFileSync(path.join(dir, 'hb_generation'), 'latin1'), formatGeneration(1_700_000_002));
    fs.writeFileSync(path.join(dir, 'hb_generation'), 'garbage');
    assert.match(nextGeneration(dir, 'file', 10).warning ?? '', /does not hold a generation number/);
  });
  assert.deepEqual(nextGeneration('/nonexistent', 'time', 42), { generation: 42, warning: null });
});

test('uuid is created once, kept, and a corrupt file is an error naming it', () => {
  withDir((dir) => {
    const a = loadOrCreateUuid(dir, 'file', 'n1');
    assert.equal(a.uuid.length, 16);
    assert.equal(a.note, 'No uuid found for current node - generating a new uuid.');
    const b = loadOrCreateUuid(dir, 'file', 'n1');
    assert.deepEqual(b.uuid, a.uuid);
    assert.equal(b.note, null);
    assert.equal(fs.statSync(path.join(dir, 'hb_uuid')).mode & 0o777, 0o600);
    fs.writeFileSync(path.join(dir, 'hb_uuid'), 'short');
    assert.throws(() => loadOrCreateUuid(dir, 'file', 'n1'), /hb_uuid holds 5 bytes, expected a 16-byte UUID/);
  });
});

test('glibc rand() is reproduced (values from glibc 2.36 srand/rand)', () => {
  const g = new GlibcRand(12345);
  assert.deepEqual([g.next(), g.next(), g.next()], [383100999, 858300821, 357768173]);
  assert.equal(new GlibcRand(0).next(), 1804289383); // srand(0) behaves as srand(1)
  const long = new GlibcRand(1);
  for (let i = 0; i < 10_000; i++) long.next();
  assert.ok(long.next() >= 0);
});

test('uuidfrom nodename is deterministic and name-dependent', () => {
  const a = uuidFromNodename('alice');
  assert.equal(a.length, 16);
  assert.deepEqual(uuidFromNodename('alice'), a);
  assert.notDeepEqual(uuidFromNodename('bob'), a);
  assert.match(formatUuid(a), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
});

test('state files are 0600 whatever the umask, and a symlink at the temporary name is not followed', () => {
  withDir((dir) => {
    const old = process.umask(0);
    try {
      const state = path.join(dir, 'state');
      nextGeneration(state, 'file', 1);
      loadOrCreateUuid(state, 'file', 'n1');
      assert.equal(fs.statSync(state).mode & 0o777, STATE_DIR_MODE);
      for (const f of ['hb_generation', 'hb_uuid']) assert.equal(fs.statSync(path.join(state, f)).mode & 0o777, 0o600, f);
      const victim = path.join(dir, 'victim');
      fs.writeFileSync(victim, 'untouched');
      fs.symlinkSync(victim, path.join(state, `hb_generation.tmp${process.pid}`));
      nextGeneration(state, 'file', 1);
      assert.equal(fs.readFileSync(victim, 'latin1'), 'untouched');
    } finally {
      process.umask(old);
    }
  });
});

test('the state and run directories: created with their modes, refused when others can write them', () => {
  withDir((dir) => {
    const state = path.join(dir, 'a', 'state');
    ensurePrivateDir(state, STATE_DIR_MODE, 'state');
    assert.equal(fs.statSync(state).mode & 0o777, 0o700);
    const run = path.join(dir, 'run');
    ensurePrivateDir(run, RUN_DIR_MODE, 'run');
    assert.equal(fs.statSync(run).mode & 0o777, 0o755);
    fs.chmodSync(run, 0o777);
    assert.throws(() => ensurePrivateDir(run, RUN_DIR_MODE, 'run'), new RegExp(`the run directory ${run} is writable by its group \\(mode 0777\\).*chmod go-w ${run}`));
    fs.chmodSync(run, 0o757);
    assert.throws(() => ensurePrivateDir(run, RUN_DIR_MODE, 'run'), /writable by others/);
    fs.symlinkSync(state, path.join(dir, 'link'));
    assert.throws(() => ensurePrivateDir(path.join(dir, 'link'), STATE_DIR_MODE, 'state'), /is a symbolic link/);
    if (process.geteuid?.() === 0) {
      const theirs = path.join(dir, 'theirs');
      fs.mkdirSync(theirs, { mode: 0o700 });
      fs.chownSync(theirs, 65534, 65534);
      assert.throws(() => ensurePrivateDir(theirs, STATE_DIR_MODE, 'state'), /belongs to uid 65534, not to hbd's uid 0: chown 0/);
    }
  });
});

test('the pid file: 0644 whatever the umask, replaced when stale, a planted symlink is not followed', () => {
  withDir((dir) => {
    const old = process.umask(0o077);
    try {
      const run = path.join(dir, 'run');
      const file = claimPidFile(run);
      assert.equal(fs.statSync(file).mode & 0o777, 0o644);
      assert.equal(fs.readFileSync(file, 'latin1'), `${process.pid}\n`);
      const victim = path.join(dir, 'victim');
      fs.writeFileSync(victim, 'untouched');
      fs.rmSync(file);
      fs.symlinkSync(victim, file);
      claimPidFile(run);
      assert.equal(fs.readFileSync(victim, 'latin1'), 'untouched');
      assert.equal(fs.lstatSync(file).isFile(), true);
    } finally {
      process.umask(old);
    }
  });
});
