// Heartbeat's fixed wire limits and markers (spec §3), shared by both encodings.

/** Largest encoded message, GLUE include/clplumbing/ipc.h MAXMSG (256 KiB). */
export const MAXMSG = 256 * 1024;

/** Struct nesting limit (ha_msg.h MAXDEPTH): a struct field may sit at depth 0..15. */
export const MAXDEPTH = 16;

/** Classic: `\n` inside string values is sent as this byte (SPECIAL_SYM). */
export const NEWLINE_SYM = 0x13;

/** Classic: newlines of a nested struct at depth d are sent as NESTED_NEWLINE_SYMS[d]. */
export const NESTED_NEWLINE_SYMS: readonly number[] = [20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 15, 16, 17, 18];

export const CLASSIC_START = Buffer.from('>>>\n', 'latin1');
export const CLASSIC_END = Buffer.from('<<<\n', 'latin1');
export const NETSTRING_START = Buffer.from('###\n', 'latin1');
export const NETSTRING_END = Buffer.from('%%%\n', 'latin1');

/** The name of the classic in-message signature field (F_AUTH). */
export const AUTH_FIELD = 'auth';
