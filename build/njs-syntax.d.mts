import type { BuildOptions } from 'esbuild';

export declare const njsSyntax: BuildOptions;
export declare function njsSyntaxProblems(code: string, file: string): string[];
