// Just enough roff for man(7) pages: escaping, and `code` spans as bold.

/** Escapes text for a roff text line: backslashes, minus signs, a leading control character. */
export function esc(text: string): string {
  return text.replace(/\\/g, '\\e').replace(/-/g, '\\-').replace(/^([.'])/gm, '\\&$1');
}

/** Text with `code` spans set in bold. */
export function prose(text: string): string {
  return text
    .split(/(`[^`]+`)/)
    .map((part) => (part.startsWith('`') && part.endsWith('`') && part.length > 1 ? `\\fB${esc(part.slice(1, -1))}\\fR` : esc(part)))
    .join('');
}

/** A block printed as is (help texts, examples). */
export function verbatim(text: string): string {
  return ['.PP', '.nf', '.RS 4', ...text.replace(/\n+$/, '').split('\n').map((l) => esc(l) || '\\&'), '.RE', '.fi'].join('\n');
}

export function header(name: string, section: number, title: string, version: string, manual: string): string {
  return [`.TH ${name.toUpperCase().replace(/-/g, '\\-')} ${section} "" "hbd ${version}" "${manual}"`, '.SH NAME', `${esc(name)} \\- ${esc(title)}`].join('\n');
}

export function section(title: string, ...body: string[]): string {
  return [`.SH ${title.toUpperCase()}`, ...body].join('\n');
}

export function para(text: string): string {
  return `.PP\n${prose(text)}`;
}

/** A tagged paragraph: `tag` in bold, then the body. */
export function item(tag: string, ...body: string[]): string {
  return ['.TP', tag, ...body.map((b, i) => (i === 0 ? prose(b) : `.br\n${prose(b)}`))].join('\n');
}

export function bold(s: string): string {
  return `\\fB${esc(s)}\\fR`;
}

export function italic(s: string): string {
  return `\\fI${esc(s)}\\fR`;
}
