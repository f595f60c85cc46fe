/**
 * The one argument parser of the command line and the dev tools (bench,
 * soak, fuzz): Node's util.parseArgs (`--name value` and `--name=value`,
 * options before or after the files), plus whole numbers checked against a
 * range, and one way out of a bad command line: what is wrong and the usage
 * on stderr, exit 2. With `help`, `--help` / `-h` prints the usage and exits 0.
 */
import { parseArgs } from 'node:util';

export type OptionSpec =
  | { type: 'boolean' }
  | { type: 'string' }
  /** A string option given any number of times (`--claim a=1 --claim b=2`). */
  | { type: 'strings' }
  /** A whole number from `min` to `max`; `unit` words the error ("of seconds"). */
  | { type: 'number'; min: number; max: number; unit?: string };

type Values<S> = {
  [K in keyof S]?: S[K] extends { type: 'boolean' } ? boolean : S[K] extends { type: 'string' } ? string : S[K] extends { type: 'strings' } ? string[] : number;
};

export interface CommandLine<S> {
  values: Values<S>;
  positionals: string[];
}

/** The message (if any) and the usage on stderr, exit 2. */
export function usageError(usage: string, message?: string): never {
  process.stderr.write((message ? message + '\n' : '') + usage + '\n');
  process.exit(2);
}

export function parseCommandLine<S extends { [name: string]: OptionSpec }>(
  argv: string[],
  usage: string,
  spec: S,
  settings: { positionals?: boolean; help?: boolean } = {},
): CommandLine<S> {
  const options: { [name: string]: { type: 'boolean' | 'string'; short?: string; multiple?: boolean } } = {};
  for (const name of Object.keys(spec)) options[name] = { type: spec[name].type === 'boolean' ? 'boolean' : 'string', multiple: spec[name].type === 'strings' };
  if (settings.help) options.help = { type: 'boolean', short: 'h' };
  let parsed: { values: { [name: string]: string | boolean | (string | boolean)[] | undefined }; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: settings.positionals ?? false, strict: true });
  } catch (e) {
    return usageError(usage, (e as Error).message);
  }
  if (settings.help && parsed.values.help) {
    process.stdout.write(usage + '\n');
    process.exit(0);
  }
  const values: { [name: string]: string | boolean | number | string[] } = {};
  for (const name of Object.keys(spec)) {
    const option = spec[name];
    const value = parsed.values[name];
    if (value === undefined) continue;
    if (option.type === 'number') {
      const text = value as string;
      if (!/^[0-9]+$/.test(text) || Number(text) < option.min || Number(text) > option.max) {
        usageError(usage, `--${name} needs a whole number${option.unit ? ' of ' + option.unit : ''} from ${option.min} to ${option.max}`);
      }
      values[name] = Number(text);
    } else if (option.type === 'string' && value === '') {
      usageError(usage, `--${name} needs a value`);
    } else {
      values[name] = value as string | boolean | string[];
    }
  }
  return { values: values as Values<S>, positionals: parsed.positionals };
}
