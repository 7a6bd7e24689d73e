// `npm run man`: (re)writes the man pages in man/ from the program and the directive table.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { manPages } from './pages';

const dir = path.resolve(__dirname, '..', '..', '..', 'man');
fs.mkdirSync(dir, { recursive: true });
for (const p of manPages()) {
  fs.writeFileSync(path.join(dir, p.file), p.text);
  process.stdout.write(`wrote ${path.join('man', p.file)}\n`);
}
