// Command-line options of the detection benchmark: pure, so every refusal is tested.
import * as path from 'node:path';

export interface Options {
  /** Trials per 1s/3s cell (and per baseline cell). */
  readonly trials: number;
  /** Trials per 10ms/50ms cell: cheap, so twice as many, for a p99 that is not just the maximum. */
  readonly fastTrials: number;
  /** Pairs running at once in a 1s/3s cell (10ms/50ms cells always run one pair alone). */
  readonly pairs: number;
  readonly soakMin: number;
  /** Length of the 2ms/10ms native soak (the hardest timing), minutes. */
  readonly fastSoakMin: number;
  readonly searchMin: number;
  readonly quick: boolean;
  readonly out: string;
  /** Only the parts whose label matches (cells, 'soak', 'search'); null: everything. */
  readonly only: RegExp | null;
}

export const USAGE = `usage: node dist/bench/detection/run.js [options]   (as root: it builds network namespaces)
  --trials N       trials per 1s/3s cell and baseline cell (default 50); 10ms/50ms cells run 2N
  --pairs P        pairs measuring at once in a 1s/3s cell, each in its own lab (default 4)
  --soak-min M     length of the 10ms/50ms native soak, minutes (default 10)
  --fast-soak-min M  length of the 2ms/10ms native soak, with the wake probe beside it, minutes (default 10)
  --search-min M   length of each soak of the smallest-timing search, minutes (default 1)
  --quick          a ~3 minute run: --trials 8 --soak-min 0.25 --fast-soak-min 0.25 --search-min 0.1, output detection-quick.json
  --only REGEX     run only the parts whose label matches, e.g. 'native 10ms' or 'soak|search'
  --out FILE       where the JSON goes (default bench/results/detection.json)`;

export class UsageError extends Error {}

export function parseOptions(argv: readonly string[], repoRoot: string): Options {
  const quick = argv.includes('--quick');
  let trials = quick ? 8 : 50;
  let pairs = 4;
  let soakMin = quick ? 0.25 : 10;
  let fastSoakMin = quick ? 0.25 : 10;
  let searchMin = quick ? 0.1 : 1;
  let out = path.join(repoRoot, 'bench', 'results', quick ? 'detection-quick.json' : 'detection.json');
  let only: RegExp | null = null;
  const number = (flag: string, value: string | undefined, min: number, max: number, integer: boolean): number => {
    const n = Number(value);
    if (value === undefined || value.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new UsageError(`${flag} needs ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(value ?? null)}\n${USAGE}`);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '--quick') continue;
    const value = argv[i + 1];
    i++;
    switch (flag) {
      case '--trials':
        trials = number(flag, value, 1, 10_000, true);
        break;
      case '--pairs':
        pairs = number(flag, value, 1, 16, true);
        break;
      case '--soak-min':
        soakMin = number(flag, value, 0, 600, false);
        break;
      case '--fast-soak-min':
        fastSoakMin = number(flag, value, 0, 600, false);
        break;
      case '--search-min':
        searchMin = number(flag, value, 0, 60, false);
        break;
      case '--out':
        if (!value) throw new UsageError(`--out needs a file name\n${USAGE}`);
        out = path.resolve(value);
        break;
      case '--only':
        try {
          only = new RegExp(value ?? '');
        } catch (e) {
          throw new UsageError(`--only needs a regular expression: ${(e as Error).message}\n${USAGE}`);
        }
        if (!value) throw new UsageError(`--only needs a regular expression\n${USAGE}`);
        break;
      default:
        throw new UsageError(`unknown option ${JSON.stringify(flag)}\n${USAGE}`);
    }
  }
  return { trials, fastTrials: 2 * trials, pairs, soakMin, fastSoakMin, searchMin, quick, out, only };
}

export function selected(o: Pick<Options, 'only'>, label: string): boolean {
  return o.only === null || o.only.test(label);
}
