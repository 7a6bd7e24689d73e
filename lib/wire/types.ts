// Shared wire-level types: one message model for both codecs (lib/wire and native/).
// A heartbeat message is an ordered list of typed fields (spec §2); order and raw bytes
// are kept exactly so that re-encoding reproduces the signed bytes.

export type AuthMethod = 'crc' | 'md5' | 'sha1' | 'sha256';

/** Field type digits as they appear on the wire, `(d)name=value` (spec §2). */
export const FT_STRING = 0;
export const FT_BINARY = 1;
export const FT_STRUCT = 2;
export const FT_LIST = 3;
export const FT_COMPRESS = 4;

export type Field =
  | { readonly name: string; readonly type: typeof FT_STRING; readonly value: Buffer }
  | { readonly name: string; readonly type: typeof FT_BINARY; readonly value: Buffer }
  | { readonly name: string; readonly type: typeof FT_STRUCT; readonly value: readonly Field[] }
  | { readonly name: string; readonly type: typeof FT_LIST; readonly value: readonly Buffer[] }
  | { readonly name: string; readonly type: typeof FT_COMPRESS; readonly value: Buffer };

export type Message = readonly Field[];

/** One usable authkeys index. `key` is the key token's bytes (empty for crc). */
export interface AuthKey {
  readonly index: number;
  readonly method: AuthMethod;
  readonly key: Buffer;
}

/** What the codecs need from authkeys: the index we sign with and every index we accept. */
export interface AuthKeys {
  readonly sendIndex: number;
  readonly keys: readonly AuthKey[];
}

/**
 * What goes on the wire (ha.cf `msgfmt`, spec §3.3):
 * - 'netstring+auth': netstring framing + trailer, and the classic inner `auth` field
 *   (Debian's heartbeat 3.0.6 with cluster-glue ≥ 1.0.10 for `msgfmt classic`; hbd's default);
 * - 'netstring': netstring + trailer, no inner `auth` (`msgfmt netstring`);
 * - 'classic': `>>>` text with inner `auth` and a trailing NUL (cluster-glue ≤ 1.0.9).
 */
export type WireFormat = 'netstring+auth' | 'netstring' | 'classic';

/** Outcome of checking a received packet's signature (the `hbd decode` verdicts). */
export type AuthVerdict =
  | { readonly verdict: 'ok'; readonly index: number; readonly method: AuthMethod }
  | { readonly verdict: 'bad-signature'; readonly index: number; readonly method: AuthMethod }
  | { readonly verdict: 'unknown-key-index'; readonly index: number }
  | { readonly verdict: 'unsigned' }
  | { readonly verdict: 'unverified' };

/**
 * Why a packet could not be decoded. Both codecs use exactly these codes, so that the
 * shared vectors and the differential tests can compare them.
 */
export type DecodeErrorCode =
  | 'empty' // zero-length datagram
  | 'bad-magic' // neither ">>>\n" nor "###\n" at the start
  | 'bad-field' // a field without '=' or with an empty name, or stray bytes between fields
  | 'bad-type' // "(d)" prefix missing, not one digit, or a digit heartbeat rejects
  | 'bad-netstring' // length not decimal, too long, or missing its ',' terminator
  | 'bad-base64' // a binary/compressed field whose classic text is not canonical base64
  | 'bad-trailer' // netstring auth trailer present but not "<len>:<n> <token>,"
  | 'truncated' // the packet ends before the end marker
  | 'too-large' // over heartbeat's MAXMSG (256 KiB)
  | 'too-deep'; // nested structs beyond heartbeat's 16 depth levels

export interface DecodeResult {
  readonly format: 'classic' | 'netstring';
  readonly message: Message;
  readonly auth: AuthVerdict;
}
