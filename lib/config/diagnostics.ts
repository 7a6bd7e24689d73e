// Every configuration problem is one Diagnostic: where (file, line), how bad, what, and the fix.
// Parsers never throw for bad input; they collect these and carry on, so that one run of
// `hbd check` shows every problem of every file.

export type Severity = 'error' | 'warning' | 'note';

export interface Diagnostic {
  readonly severity: Severity;
  readonly file: string;
  /** 1-based physical line, or null when the problem is about the file as a whole. */
  readonly line: number | null;
  readonly message: string;
  readonly hint?: string;
}

/** What a parser step reports; the file is added by the Sink that collects it. */
export interface Problem {
  readonly severity: Severity;
  readonly line: number | null;
  readonly message: string;
  readonly hint?: string;
}

/** Collects diagnostics for one file. */
export class Sink {
  readonly diagnostics: Diagnostic[] = [];

  constructor(readonly file: string) {}

  add(p: Problem): void {
    const d: Diagnostic = { severity: p.severity, file: this.file, line: p.line, message: p.message };
    this.diagnostics.push(p.hint === undefined ? d : { ...d, hint: p.hint });
  }

  error(line: number | null, message: string, hint?: string): void {
    this.add({ severity: 'error', line, message, hint });
  }

  warning(line: number | null, message: string, hint?: string): void {
    this.add({ severity: 'warning', line, message, hint });
  }

  note(line: number | null, message: string, hint?: string): void {
    this.add({ severity: 'note', line, message, hint });
  }
}

export function hasErrors(ds: readonly Diagnostic[]): boolean {
  return ds.some((d) => d.severity === 'error');
}

const RANK: Readonly<Record<Severity, number>> = { error: 0, warning: 1, note: 2 };

/** Errors, then warnings, then notes; within each, the order the files and lines were read. */
export function sortDiagnostics(ds: readonly Diagnostic[]): Diagnostic[] {
  const fileOrder = new Map<string, number>();
  for (const d of ds) if (!fileOrder.has(d.file)) fileOrder.set(d.file, fileOrder.size);
  return ds
    .map((d, i) => ({ d, i }))
    .sort(
      (a, b) =>
        RANK[a.d.severity] - RANK[b.d.severity] ||
        fileOrder.get(a.d.file)! - fileOrder.get(b.d.file)! ||
        (a.d.line ?? Infinity) - (b.d.line ?? Infinity) ||
        a.i - b.i,
    )
    .map((x) => x.d);
}

/** `FILE:LINE: error: message` and, when there is one, an indented `hint:` line. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line === null ? d.file : `${d.file}:${d.line}`;
  const head = `${where}: ${d.severity}: ${d.message}`;
  return d.hint === undefined ? head : `${head}\n    hint: ${d.hint}`;
}
