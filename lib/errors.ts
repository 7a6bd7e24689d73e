// Small helpers so that every error shown to an operator names errno and syscall.

/** `ENOENT`, `EACCES`, … or the message when the error carries no code. */
export function errnoName(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return typeof err?.code === 'string' ? err.code : String(err?.message ?? e);
}

/** "open /etc/ha.d/authkeys: EACCES" */
export function describeErrno(e: unknown, syscall: string, path?: string): string {
  return `${syscall}${path ? ' ' + path : ''}: ${errnoName(e)}`;
}
