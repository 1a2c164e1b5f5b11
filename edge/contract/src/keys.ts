/**
 * Queue and key names shared by edge and runners. Everything a runner touches lives
 * under `<prefix>runner.<runnerId>:`, so a Redis ACL user per runner can confine it.
 */
export function bullPrefixOf(keyPrefix: string): string {
  return keyPrefix.replace(/:$/, '');
}

export function runnerQueueName(runnerId: string): string {
  return `runner.${runnerId}`;
}

/**
 * The names of one runner's keys. Made once per runner and kept (a few hundred runners at
 * most are remembered): an AI call's start looks them up several times, and each call of a
 * factory of fifteen names costs more than the lookup.
 */
export function runnerKeys(keyPrefix: string, runnerId: string): RunnerKeys {
  const id = `${keyPrefix}\0${runnerId}`;
  let keys = knownRunnerKeys.get(id);
  if (keys === undefined) {
    keys = Object.freeze(makeRunnerKeys(keyPrefix, runnerId));
    if (knownRunnerKeys.size >= REMEMBERED_RUNNER_KEYS) knownRunnerKeys.clear();
    knownRunnerKeys.set(id, keys);
  }
  return keys;
}

export type RunnerKeys = Readonly<ReturnType<typeof makeRunnerKeys>>;
const knownRunnerKeys = new Map<string, RunnerKeys>();
const REMEMBERED_RUNNER_KEYS = 1_024;

/** Where the keys of the runner behind queue `queueName` (`runnerQueueName(…)`) start. */
export function runnerKeyBase(keyPrefix: string, queueName: string): string {
  return `${keyPrefix}${queueName}:`;
}

function makeRunnerKeys(keyPrefix: string, runnerId: string) {
  const base = runnerKeyBase(keyPrefix, runnerQueueName(runnerId));
  return {
    base,
    heartbeat: `${base}heartbeat`,
    /** Workspaces this runner placed (a set), so it notices one whose container vanished. */
    workspaces: `${base}workspaces`,
    /** Each placed workspace's driver (a hash), so a runner that changed driver knows which it cannot serve. */
    workspaceDrivers: `${base}ws-drivers`,
    /** The placement generation this runner holds each workspace at (a hash; see contract/fleet). */
    workspaceGenerations: `${base}ws-generations`,
    workspaceStatus: (workspaceId: string) => `${base}ws:${workspaceId}:status`,
    workspaceLogs: (workspaceId: string) => `${base}ws:${workspaceId}:logs`,
    /** Bumped whenever the workspace's files may have changed (writes, finished commands). */
    workspaceFilesVersion: (workspaceId: string) => `${base}ws:${workspaceId}:files-version`,
    /**
     * The workspace's executions by start time (a sorted set, as far back as output lives), so
     * that deleting the workspace deletes their output.
     */
    workspaceExecs: (workspaceId: string) => `${base}ws:${workspaceId}:execs`,
    execStream: (executionId: string) => `${base}exec:${executionId}`,
    execMeta: (executionId: string) => `${base}exec:${executionId}:meta`,
    /** Set by the first delivery of an exec job, so a redelivery never runs the command twice. */
    execClaimed: (executionId: string) => `${base}exec:${executionId}:meta:claimed`,
    /** A terminal session: output (runner → edge), input (edge → runner), and whether a socket is attached. */
    terminalOutput: (sessionId: string) => `${base}trm:${sessionId}:out`,
    terminalInput: (sessionId: string) => `${base}trm:${sessionId}:in`,
    terminalAttached: (sessionId: string) => `${base}trm:${sessionId}:attached`,
    /** Rung (XADD) when a session starts, to wake the runner's one read of every session's input. */
    terminalInputBell: `${base}trm:bell`,
    /** Set by the first delivery of a session's open job, so a redelivery never starts a second shell. */
    terminalClaimed: (sessionId: string) => `${base}trm:${sessionId}:claimed`,
    /** Live sessions of a workspace (sorted set by start time), to cap how many it has. */
    workspaceTerminals: (workspaceId: string) => `${base}ws:${workspaceId}:terminals`,
    /** Sessions this runner runs (session id → workspace id), so a restarted runner can close them. */
    terminals: `${base}terminals`,
    /** An AI answer: `meta` (written by the edge), `token`s, `result`, `done` (see contract/ai). */
    aiStream: (streamId: string) => `${base}ai:${streamId}`,
    /** Set by the edge on cancel, so a job that starts after the cancel never calls the model. */
    aiCancel: (streamId: string) => `${base}ai:${streamId}:cancel`,
    /** Set by the first delivery of an AI call, so a redelivery never calls the model twice. */
    aiClaimed: (streamId: string) => `${base}ai:${streamId}:claimed`,
    /** AI calls in flight, so a restarted runner can close the streams it lost. */
    aiActive: `${base}ai-active`,
    /** Commands running on this runner (a set), so a restarted runner can end their output. */
    execsRunning: `${base}execs`,
    /**
     * The infrastructure server each workspace on one lives on (a hash workspace id → server id),
     * so a restarted runner reaches them again.
     */
    workspaceServers: `${base}ws-servers`,
    /** Resources of the servers this runner serves (a hash server id → ServerResources JSON), read by the edge. */
    serverResources: `${base}server-resources`,
  };
}

/*
 * Request/response calls (see calls.ts) travel through keys under the runner's base.
 */

/** The runner's list of calls waiting to be taken; `runnerBase` is `runnerKeys(…).base`. */
export function callListKey(runnerBase: string): string {
  return `${runnerBase}calls`;
}

/** Where the runner publishes answers for one edge instance. */
export function callReplyChannel(runnerBase: string, edgeInstance: string): string {
  return `${runnerBase}reply:${edgeInstance}`;
}

/** What an edge instance subscribes to: the answers of every runner, for itself only. */
export function callReplyPattern(keyPrefix: string, edgeInstance: string): string {
  return `${keyPrefix}runner.*:reply:${edgeInstance}`;
}

/** An answer nobody heard when it was published, kept for the edge to pick up. */
export function callReplyKey(runnerBase: string, id: string): string {
  return `${runnerBase}reply:${id}`;
}

/** Output streams are capped and expire: output that matters is read within this window. */
export const STREAM_MAX_ENTRIES = 200_000;
export const STREAM_TTL_SECONDS = 24 * 3600;
export const LOG_MAX_ENTRIES = 5_000;

/** AI answers hold source code: they are kept for a short while only, enough to resume. */
export const AI_STREAM_TTL_SECONDS = 3600;
export const AI_STREAM_MAX_ENTRIES = 50_000;
/** An answer's text kept at most (UTF-8): beyond any KEEL_AI_MAX_OUTPUT_TOKENS, so only a runaway model reaches it. */
export const AI_STREAM_MAX_BYTES = 8 * 1024 * 1024;
