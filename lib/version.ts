import * as fs from 'node:fs';
import * as path from 'node:path';

let cached: string | null = null;

/** hbd's version, from package.json (read once). */
export function version(): string {
  cached ??= (JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  return cached;
}
