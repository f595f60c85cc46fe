/**
 * Regular expressions for `match` claim rules, matched in linear time.
 *
 * Claim text is chosen by whoever holds a token, so the engines' own regex
 * matchers cannot be trusted with it: PCRE (classic njs) backtracks until its
 * match limit and throws, QuickJS's matcher has no limit and hangs the worker
 * (`^([a-z]+[._-]?)+@x` against 40 letters and a `!`). This module compiles
 * a pattern into a Thompson NFA and simulates it over the text, as RE2 does:
 * each step visits every NFA instruction at most once, so a match costs at
 * most (text length x program size) steps, whatever the text.
 *
 * The subset (anything else is refused when the rules are parsed, saying
 * what): literals; `.` (any character but a line terminator); classes
 * `[...]` and `[^...]` with ranges; `\d \w \s \D \W \S`; `\t \n \r \f \v`;
 * any other non-alphanumeric character escaped (`\.`, `\[`, `\$`, ...); the
 * anchors `^` and `$` (start and end of the whole text); groups `(...)` and
 * `(?:...)`; alternation `|`; quantifiers `* + ? {m} {m,} {m,n}` with counts
 * up to MAX_PATTERN_REPEAT (lazy forms such as `*?` are accepted and mean the
 * same: a rule only asks whether there is a match). Refused: backreferences,
 * lookahead and lookbehind, named groups, word boundaries, `\x \u \p \c`
 * escapes, a bare `{`, `}` or `]`, and patterns that compile to more than
 * MAX_PATTERN_PROGRAM instructions (counts multiply: `(a{20}){20}` is 400).
 *
 * Semantics are those of JavaScript's `RegExp.prototype.test` without flags
 * (a search, not a whole-text match unless anchored), by code point: the
 * pattern and the text are read as UTF-8, so a character outside the BMP is
 * one character on every engine (njs's classic engine has no UTF-16
 * surrogates, Node and QuickJS do), and an unpaired surrogate reads as
 * U+FFFD, as njs stores it.
 *
 * Written for the classic njs engine, where settings (and so patterns) are
 * compiled on every request and each object, call, property read or
 * charCodeAt() costs hundreds of instructions: no classes, Map or Set, no
 * RegExp, nothing built at the module's top level, typed arrays instead of
 * objects and pushes, UTF-8 bytes instead of charCodeAt().
 */

/** Largest count in `{m}`, `{m,}`, `{m,n}`. */
export const MAX_PATTERN_REPEAT = 100;
/** Largest compiled program (NFA instructions): with MAX_MATCH_BYTES it bounds a match's cost. */
export const MAX_PATTERN_PROGRAM = 256;
/** Deepest nesting of groups. */
export const MAX_PATTERN_DEPTH = 32;
/** Claim texts longer than this many bytes (UTF-8) are not examined: the rule does not hold. */
export const MAX_MATCH_BYTES = 256;

/** AST node kinds; a node is 5 numbers in the parser's `nodes`: kind, a, b, c, next sibling (-1: none). */
const enum Kind {
  /** a, b: its code points in `lits`, from a to b. */
  Literal,
  Any,
  /** a, b: its [lo, hi] pairs in `ranges`, from a to b; c: 1 when negated. */
  Class,
  Bol,
  Eol,
  /** a: the first part (-1: empty). */
  Cat,
  /** a: the first alternative. */
  Alt,
  /** a: the repeated node; b: min; c: max (-1: no bound). */
  Repeat,
}

/** Instructions: 4 numbers each in SafePattern.code (op, arg, x, y); targets are offsets into code. */
const enum Op {
  /** arg: the code point. */
  Char,
  Any,
  /** arg, y: its [lo, hi] pairs in `ranges`, from arg to y; x: 1 when negated. */
  Class,
  /** Continue at x and at y. */
  Split,
  /** Continue at x. */
  Jmp,
  Bol,
  Eol,
  Match,
}

/** A compiled pattern. */
export interface SafePattern {
  source: string;
  /** The program: op, arg, x, y per instruction. */
  code: Int32Array;
  /** Numbers of `code` in use (4 per instruction). */
  size: number;
  /** Class ranges, inclusive [lo, hi] pairs. */
  ranges: number[];
  /** Every alternative starts with `^`: only position 0 can start a match. */
  anchored: boolean;
}

