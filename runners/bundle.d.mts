import type { BuildOptions, Plugin } from 'esbuild';

export function runnerBuildOptions(options?: { outdir?: string; plugins?: Plugin[] }): BuildOptions;

export function buildAgentProgram(): Promise<string>;
