#!/usr/bin/env node
/*
 * Builds runners/dist/keel-runner.mjs: the runner and its dependencies in one ES module,
 * so a runner starts without the TypeScript loader and keeps less code in memory.
 * Native addons stay outside (node-pty; ssh2's optional crypto addon and cpu-features, for which
 * it falls back to node:crypto), and so do the parts of dockerode that it loads eagerly
 * but the runner never uses (see `deferred`). The file agent's program (runners/src/files/agent)
 * is built first and embedded as text (see `agentProgramText`).
 *   node runners/bundle.mjs
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;

/**
 * Modules that dockerode loads at start but needs only for features the runner does not
 * use: ssh:// engines (docker-modem's agent, and ssh2 with it) and BuildKit sessions
 * (gRPC and protobuf). Each is replaced by a stub that loads the real one on first call.
 */
const deferred = [
  { importer: '/docker-modem/lib/', request: './ssh', real: 'docker-modem/lib/ssh.js' },
  { importer: '/dockerode/lib/', request: './session', real: 'dockerode/lib/session.js' },
];

const deferLoading = {
  name: 'defer-loading',
  setup(b) {
    b.onResolve({ filter: /^\.\/(ssh|session)$/ }, (args) => {
      const hit = deferred.find((d) => d.request === args.path && args.importer.includes(d.importer));
      return hit ? { path: hit.real, namespace: 'keel-deferred' } : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'keel-deferred' }, (args) => ({
      contents: `module.exports = (...args) => require(${JSON.stringify(args.path)})(...args);`,
      loader: 'js',
    }));
  },
};

/**
 * The file agent that remote drivers run inside a workspace: its program and the confined file
 * layer in one script for the workspace image's Node (18), as the text its loader runs. The
 * runner's sources call this on first use (runners/src/files/agent/program-text.ts); the bundle
 * carries its result.
 */
export async function buildAgentProgram() {
  const result = await build({
    absWorkingDir: root,
    entryPoints: ['runners/src/files/agent/program.ts'],
    bundle: true,
    write: false,
    platform: 'node',
    // The loader wraps the text in a function that receives `require`.
    format: 'cjs',
    target: 'node18',
    minify: true,
    legalComments: 'none',
    plugins: [agentStatusStub],
    logLevel: 'warning',
  });
  return result.outputFiles[0].text;
}

/**
 * The agent answers error codes, never HTTP statuses: the status table (and the contract's zod
 * schemas behind it) stays out of its program, which travels to the workspace at every start.
 */
const agentStatusStub = {
  name: 'agent-status-stub',
  setup(b) {
    b.onResolve({ filter: /^@keel\/contract\/runner-errors$/ }, () => ({
      path: 'runner-errors',
      namespace: 'keel-agent-stub',
    }));
    b.onLoad({ filter: /.*/, namespace: 'keel-agent-stub' }, () => ({
      contents: 'export const fileErrorStatus = () => 0;',
      loader: 'js',
    }));
  },
};

/** Puts the agent's program, built once per build, in place of the module that builds it on demand. */
const agentProgramText = {
  name: 'agent-program-text',
  setup(b) {
    let text;
    b.onLoad({ filter: /[\\/]runners[\\/]src[\\/]files[\\/]agent[\\/]program-text\.ts$/ }, async () => {
      text ??= await buildAgentProgram();
      return {
        contents: `export function agentProgram() { return Promise.resolve(${JSON.stringify(text)}); }`,
        loader: 'js',
      };
    });
  },
};

/**
 * The sandbox spawner (runners/src/workloads/spawner) is an entry of its own, dist/keel-spawner.mjs,
 * which the runner starts with plain Node: this replaces the module that names its program.
 */
const spawnerProgramFile = {
  name: 'spawner-program-file',
  setup(b) {
    b.onLoad({ filter: /[\\/]runners[\\/]src[\\/]workloads[\\/]spawner[\\/]program\.ts$/ }, () => ({
      // import.meta.url is the file this lands in: an entry in dist/, or a chunk in dist/chunks/.
      contents: `import { fileURLToPath } from 'node:url';
export function spawnerProgram() {
  const here = new URL('.', import.meta.url);
  const dist = here.pathname.endsWith('/chunks/') ? new URL('..', here) : here;
  return { script: fileURLToPath(new URL('keel-spawner.mjs', dist)), execArgv: [] };
}`,
      loader: 'js',
    }));
  },
};

/** The build of the runner; `outdir` and `plugins` let a test build a variant of it elsewhere. */
export function runnerBuildOptions({ outdir = 'runners/dist', plugins = [] } = {}) {
  return {
    absWorkingDir: root,
    entryPoints: {
      'keel-runner': 'runners/src/main.ts',
      'keel-spawner': 'runners/src/workloads/spawner/main.ts',
    },
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    // The SSH and Kubernetes clients, imported only when a server needs them, go to chunks of
    // their own: a runner with no servers never reads them (its memory stays as before them).
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    target: 'node20',
    sourcemap: 'linked',
    // ssh2 tries its optional native crypto binding in a try/catch and falls back to
    // node:crypto; a bundle cannot carry a .node file, so the fallback is what runs.
    external: ['node-pty', 'cpu-features', '*.node', ...deferred.map((d) => d.real)],
    // Bundled CommonJS dependencies call require(); an ES module has none of its own.
    banner: {
      // …and some read __dirname as they load (ssh2's agent.js, for a Windows helper's path).
      js: "import { createRequire as keelCreateRequire } from 'node:module'; import { fileURLToPath as keelFileURLToPath } from 'node:url'; const require = keelCreateRequire(import.meta.url); const __filename = keelFileURLToPath(import.meta.url); const __dirname = keelFileURLToPath(new URL('.', import.meta.url));",
    },
    plugins: [...plugins, deferLoading, agentProgramText, spawnerProgramFile],
    logLevel: 'warning',
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = await build(runnerBuildOptions());

  // Written beside and renamed over: a runner starting meanwhile reads the old file or the new
  // one, never half of one.
  for (const file of result.outputFiles) {
    mkdirSync(dirname(file.path), { recursive: true });
    writeFileSync(`${file.path}.${process.pid}`, file.contents);
    renameSync(`${file.path}.${process.pid}`, file.path);
  }
}
