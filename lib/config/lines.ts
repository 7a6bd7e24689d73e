// Physical lines of a configuration file, as heartbeat's fgets() loops see them.
import type { Sink } from './diagnostics';

/** heartbeat reads lines into MAXLINE (5120) byte buffers; a longer line is split silently. */
export const MAX_LINE_BYTES = 5119;

export interface PhysicalLine {
  /** 1-based. */
  readonly line: number;
  /** Without the trailing LF (a CR, if any, is kept: each parser treats it as heartbeat does). */
  readonly text: string;
}

/**
 * Splits on LF. Lines that C code would misread — with a NUL byte (the C string ends there) or
 * longer than heartbeat's buffer — are reported as errors and left out.
 */
export function physicalLines(text: string, sink: Sink): PhysicalLine[] {
  const out: PhysicalLine[] = [];
  text.split('\n').forEach((t, i) => {
    const line = i + 1;
    if (t.includes('\0')) {
      sink.error(line, 'line contains a NUL byte (heartbeat stops reading the line there)', 'this looks like a binary file; remove the NUL bytes');
    } else if (Buffer.byteLength(t) > MAX_LINE_BYTES) {
      sink.error(line, `line is longer than ${MAX_LINE_BYTES} bytes (heartbeat would split it in two)`, 'shorten the line');
    } else {
      out.push({ line, text: t });
    }
  });
  return out;
}
