import type { DecodeErrorCode } from './types';

/**
 * The only exception a decoder may throw for bad input. `offset` is the byte position
 * in the packet where the problem was found (for `hbd decode` and logs).
 */
export class DecodeError extends Error {
  readonly code: DecodeErrorCode;
  readonly offset: number;

  constructor(code: DecodeErrorCode, offset: number, detail: string) {
    super(`${code} at byte ${offset}: ${detail}`);
    this.name = 'DecodeError';
    this.code = code;
    this.offset = offset;
  }
}

/**
 * A message the chosen wire format cannot carry faithfully (e.g. a classic string containing
 * NUL, an empty name, a message over MAXMSG). `path` names the field, e.g. "info" or "cib.x".
 */
export class EncodeError extends Error {
  readonly path: string;

  constructor(path: string, detail: string) {
    super(path ? `cannot encode field ${path}: ${detail}` : `cannot encode message: ${detail}`);
    this.name = 'EncodeError';
    this.path = path;
  }
}
