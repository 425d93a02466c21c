/**
 * The lexical layer of the Rules language: a cursor over the expression that the parser drives by
 * context (an IP literal, a string and a regular expression are read differently), as Cloudflare's
 * wirefilter does (github.com/cloudflare/wirefilter, engine/src/lex.rs, rhs_types/bytes.rs,
 * rhs_types/regex/mod.rs).
 *
 * Strings follow "Values" in Cloudflare's Rules language reference
 * (developers.cloudflare.com/ruleset-engine/rules-language/values/):
 * - quoted `"…"`: escapes `\"`, `\\`, `\xHH` (two hex digits) and `\ooo` (three octal digits) are
 *   bytes; any other escape is an error. The bytes are decoded as UTF-8 (Cloudflare compares bytes;
 *   we compare JavaScript strings, so `"\xC3\xA9"` equals `"é"` as it does there).
 * - raw `r"…"`, `r#"…"#` … up to 255 `#`: no escapes at all.
 * - a quoted regular expression keeps every escape but `\"` (outside a character class) for the
 *   regex engine, and a `"` inside `[…]` does not end it (wirefilter's `lex_regex_from_literal`).
 */

/** Why an expression was refused: `offset` is a character (UTF-16 code unit) index into it. */
export interface RuleError {
  /** Where the problem starts, 0-based. */
  readonly offset: number;
  /** The token found there (at most 24 characters); "" at the end of the expression. */
  readonly token: string;
  /** What was wrong or expected there. */
  readonly message: string;
}

/** Thrown inside the parser only; `compileCondition` turns it into a returned `RuleError`. */
export class RuleSyntaxError extends Error implements RuleError {
  readonly offset: number;
  readonly token: string;
  constructor(src: string, offset: number, message: string) {
    const token = tokenAt(src, offset);
    super(`${message} at offset ${offset}${token ? ` ("${token}")` : ' (end of expression)'}`);
    this.offset = offset;
    this.token = token;
    this.message = message;
  }
}

