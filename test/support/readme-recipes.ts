/**
 * The README's recipes as runnable nginx config. Each recipe in README.md is a
 * ```nginx block right after a marker `<!-- recipe: NAME PLACE -->`, where
 * PLACE is the context the block belongs in: `main`, `http` or `server`.
 * Recipes are written for an installed gateway (`/etc/nginx/jwt/`, an
 * upstream called `backend`); runnable() maps those names onto the repository
 * and the test prefix, and composeConfig() puts every block into one
 * nginx.conf template for test/support/nginx.ts (${PREFIX}, ${ROOT}, ${BUNDLE},
 * ${NJS_MODULE}, ${PORT}, ${ECHO_PORT}).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './nginx';
import { gatewayConfig } from './gateway';

export type Place = 'main' | 'http' | 'server';

const PLACES: Place[] = ['main', 'http', 'server'];

export interface Recipe {
  name: string;
  place: Place;
  /** The block as written in the README, without the fences. */
  body: string;
  /** 1-based line of the marker in the README, for error messages. */
  line: number;
}

export const README = path.join(ROOT, 'README.md');
export const SNIPPET_DIR = path.join(ROOT, 'nginx');

const MARKER = /^\s*<!--\s*recipe:\s*(.*?)\s*-->\s*$/;

/** Every recipe of a Markdown text, in order. Throws on a malformed marker, a marker without an nginx block, or a NAME PLACE given twice. */
export function parseRecipes(markdown: string, origin = 'README.md'): Recipe[] {
  const lines = markdown.split(/\r?\n/);
  const recipes: Recipe[] = [];
  for (let i = 0; i < lines.length; i++) {
    const marker = MARKER.exec(lines[i]);
    if (!marker) continue;
    const where = origin + ':' + (i + 1);
    const words = marker[1].split(/\s+/);
    if (words.length !== 2 || !/^[a-z0-9][a-z0-9-]*$/.test(words[0]) || PLACES.indexOf(words[1] as Place) < 0) {
      throw new Error(where + ': recipe marker must be `<!-- recipe: NAME PLACE -->` with PLACE main, http or server, got "' + marker[1] + '"');
    }
    let start = i + 1;
    while (start < lines.length && lines[start].trim() === '') start++;
    if (start >= lines.length || lines[start].trim() !== '```nginx') {
      throw new Error(where + ': recipe "' + marker[1] + '" is not followed by a ```nginx block');
    }
    let end = start + 1;
    while (end < lines.length && lines[end].trim() !== '```') end++;
    if (end >= lines.length) throw new Error(where + ': the ```nginx block of recipe "' + marker[1] + '" is never closed');
    const recipe: Recipe = { name: words[0], place: words[1] as Place, body: lines.slice(start + 1, end).join('\n'), line: i + 1 };
    const twin = recipes.find((r) => r.name === recipe.name && r.place === recipe.place);
    if (twin) throw new Error(where + ': recipe "' + marker[1] + '" is also at line ' + twin.line);
    recipes.push(recipe);
    i = end;
  }
  return recipes;
}

/** The recipes of the repository's README.md. */
export function readmeRecipes(file = README): Recipe[] {
  return parseRecipes(readFileSync(file, 'utf8'), path.basename(file));
}

/** One recipe by name and place; throws (naming what exists) when the README lacks it. */
export function getRecipe(recipes: Recipe[], name: string, place: Place): Recipe {
  const found = recipes.find((r) => r.name === name && r.place === place);
  if (!found) {
    throw new Error('README.md has no recipe "' + name + ' ' + place + '" (it has: ' + recipes.map((r) => r.name + ' ' + r.place).join(', ') + ')');
  }
  return found;
}

/**
 * A recipe's text with installed paths mapped for the test run:
 *   /etc/nginx/jwt/FILE  -> ${ROOT}/nginx/FILE when the repository ships that snippet,
 *                           ${BUNDLE} for jwt-gateway.js,
 *                           ${PREFIX}/FILE otherwise (consumers.json, revoked.json, generated rate limits);
 *   /var/log/nginx/      -> ${PREFIX}/logs/
 *   http://backend       -> http://echo_upstream
 */
export function runnable(text: string, snippetDir = SNIPPET_DIR): string {
  return text
    .replace(/\/etc\/nginx\/jwt\/([A-Za-z0-9._-]+)/g, (whole, file: string) => {
      if (file === 'jwt-gateway.js') return '${BUNDLE}';
      return existsSync(path.join(snippetDir, file)) ? '${ROOT}/nginx/' + file : '${PREFIX}/' + file;
    })
    .replace(/\/var\/log\/nginx\//g, '${PREFIX}/logs/')
    .replace(/http:\/\/backend(?![A-Za-z0-9_.-])/g, 'http://echo_upstream');
}

/** The locations a server-level text defines, as "modifier path" (e.g. "/hidden/", "= /errors/401.json"). */
export function locationsOf(text: string): string[] {
  const found: string[] = [];
  const pattern = /(?:^|[;{}\s])location\s+(?:(=|\^~|~\*|~)\s*)?("[^"]*"|'[^']*'|[^\s{]+)\s*\{/g;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(text)) !== null) found.push((match[1] ? match[1] + ' ' : '') + match[2]);
  return found;
}

export interface Extras {
  /** Test-only blocks, per place, added after the recipes (each is also mapped by runnable()). */
  main?: string[];
  http?: string[];
  server?: string[];
}

function section(items: { label: string; text: string }[]): string {
  return items.map((item) => '# --- ' + item.label + '\n' + runnable(item.text)).join('\n\n');
}

/**
 * One nginx.conf template running the given recipes (and extras) together:
 * main-place blocks in the main context, http-place blocks in http, and every
 * server-place block in one server on ${PORT}, in front of the echo upstream
 * on ${ECHO_PORT}, in the frame all integration tests share (gatewayConfig).
 * Throws when two blocks define the same location.
 */
export function composeConfig(recipes: Recipe[], extras: Extras = {}): string {
  const pick = (place: Place) => [
    ...recipes
      .filter((r) => r.place === place)
      .map((r) => ({ label: 'README recipe: ' + r.name + ' ' + r.place + ' (README.md:' + r.line + ')', text: r.body })),
    ...(extras[place] ?? []).map((text) => ({ label: 'test extra (not from the README)', text })),
  ];
  const owners: { [location: string]: string } = {};
  for (const item of pick('server')) {
    for (const location of locationsOf(item.text)) {
      if (owners[location]) throw new Error('location ' + location + ' is defined twice: by ' + owners[location] + ' and by ' + item.label);
      owners[location] = item.label;
    }
  }
  return gatewayConfig({
    main: section(pick('main')),
    workerConnections: 1024,
    http: section(pick('http')),
    server: section(pick('server')),
  });
}
