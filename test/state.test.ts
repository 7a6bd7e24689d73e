import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { formatGeneration, nextGeneration, parseGeneration } from '../lib/state/generation';
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
