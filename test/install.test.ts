// The package as a user installs it: packaging/install-test.sh packs a clean copy of the tree
// and installs the tarball into throw-away prefixes (prebuilt addon without a compiler, then from
// source), checking hbd --version, hbd check on the README tutorial, man -w and install-service.
// Plus install-service's own refusals, against this checkout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { TUTORIAL, writeConfigDir } from './support/cluster-files';

const ROOT = path.resolve(__dirname, '..', '..');
const HBD = path.join(ROOT, 'bin', 'hbd');

function missingTools(): string | false {
  if (process.env.CI === 'true') return false;
  const need = ['npm', 'git', 'man', 'g++', 'make', 'python3'];
  const missing = need.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
  if (missing.length) return `needs ${missing.join(', ')}`;
  if (!fs.existsSync(path.join(ROOT, '.git'))) return 'needs a git checkout (the tarball is packed from git ls-files)';
  return false;
}

test('npm pack, then npm install -g --prefix of the tarball: prebuilt without a compiler, and from source', { skip: missingTools(), timeout: 15 * 60_000 }, () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hbd-install-'));
  try {
    const config = writeConfigDir(path.join(work, 'ha.d'), TUTORIAL);
    const r = spawnSync(path.join(ROOT, 'packaging', 'install-test.sh'), [config, path.join(work, 'run')], { encoding: 'utf8', timeout: 14 * 60_000 });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /== install test passed \(.*hbd-\d+\.\d+\.\d+\.tgz, hbd \d+\.\d+\.\d+\)\n$/);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

function hbd(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [HBD, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('install-service writes the unit and the init script for this hbd, and keeps a file that differs', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hbd-image-'));
  try {
    const unit = path.join(root, 'etc/systemd/system/hbd.service');
    const r = hbd(['install-service', '--root', root]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `installed ${unit} (runs ${HBD})\nnext: hbd check, then systemctl enable --now hbd\n`);
    const text = fs.readFileSync(unit, 'utf8');
    assert.match(text, new RegExp(`^ExecStart=${HBD} start --no-stderr$`, 'm'));
    assert.match(text, new RegExp(`^ExecStop=${HBD} stop$`, 'm'));
    assert.doesNotMatch(text, /\/usr\/local\/sbin\/hbd/);
    assert.equal(hbd(['install-service', '--root', root]).status, 0, 'the same file again is fine');

    fs.appendFileSync(unit, '# local change\n');
    const differs = hbd(['install-service', '--root', root]);
    assert.equal(differs.status, 1);
    assert.equal(differs.stderr, `hbd install-service: ${unit} exists and differs: give --force to replace it\n`);
    assert.equal(hbd(['install-service', '--root', root, '--force']).status, 0);

    const init = hbd(['install-service', '--init', '--root', root]);
    assert.equal(init.status, 0, init.stderr);
    const script = path.join(root, 'etc/init.d/hbd');
    assert.equal(fs.statSync(script).mode & 0o777, 0o755);
    assert.match(fs.readFileSync(script, 'utf8'), new RegExp(`^HBD=${HBD}$`, 'm'));

    const missing = hbd(['install-service', '--root', root, '--hbd', path.join(root, 'nope')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /nope does not exist: give the installed hbd with --hbd PATH/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