/** The token at `offset`: a string literal, `[*]`, an escape, a name, number or IP literal, else one character. */
const TOKEN = /^(?:"(?:[^"\\]|\\.)*"?|r#*"[^"]*"?#*|\[\*\]|\\.|[A-Za-z0-9_.:/$-]+|\S)/;
function tokenAt(src: string, offset: number): string {
  return TOKEN.exec(src.slice(offset))?.[0].slice(0, 24) ?? '';
}

const SPACE = /[ \t\r\n]/;
const IDENT = /[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*/y;
const WORD_CHAR = /[A-Za-z0-9_]/;
const IP_CHARS = /[0-9A-Fa-f:.]+(?:\/[0-9]+)?/y;
const INT = /-?[0-9]+/y;
const MAX_RAW_HASHES = 255;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export class Scanner {
  readonly src: string;
  pos = 0;
  constructor(src: string) {
    this.src = src;
  }

  fail(message: string, at = this.pos): never {
    throw new RuleSyntaxError(this.src, at, message);
  }

  /** Skips spaces; returns the position of the next token. */
  space(): number {
    while (this.pos < this.src.length && SPACE.test(this.src[this.pos]!)) this.pos++;
    return this.pos;
  }

  get done(): boolean {
    return this.space() >= this.src.length;
  }

  /** Consumes `text` if it comes next (after spaces). */
  eat(text: string): boolean {
    this.space();
    if (!this.src.startsWith(text, this.pos)) return false;
    this.pos += text.length;
    return true;
  }

  /** Consumes the word `word` if it comes next and is not the start of a longer name. */
  eatWord(word: string): boolean {
    this.space();
    if (!this.src.startsWith(word, this.pos) || WORD_CHAR.test(this.src[this.pos + word.length] ?? '')) return false;
    this.pos += word.length;
    return true;
  }

  expect(text: string, what = `"${text}"`): void {
    if (!this.eat(text)) this.fail(`expected ${what}`);
  }

  /** A field or function name (`http.request.uri.path`, `lower`), or undefined when none comes next. */
  name(): string | undefined {
    return this.match(IDENT);
  }

  /** A decimal integer (safe range), or undefined when none comes next. */
  int(): number | undefined {
    const at = this.space();
    const text = this.match(INT);
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isSafeInteger(n)) this.fail('integer out of range', at);
    return n;
  }

  /** The text of an IP address, CIDR or range element (`192.0.2.0/24`, `2001:db8::1`, `a..b`). */
  ipText(): string | undefined {
    return this.match(IP_CHARS);
  }

  private match(re: RegExp): string | undefined {
    re.lastIndex = this.space();
    const m = re.exec(this.src);
    if (!m) return undefined;
    this.pos += m[0].length;
    return m[0];
  }

  /** Whether a string literal (quoted or raw) starts here. */
  atString(): boolean {
    this.space();
    const c = this.src[this.pos];
    return c === '"' || (c === 'r' && /^r#*"/.test(this.src.slice(this.pos, this.pos + MAX_RAW_HASHES + 2)));
  }

  /** A quoted or raw string literal; fails when none comes next. */
  string(): string {
    if (!this.atString()) this.fail('expected a string ("…" or r"…")');
    return this.src[this.pos] === 'r' ? this.raw() : this.quoted();
  }

  /** A regular expression as a quoted or raw string (see the module comment for the escapes). */
  regex(): string {
    if (!this.atString()) this.fail('expected a regular expression ("…" or r"…")');
    if (this.src[this.pos] === 'r') return this.raw();
    const start = this.pos;
    let out = '';
    let inClass = false;
    for (let i = start + 1; i < this.src.length; i++) {
      const c = this.src[i]!;
      if (c === '\\' && i + 1 < this.src.length) {
        const next = this.src[++i]!;
        out += inClass || next !== '"' ? `\\${next}` : '"';
      } else if (c === '"' && !inClass) {
        this.pos = i + 1;
        return out;
      } else {
        if (c === '[' && !inClass) inClass = true;
        else if (c === ']' && inClass) inClass = false;
        out += c;
      }
    }
    return this.fail('unterminated string: missing the closing "', start);
  }

  private quoted(): string {
    const start = this.pos;
    const bytes: number[] = [];
    let run = start + 1;
    const flush = (end: number) => {
      for (const b of utf8.encode(this.src.slice(run, end))) bytes.push(b);
    };
    for (let i = start + 1; i < this.src.length; i++) {
      const c = this.src[i];
      if (c === '"') {
        flush(i);
        this.pos = i + 1;
        return fromUtf8.decode(new Uint8Array(bytes));
      }
      if (c !== '\\') continue;
      flush(i);
      const e = this.src[i + 1];
      if (e === '"' || e === '\\') (bytes.push(e.charCodeAt(0)), (i += 1));
      else if (e === 'x' && /^[0-9A-Fa-f]{2}$/.test(this.src.slice(i + 2, i + 4))) (bytes.push(parseInt(this.src.slice(i + 2, i + 4), 16)), (i += 3));
      else if (e !== undefined && /^[0-7]{3}$/.test(this.src.slice(i + 1, i + 4)) && parseInt(this.src.slice(i + 1, i + 4), 8) < 256)
        (bytes.push(parseInt(this.src.slice(i + 1, i + 4), 8)), (i += 3));
      else if (e === undefined) break;
      else this.fail('invalid escape: use \\", \\\\, \\xHH or \\ooo (or a raw string r"…")', i);
      run = i + 1;
    }
    return this.fail('unterminated string: missing the closing "', start);
  }

  private raw(): string {
    const start = this.pos;
    let hashes = 0;
    while (this.src[start + 1 + hashes] === '#') hashes++;
    if (hashes > MAX_RAW_HASHES) this.fail(`a raw string takes at most ${MAX_RAW_HASHES} "#"`, start);
    const close = `"${'#'.repeat(hashes)}`;
    const body = start + 2 + hashes;
    const end = this.src.indexOf(close, body);
    if (end < 0) this.fail(`unterminated raw string: missing the closing ${close}`, start);
    this.pos = end + close.length;
    return this.src.slice(body, end);
  }
}
