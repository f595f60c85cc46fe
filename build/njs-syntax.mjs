// The syntax gate for code that runs in the classic njs engine (0.7.9).
// esbuild's `supported` table fails the build on most syntax njs lacks and
// lowers what it can (`?.`, `{...o}`, `||=`), but it passes some through
// untouched (a spread in a call, `f(...a)`), so the bundle is also parsed and
// walked: any construct njs cannot run fails the build with its location.
import * as acorn from 'acorn';
import * as walk from 'acorn-walk';

export const njsSyntax = {
  target: 'es2017',
  supported: {
    class: false,
    destructuring: false,
    'for-of': false,
    'default-argument': false,
    'array-spread': false,
    'rest-argument': true,
    generator: false,
    'async-generator': false,
    'for-await': false,
    'optional-catch-binding': false,
    'optional-chain': false,
    'logical-assignment': false,
    'object-rest-spread': false,
    'class-field': false,
    'class-static-field': false,
    'class-private-field': false,
    'top-level-await': false,
    bigint: false,
    'regexp-named-capture-groups': false,
    'regexp-lookbehind-assertions': false,
    'regexp-sticky-and-unicode-flags': false,
  },
  platform: 'neutral',
  external: ['fs', 'crypto'],
  bundle: true,
  charset: 'ascii',
  logLevel: 'error',
};

const FORBIDDEN = {
  SpreadElement: 'spread (`f(...a)`, `[...a]`)',
  ForOfStatement: '`for...of`',
  ClassDeclaration: '`class`',
  ClassExpression: '`class`',
  ObjectPattern: 'destructuring',
  ArrayPattern: 'destructuring',
  AssignmentPattern: 'default values',
  ChainExpression: '`?.`',
  YieldExpression: 'generators',
};

/**
 * The same rules as ESLint selectors for the source (eslint.config.mjs):
 * [selector, what]. The bundle walk below is the last word; the linter says
 * it earlier, in the editor, at the source line.
 */
export const njsForbiddenSelectors = [
  ...Object.keys(FORBIDDEN).map((type) => [type, FORBIDDEN[type]]),
  ['FunctionDeclaration[generator=true], FunctionExpression[generator=true]', 'generators'],
  ['CatchClause[param=null]', '`catch` without a binding'],
];

/** Constructs in `code` that the classic njs engine rejects, as "file:line:column: what" lines. */
export function njsSyntaxProblems(code, file) {
  const ast = acorn.parse(code, { ecmaVersion: 'latest', sourceType: 'module', locations: true });
  const problems = [];
  const report = (node, what) => problems.push(`${file}:${node.loc.start.line}:${node.loc.start.column + 1}: ${what} is not supported by njs 0.7.9`);
  walk.full(ast, (node) => {
    if (FORBIDDEN[node.type]) report(node, FORBIDDEN[node.type]);
    else if ((node.type === 'FunctionDeclaration' || node.type === 'FunctionExpression') && node.generator) report(node, 'generators');
    else if (node.type === 'CatchClause' && !node.param) report(node, '`catch` without a binding');
  });
  return problems;
}