/**
 * The code point starting at bytes[i] (UTF-8), and its length in bytes:
 * returned as point * 8 + length. Anything but a well-formed sequence of a
 * scalar value (a surrogate, as QuickJS encodes a lone one) is U+FFFD.
 */
function decode(bytes: Uint8Array, i: number, length: number): number {
  const b = bytes[i];
  let need: number;
  let point: number;
  let least: number;
  if (b >= 0xc2 && b <= 0xdf) {
    need = 1;
    point = b & 0x1f;
    least = 0x80;
  } else if (b >= 0xe0 && b <= 0xef) {
    need = 2;
    point = b & 0x0f;
    least = 0x800;
  } else if (b >= 0xf0 && b <= 0xf4) {
    need = 3;
    point = b & 0x07;
    least = 0x10000;
  } else return 0xfffd * 8 + 1;
  if (i + need >= length) return 0xfffd * 8 + 1;
  for (let k = 1; k <= need; k++) {
    const next = bytes[i + k];
    if (next < 0x80 || next > 0xbf) return 0xfffd * 8 + 1;
    point = point * 64 + (next & 0x3f);
  }
  if (point < least || point > 0x10ffff || (point >= 0xd800 && point <= 0xdfff)) point = 0xfffd;
  return point * 8 + need + 1;
}

/** The pattern's character at `at`, consumed. */

/**
 * Patterns compiled in this VM, by source: on the classic engine a request's
 * handlers may parse the settings more than once, and a reused QuickJS
 * context keeps them across requests. A compiled pattern is never changed.
 */
let compiled: { [key: string]: SafePattern | string } | null = null;
let compiledCount = 0;

/** The pattern compiled, or a message saying why it is refused. */
export function compilePattern(source: string): SafePattern | string {
  if (compiled === null || compiledCount >= 64) {
    compiled = {};
    compiledCount = 0;
  }
  // A prefix keeps a source such as "__proto__" from meaning anything to the object.
  const key = '#' + source;
  const known = compiled[key];
  if (known !== undefined) return known;
  const result = compileNow(source);
  compiled[key] = result;
  compiledCount++;
  return result;
}

/**
 * The parser and its state are declared inside: njs instantiates a function
 * declaration (and its closure over the names it uses) whenever its scope is
 * entered, and the module's top level is entered by every request on the
 * classic engine; here only a request that compiles a pattern pays (README,
 * "Measured costs"). The state is in locals, not an object: a property read
 * costs njs several times a variable's.
 */
