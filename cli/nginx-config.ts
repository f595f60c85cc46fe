/**
 * Reads nginx configuration the way nginx does (src/core/ngx_conf_file.c),
 * for `jwt-gateway check`: a tokenizer (quotes, backslash escapes, `#`
 * comments, `${var}` braces, blocks), then `include` resolved as nginx
 * resolves it: a relative path against the configuration prefix (the
 * directory of the main nginx.conf, whatever file holds the include), a
 * path with `*`, `?` or `[` as a glob whose matches are read in sorted
 * order (none is fine), any other missing file an error. Node-side only;
 * nothing here goes into the njs bundle.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface Directive {
  name: string;
  /** Arguments as nginx sees them: quotes removed, escapes applied. */
  args: string[];
  file: string;
  /** 1-based line of the directive's name. */
  line: number;
  /** The `{ ... }` block, for block directives (http, server, location, if, map...). */
  block?: Directive[];
  /** For `include`: the directives of every file it read, in order. */
  included?: Directive[];
}

export interface SyntaxProblem {
  file: string;
  line: number;
  message: string;
}

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

/** A token's text as nginx stores it: \" \' \\ lose the backslash, \t \r \n become the character; any other backslash stays. */
function unescape(raw: string): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === '\\' && i + 1 < raw.length) {
      const next = raw[i + 1];
      if (next === '"' || next === "'" || next === '\\') {
        out += next;
        i++;
        continue;
      }
      if (next === 't' || next === 'r' || next === 'n') {
        out += next === 't' ? '\t' : next === 'r' ? '\r' : '\n';
        i++;
        continue;
      }
    }
    out += c;
  }
  return out;
}

interface Frame {
  directives: Directive[];
  /** The block directive that opened it (for "unexpected end of file" messages). */
  opener: Directive | null;
}

/**
 * The directives of one file's text, or the first syntax error nginx would
 * report (with its line). Follows ngx_conf_read_token: a token starts after
 * white space; `#` there starts a comment; `"` or `'` a quoted token, which
 * must be followed by white space, `;` or `{`; an unquoted token ends at
 * white space, `;` or `{` (not at `}`, and `{` right after `$` is part of
 * it, as in `${name}`); a backslash takes the next character literally.
 */
export function parseConfig(text: string, file: string): { directives: Directive[] } | SyntaxProblem {
  const root: Frame = { directives: [], opener: null };
  const stack: Frame[] = [root];
  let words: string[] = [];
  let wordsLine = 0;
  let line = 1;
  let i = 0;
  const problem = (message: string, at = line): SyntaxProblem => ({ file, line: at, message });

  const finish = (withBlock: boolean): SyntaxProblem | null => {
    if (words.length === 0) return problem('unexpected "' + (withBlock ? '{' : ';') + '"');
    const directive: Directive = { name: words[0], args: words.slice(1), file, line: wordsLine };
    stack[stack.length - 1].directives.push(directive);
    if (withBlock) {
      directive.block = [];
      stack.push({ directives: directive.block, opener: directive });
    }
    words = [];
    return null;
  };

  while (i < text.length) {
    const c = text[i];
    if (c === '\n') line++;
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (c === ';' || c === '{') {
      const failed = finish(c === '{');
      if (failed) return failed;
      i++;
      continue;
    }
    if (c === '}') {
      if (words.length) return problem('unexpected "}"');
      if (stack.length === 1) return problem('unexpected "}"');
      stack.pop();
      i++;
      continue;
    }
    // A token starts here.
    if (words.length === 0) wordsLine = line;
    if (c === '"' || c === "'") {
      const startLine = line;
      let j = i + 1;
      let raw = '';
      while (j < text.length && text[j] !== c) {
        if (text[j] === '\\' && j + 1 < text.length) {
          if (text[j + 1] === '\n') line++;
          raw += text[j] + text[j + 1];
          j += 2;
          continue;
        }
        if (text[j] === '\n') line++;
        raw += text[j];
        j++;
      }
      if (j >= text.length) return problem('unexpected end of file, expecting the closing ' + c + ' of the string that starts here', startLine);
      words.push(unescape(raw));
      i = j + 1;
      const after = text[i];
      if (after !== undefined && !isSpace(after) && after !== ';' && after !== '{' && after !== ')') return problem('unexpected "' + after + '"');
      continue;
    }
    let j = i;
    let raw = '';
    let variable = false;
    while (j < text.length) {
      const d = text[j];
      if (d === '{' && variable) {
        raw += d;
        j++;
        continue;
      }
      variable = false;
      if (d === '\\' && j + 1 < text.length) {
        if (text[j + 1] === '\n') line++;
        raw += d + text[j + 1];
        j += 2;
        continue;
      }
      if (d === '$') variable = true;
      if (isSpace(d) || d === ';' || d === '{') break;
      raw += d;
      j++;
    }
    words.push(unescape(raw));
    i = j;
  }
  if (words.length) return problem('unexpected end of file, expecting ";" or "}"');
  if (stack.length > 1) {
    const opener = stack[stack.length - 1].opener!;
    return problem('unexpected end of file, expecting "}" (the block of "' + opener.name + '" at line ' + opener.line + ' is not closed)');
  }
  return { directives: root.directives };
}

