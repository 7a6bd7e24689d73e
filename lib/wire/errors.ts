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