function compileNow(source: string): SafePattern | string {
  const src = new TextEncoder().encode(source);
  const srcLength = src.length;
  let at = 0;
  let depth = 0;
  // Every node but a Cat or Repeat consumes a byte, and each of those follows one: 2 per byte is enough.
  const nodes = new Int32Array(5 * (2 * srcLength + 2));
  let nodeCount = 0;
  const lits = new Int32Array(srcLength);
  let litCount = 0;
  const ranges: number[] = [];
  // Most programs take about one instruction per byte of pattern; room() grows it for counts.
  let code = new Int32Array(Math.min(MAX_PATTERN_PROGRAM, srcLength + 8) * 4);
  let pc = 0;

  /** A compile error travels as a thrown plain object (Error subclasses are unreliable in njs). */
  function refuse(message: string): never {
    throw { patternError: message };
  }

  function describe(c: number): string {
    return c >= 0x21 && c <= 0x7e ? String.fromCharCode(c) : 'U+' + c.toString(16).toUpperCase();
  }

  function newNode(kind: Kind, a: number, b: number, c: number): number {
    const n = nodeCount++ * 5;
    nodes[n] = kind;
    nodes[n + 1] = a;
    nodes[n + 2] = b;
    nodes[n + 3] = c;
    nodes[n + 4] = -1;
    return n;
  }

  function nextChar(): number {
    const b = src[at];
    if (b < 0x80) {
      at++;
      return b;
    }
    const d = decode(src, at, srcLength);
    at += d & 7;
    return d >> 3;
  }

  /** Appends \d \w \s (JavaScript's sets: \s is WhiteSpace and LineTerminator) or, for D W S, their complements. */
  function pushEscapeRanges(letter: number): void {
    const lower = letter | 0x20;
    const set =
      lower === 0x64
        ? [0x30, 0x39]
        : lower === 0x77
          ? [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a]
          : [
              0x09, 0x0d, 0x20, 0x20, 0xa0, 0xa0, 0x1680, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029, 0x202f, 0x202f, 0x205f, 0x205f, 0x3000, 0x3000, 0xfeff,
              0xfeff,
            ];
    if (letter === lower) {
      for (let i = 0; i < set.length; i++) ranges.push(set[i]);
      return;
    }
    let next = 0;
    for (let i = 0; i < set.length; i += 2) {
      if (set[i] > next) ranges.push(next, set[i] - 1);
      next = set[i + 1] + 1;
    }
    ranges.push(next, 0x10ffff);
  }

  /** After a backslash: a code point, or -1 for \d \w \s \D \W \S, whose ranges it has appended. */
  function escape(): number {
    if (at >= srcLength) refuse('the pattern ends with a lone \\');
    const c = nextChar();
    if (c > 0x7f) return c;
    const lower = c | 0x20;
    if (lower === 0x64 || lower === 0x77 || lower === 0x73) {
      pushEscapeRanges(c);
      return -1;
    }
    if (c === 0x74) return 0x09; // \t
    if (c === 0x6e) return 0x0a; // \n
    if (c === 0x72) return 0x0d; // \r
    if (c === 0x66) return 0x0c; // \f
    if (c === 0x76) return 0x0b; // \v
    if (c >= 0x30 && c <= 0x39) refuse('backreferences and octal escapes (\\' + describe(c) + ') are not supported');
    if (c === 0x6b) refuse('backreferences (\\k<name>) are not supported');
    if (c === 0x62 || c === 0x42) refuse('word boundaries (\\b, \\B) are not supported');
    if (lower >= 0x61 && lower <= 0x7a) refuse('the escape \\' + describe(c) + ' is not supported');
    return c;
  }

  /** `[...]`, from just after the `[`. */
  function parseClass(): number {
    const start = ranges.length;
    let negated = 0;
    if (src[at] === 0x5e) {
      negated = 1;
      at++;
    }
    for (;;) {
      if (at >= srcLength) refuse('a class [ has no closing ]');
      let b = src[at];
      if (b === 0x5d) {
        at++;
        return newNode(Kind.Class, start, ranges.length, negated);
      }
      let first: number;
      if (b === 0x5c) {
        at++;
        first = escape();
      } else first = nextChar();
      // A range a-z: a '-' that is neither first nor last.
      if (src[at] === 0x2d && at + 1 < srcLength && src[at + 1] !== 0x5d) {
        at++;
        b = src[at];
        let last: number;
        if (b === 0x5c) {
          at++;
          last = escape();
        } else last = nextChar();
        if (first < 0 || last < 0) refuse('a class range cannot start or end with \\d, \\w or \\s');
        if (first > last) refuse('the class range ' + describe(first) + '-' + describe(last) + ' is out of order');
        ranges.push(first, last);
      } else if (first >= 0) ranges.push(first, first);
    }
  }

  /** `(...)` or `(?:...)`, from just after the `(`. */
  function parseGroup(): number {
    if (src[at] === 0x3f) {
      const next = src[at + 1];
      if (next === 0x3d || next === 0x21) refuse('lookahead (?= ) and (?! ) is not supported');
      if (next === 0x3c) {
        const after = src[at + 2];
        if (after === 0x3d || after === 0x21) refuse('lookbehind (?<= ) and (?<! ) is not supported');
        refuse('named groups (?<name> ) are not supported: use (?: ) or ( )');
      }
      if (next !== 0x3a) refuse('(? is supported only as the non-capturing group (?: )');
      at += 2;
    }
    if (++depth > MAX_PATTERN_DEPTH) refuse('groups are nested deeper than ' + MAX_PATTERN_DEPTH);
    const inner = parseAlternation();
    depth--;
    if (at >= srcLength || src[at] !== 0x29) refuse('a group ( has no closing )');
    at++;
    return inner;
  }

  /** The digits at `at` as a number, or -1 when there are none. */
  function digits(): number {
    let value = -1;
    for (;;) {
      const b = src[at];
      if (!(b >= 0x30 && b <= 0x39)) return value;
      value = value < 0 ? b - 0x30 : Math.min(value * 10 + (b - 0x30), 1000000);
      at++;
    }
  }

  function isQuantifier(b: number): boolean {
    return b === 0x2a || b === 0x2b || b === 0x3f || b === 0x7b;
  }

  /** The quantifier at `at` (there is one), consumed, as the node repeating `atom`. */
  function quantified(atom: number): number {
    const q = src[at++];
    let min = 0;
    let max = -1;
    if (q === 0x2b) min = 1;
    else if (q === 0x3f) max = 1;
    else if (q === 0x7b) {
      min = digits();
      max = min;
      if (min >= 0 && src[at] === 0x2c) {
        at++;
        max = digits();
      }
      if (min < 0 || src[at] !== 0x7d) refuse('a { must start a count {m}, {m,} or {m,n}; escape a literal one as \\{');
      at++;
      if (min > MAX_PATTERN_REPEAT || max > MAX_PATTERN_REPEAT) refuse('repetition counts above ' + MAX_PATTERN_REPEAT + ' are not supported');
      if (max >= 0 && max < min) refuse('the count {' + min + ',' + max + '} is out of order');
    }
    const kind = nodes[atom];
    if (kind === Kind.Bol || kind === Kind.Eol) refuse('an anchor ^ or $ cannot be repeated');
    // A lazy quantifier means the same here: only whether there is a match counts.
    if (src[at] === 0x3f) at++;
    if (isQuantifier(src[at])) refuse('nothing to repeat before ' + describe(src[at]));
    return newNode(Kind.Repeat, atom, min, max);
  }

  /** Parts up to `|`, `)` or the end, as a Cat node. */
  function parseSequence(): number {
    const cat = newNode(Kind.Cat, -1, 0, 0);
    let last = -1;
    /** The literal node being extended, if the last part is one. */
    let run = -1;
    let quantifier: number;
    while (at < srcLength) {
      let b = src[at];
      if ((b >= 0x30 && b <= 0x39) || ((b | 0x20) >= 0x61 && (b | 0x20) <= 0x7a)) {
        // Letters and digits not followed by a quantifier, the bulk of most patterns, without calls.
        do {
          quantifier = src[at + 1];
          if (quantifier === 0x2a || quantifier === 0x2b || quantifier === 0x3f || quantifier === 0x7b) break;
          if (run < 0) {
            run = newNode(Kind.Literal, litCount, litCount, 0);
            if (last < 0) nodes[cat + 1] = run;
            else nodes[last + 4] = run;
            last = run;
          }
          lits[litCount++] = b;
          nodes[run + 2] = litCount;
          b = src[++at];
        } while ((b >= 0x30 && b <= 0x39) || ((b | 0x20) >= 0x61 && (b | 0x20) <= 0x7a));
        if (at >= srcLength) break;
      }
      if (b === 0x7c || b === 0x29) break;
      let atom = -1;
      let literal = -1;
      at++;
      switch (b) {
        case 0x5e:
          atom = newNode(Kind.Bol, 0, 0, 0);
          break;
        case 0x24:
          atom = newNode(Kind.Eol, 0, 0, 0);
          break;
        case 0x2e:
          atom = newNode(Kind.Any, 0, 0, 0);
          break;
        case 0x28:
          atom = parseGroup();
          break;
        case 0x5b:
          atom = parseClass();
          break;
        case 0x5c: {
          const start = ranges.length;
          literal = escape();
          if (literal < 0) atom = newNode(Kind.Class, start, ranges.length, 0);
          break;
        }
        case 0x2a:
        case 0x2b:
        case 0x3f:
        case 0x7b:
          return refuse('nothing to repeat before ' + describe(b));
        case 0x7d:
        case 0x5d:
          return refuse('escape a literal ' + describe(b) + ' as \\' + describe(b));
        default:
          at--;
          literal = nextChar();
      }
      if (literal >= 0) {
        // Literal characters gather into one node, unless a quantifier applies to this one.
        if (!isQuantifier(src[at]) && run >= 0) {
          lits[litCount++] = literal;
          nodes[run + 2] = litCount;
          continue;
        }
        lits[litCount] = literal;
        atom = newNode(Kind.Literal, litCount, litCount + 1, 0);
        litCount++;
      }
      if (isQuantifier(src[at])) {
        atom = quantified(atom);
        run = -1;
      } else run = nodes[atom] === Kind.Literal ? atom : -1;
      if (last < 0) nodes[cat + 1] = atom;
      else nodes[last + 4] = atom;
      last = atom;
    }
    return cat;
  }

  /** Alternatives separated by `|`, as one node (a Cat when there is a single one). */
  function parseAlternation(): number {
    const first = parseSequence();
    if (src[at] !== 0x7c) return first;
    const alt = newNode(Kind.Alt, first, 0, 0);
    let last = first;
    while (src[at] === 0x7c) {
      at++;
      const next = parseSequence();
      nodes[last + 4] = next;
      last = next;
    }
    return alt;
  }

  /** Whether every way through node `n` starts with `^`. Conservative: false when unsure. */
  function anchoredAtStart(n: number): boolean {
    const kind = nodes[n];
    if (kind === Kind.Bol) return true;
    if (kind === Kind.Cat) return nodes[n + 1] >= 0 && anchoredAtStart(nodes[n + 1]);
    if (kind === Kind.Repeat) return nodes[n + 2] >= 1 && anchoredAtStart(nodes[n + 1]);
    if (kind !== Kind.Alt) return false;
    for (let child = nodes[n + 1]; child >= 0; child = nodes[child + 4]) if (!anchoredAtStart(child)) return false;
    return true;
  }

  function tooLarge(): never {
    return refuse('the pattern is too large: over ' + MAX_PATTERN_PROGRAM + ' instructions once counts are expanded');
  }

  /** Makes room for `more` numbers after pc: a larger program array (within MAX_PATTERN_PROGRAM), or refuses. */
  function room(more: number): void {
    if (pc + more > MAX_PATTERN_PROGRAM * 4) tooLarge();
    const larger = new Int32Array(Math.min(MAX_PATTERN_PROGRAM * 4, Math.max(code.length * 2, pc + more)));
    larger.set(code.subarray(0, pc));
    code = larger;
  }

  /** Appends an instruction; returns its offset. */
  function op(o: Op, arg: number, x: number, y: number): number {
    const here = pc;
    if (here >= code.length) room(4);
    code[here] = o;
    code[here + 1] = arg;
    code[here + 2] = x;
    code[here + 3] = y;
    pc = here + 4;
    return here;
  }

  function emit(n: number): void {
    const kind = nodes[n];
    switch (kind) {
      case Kind.Literal: {
        const end = nodes[n + 2];
        if (pc + (end - nodes[n + 1]) * 4 > code.length) room((end - nodes[n + 1]) * 4);
        for (let i = nodes[n + 1]; i < end; i++) {
          code[pc] = Op.Char;
          code[pc + 1] = lits[i];
          pc += 4;
        }
        return;
      }
      case Kind.Any:
        op(Op.Any, 0, 0, 0);
        return;
      case Kind.Class:
        op(Op.Class, nodes[n + 1], nodes[n + 3], nodes[n + 2]);
        return;
      case Kind.Bol:
        op(Op.Bol, 0, 0, 0);
        return;
      case Kind.Eol:
        op(Op.Eol, 0, 0, 0);
        return;
      case Kind.Cat:
        for (let child = nodes[n + 1]; child >= 0; child = nodes[child + 4]) emit(child);
        return;
      case Kind.Alt: {
        // Split(this, next alternative) this Jmp(end) ... last; the jumps are chained through their x until the end is known.
        let jumps = -1;
        let child = nodes[n + 1];
        for (; nodes[child + 4] >= 0; child = nodes[child + 4]) {
          const split = op(Op.Split, 0, pc + 4, 0);
          emit(child);
          jumps = op(Op.Jmp, 0, jumps, 0);
          code[split + 3] = pc;
        }
        emit(child);
        while (jumps >= 0) {
          const previous = code[jumps + 2];
          code[jumps + 2] = pc;
          jumps = previous;
        }
        return;
      }
      default: {
        const body = nodes[n + 1];
        const min = nodes[n + 2];
        const max = nodes[n + 3];
        // x{m,}: m-1 copies, then a loop that runs at least once; x*: a loop that may run 0 times.
        const copies = max < 0 && min > 0 ? min - 1 : min;
        for (let i = 0; i < copies; i++) emit(body);
        if (max < 0) {
          if (min > 0) {
            const start = pc;
            emit(body);
            op(Op.Split, 0, start, pc + 4);
          } else {
            const split = op(Op.Split, 0, pc + 4, 0);
            emit(body);
            op(Op.Jmp, 0, split, 0);
            code[split + 3] = pc;
          }
          return;
        }
        // x{m,n}: n-m optional copies, each able to skip to the end (chained through y until it is known).
        let skips = -1;
        for (let i = min; i < max; i++) {
          skips = op(Op.Split, 0, pc + 4, skips);
          emit(body);
        }
        while (skips >= 0) {
          const previous = code[skips + 3];
          code[skips + 3] = pc;
          skips = previous;
        }
      }
    }
  }

  try {
    const tree = parseAlternation();
    if (at < srcLength) refuse('a ) has no opening (');
    emit(tree);
    op(Op.Match, 0, 0, 0);
    return { source, code, size: pc, ranges, anchored: anchoredAtStart(tree) };
  } catch (e) {
    const message = e !== null && typeof e === 'object' ? (e as { patternError?: string }).patternError : undefined;
    return message || 'not a regular expression of the supported subset';
  }
}