/** A glob segment (`*`, `?`, `[...]`, `[!...]`) as a regular expression, as glob(3) reads it. */
function segmentPattern(segment: string): RegExp {
  let source = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i];
    if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const close = segment.indexOf(']', i + 2);
      if (close < 0) {
        source += '\\[';
        continue;
      }
      let body = segment.slice(i + 1, close);
      if (body.startsWith('!')) body = '^' + body.slice(1);
      source += '[' + body.replace(/\\/g, '\\\\') + ']';
      i = close;
    } else source += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp('^' + source + '$');
}

const GLOB = /[*?[]/;

/** The files a glob pattern matches, sorted as glob(3) sorts them; a leading dot is matched only by a pattern that starts with one. */
export function expandGlob(pattern: string): string[] {
  const absolute = path.resolve(pattern);
  const segments = absolute.split(path.sep).filter((segment) => segment !== '');
  let found = [path.parse(absolute).root];
  for (let s = 0; s < segments.length; s++) {
    const segment = segments[s];
    const next: string[] = [];
    for (const dir of found) {
      if (!GLOB.test(segment)) {
        next.push(path.join(dir, segment));
        continue;
      }
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      const matcher = segmentPattern(segment);
      for (const name of names.sort()) if ((segment.startsWith('.') || !name.startsWith('.')) && matcher.test(name)) next.push(path.join(dir, name));
    }
    found = next;
  }
  return found.filter((file) => {
    try {
      return statSync(file).isFile();
    } catch {
      return false;
    }
  });
}

export interface LoadedConfig {
  directives: Directive[];
  problems: SyntaxProblem[];
  /** Every file read, the main one first. */
  files: string[];
}

const MAX_INCLUDE_DEPTH = 32;

/**
 * The main file with every `include` read into the directive's `included`.
 * `confDir` is nginx's configuration prefix: relative includes resolve
 * against it (nginx uses the directory of the file given with -c).
 */
export function loadConfig(file: string, confDir: string): LoadedConfig {
  const loaded: LoadedConfig = { directives: [], problems: [], files: [] };

  function read(target: string, chain: string[]): Directive[] {
    let text: string;
    try {
      text = readFileSync(target, 'utf8');
    } catch (e) {
      loaded.problems.push({ file: chain.length ? chain[chain.length - 1] : target, line: 0, message: target + ': cannot be read: ' + (e as Error).message });
      return [];
    }
    loaded.files.push(target);
    const parsed = parseConfig(text, target);
    if ('message' in parsed) {
      loaded.problems.push(parsed);
      return [];
    }
    resolveIncludes(parsed.directives, chain.concat(target));
    return parsed.directives;
  }

  function resolveIncludes(directives: Directive[], chain: string[]): void {
    for (const directive of directives) {
      if (directive.block) resolveIncludes(directive.block, chain);
      if (directive.name !== 'include') continue;
      directive.included = [];
      if (directive.args.length !== 1) {
        loaded.problems.push({ file: directive.file, line: directive.line, message: 'include: expects one file name, got ' + directive.args.length });
        continue;
      }
      const target = path.resolve(confDir, directive.args[0]);
      const targets = GLOB.test(target) ? expandGlob(target) : [target];
      for (const one of targets) {
        if (chain.includes(one) || chain.length > MAX_INCLUDE_DEPTH) {
          loaded.problems.push({
            file: directive.file,
            line: directive.line,
            message:
              'include ' +
              directive.args[0] +
              ': includes itself (' +
              chain
                .concat(one)
                .map((f) => path.basename(f))
                .join(' -> ') +
              ')',
          });
          continue;
        }
        if (!GLOB.test(target)) {
          try {
            statSync(one);
          } catch (e) {
            loaded.problems.push({
              file: directive.file,
              line: directive.line,
              message: 'include ' + directive.args[0] + ': ' + one + ' cannot be read (' + (e as NodeJS.ErrnoException).code + '); nginx -t fails too',
            });
            continue;
          }
        }
        directive.included.push(...read(one, chain));
      }
    }
  }

  loaded.directives = read(path.resolve(file), []);
  return loaded;
}

/** The directives of a block as nginx applies them: each `include` replaced by what it read. */
export function effective(directives: Directive[]): Directive[] {
  const out: Directive[] = [];
  for (const directive of directives) {
    if (directive.name === 'include' && directive.included) out.push(...effective(directive.included));
    else out.push(directive);
  }
  return out;
}