/**
 * Whether the pattern matches somewhere in `text` (RegExp test()). Texts over
 * MAX_MATCH_BYTES bytes never match. At most (bytes x instructions) steps of a
 * few comparisons each, in one function (calls are dear in njs).
 */
export function patternMatches(p: SafePattern, text: string): boolean {
  // Every character takes at least one byte: a long text is refused before it is encoded.
  if (text.length > MAX_MATCH_BYTES) return false;
  const bytes = new TextEncoder().encode(text);
  const length = bytes.length;
  if (length > MAX_MATCH_BYTES) return false;
  const code = p.code;
  const classes = p.ranges;
  const anchored = p.anchored;
  const size = p.size;
  /** The generation (step) at which an instruction was last put in a list, by offset. */
  const mark = new Int32Array(size);
  /** Instructions still to follow at the current position: at most 1 start + 1 per instruction + 2 per Split. */
  const stack = new Int32Array(size + 4);
  /** The instructions that read a character, at the current position and the next. */
  let current = new Int32Array(size >> 2);
  let next = new Int32Array(size >> 2);
  let swap = current;
  let count = 0;
  let top = 0;
  let gen = 1;
  let i = 0;
  // Declared once here, not in the loops: a let or const inside a loop body costs njs a new binding each time round.
  let at: number;
  let o: number;
  let c: number;
  let width: number;
  let dot: boolean;
  let added: number;
  let t: number;
  let k: number;
  let end: number;
  let inside: number;
  for (;;) {
    // Everything reachable from the stacked instructions (and from the start) without reading.
    if (i === 0 || !anchored) stack[top++] = 0;
    while (top > 0) {
      at = stack[--top];
      if (mark[at] === gen) continue;
      mark[at] = gen;
      o = code[at];
      if (o <= Op.Class) current[count++] = at;
      else if (o === Op.Split) {
        stack[top++] = code[at + 3];
        stack[top++] = code[at + 2];
      } else if (o === Op.Jmp) stack[top++] = code[at + 2];
      else if (o === Op.Match) return true;
      else if (o === Op.Bol ? i === 0 : i === length) stack[top++] = at + 4;
    }
    if (i >= length || (count === 0 && anchored)) return false;
    c = bytes[i];
    width = 1;
    if (c >= 0x80) {
      c = decode(bytes, i, length);
      width = c & 7;
      c = c >> 3;
    }
    gen++;
    dot = c !== 0x0a && c !== 0x0d && c !== 0x2028 && c !== 0x2029;
    added = 0;
    for (t = 0; t < count; t++) {
      at = current[t];
      o = code[at];
      if (o === Op.Char) {
        if (code[at + 1] !== c) continue;
      } else if (o === Op.Any) {
        if (!dot) continue;
      } else {
        inside = 0;
        for (k = code[at + 1], end = code[at + 3]; k < end; k += 2) {
          if (c >= classes[k] && c <= classes[k + 1]) {
            inside = 1;
            break;
          }
        }
        if (inside === code[at + 2]) continue;
      }
      at += 4;
      if (code[at] <= Op.Class) {
        // The common case: the next instruction reads a character too.
        if (mark[at] !== gen) {
          mark[at] = gen;
          next[added++] = at;
        }
      } else stack[top++] = at;
    }
    swap = current;
    current = next;
    next = swap;
    count = added;
    i += width;
  }
}
