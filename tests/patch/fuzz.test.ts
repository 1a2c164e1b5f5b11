/**
 * Fuzz tests of the patch library, deterministic per seed. A failure prints the seed and
 * the case; replay one case with PATCH_FUZZ_SEED=<seed> PATCH_FUZZ_CASE=<i>. Case counts:
 * PATCH_FUZZ_ROUNDTRIP, PATCH_FUZZ_MUTATE, PATCH_FUZZ_COMMIT.
 */
import assert from 'node:assert/strict';
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfinedFs } from '../../runners/src/files/confined-fs.ts';
import {
  applyToText,
  commitPatch,
  confinedPatchFs,
  multiFileDiff,
  PatchConflict,
  PatchError,
  PatchParseError,
  type PatchPlan,
  parsePatch,
  planPatch,
  type ReadFile,
  sha256,
  unifiedDiff,
} from '../../runners/src/patch/index.ts';
import { editText, mutate, PATH_POOL, randomChanges, randomText, type Workspace } from './gen.ts';
import { oracleApply } from './oracle.ts';
import { caseSeed, fuzzSeed, type Rng, rng } from './prng.ts';

const SEED = fuzzSeed();
const count = (name: string, dflt: number) => Number(process.env[name] ?? dflt);
const ROUNDTRIP = count('PATCH_FUZZ_ROUNDTRIP', 100_000);
const MUTATE = count('PATCH_FUZZ_MUTATE', 100_000);
const COMMIT = count('PATCH_FUZZ_COMMIT', 400);

async function runCases(label: string, n: number, one: (r: Rng, i: number) => unknown): Promise<number> {
  const only = process.env.PATCH_FUZZ_CASE;
  let ran = 0;
  for (let i = 0; i < n; i++) {
    if (only !== undefined && Number(only) !== i) continue;
    try {
      await one(rng(caseSeed(SEED, i)), i);
    } catch (err) {
      const where = `${label}: PATCH_FUZZ_SEED=${SEED} PATCH_FUZZ_CASE=${i}`;
      console.error(`fuzz failure in ${where}`);
      throw new Error(`${where}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    ran++;
  }
  return ran;
}

const reader =
  (ws: Workspace): ReadFile =>
  (p) => {
    const content = ws.get(p);
    return content === undefined ? undefined : { content, sha256: sha256(content) };
  };

function applyWrites(ws: Workspace, plan: PatchPlan): Workspace {
  const out = new Map(ws);
  for (const w of plan.writes) {
    if (w.op === 'write') out.set(w.path, w.content);
    else out.delete(w.path);
  }
  return out;
}

/** Every path the library would write must be relative, normalized and inside the root. */
function assertContained(p: unknown): void {
  assert.equal(typeof p, 'string');
  const s = p as string;
  assert.ok(
    s.length > 0 && !s.startsWith('/') && !s.includes('\0') && !s.includes('\\'),
    `unsafe path ${JSON.stringify(s)}`,
  );
  assert.equal(path.posix.normalize(s), s, `not normalized: ${JSON.stringify(s)}`);
  assert.ok(!s.split('/').includes('..'), `.. in ${JSON.stringify(s)}`);
  const root = '/workspace/root';
  assert.ok(path.posix.resolve(root, s).startsWith(`${root}/`), `escapes: ${JSON.stringify(s)}`);
}

function roundTripOne(r: Rng): Promise<void> | undefined {
  if (r.chance(0.15)) return roundTripMulti(r);
  const old = randomText(r);
  const next = editText(r, old);
  const kind = r.pick([
    'modify',
    'modify',
    'modify',
    'modify',
    'modify',
    'create',
    'delete',
    'rename',
  ] as const);
  const p = r.pick(PATH_POOL);
  const oldPath = kind === 'rename' ? r.pick(PATH_POOL.filter((q) => q !== p)) : undefined;
  const oldText = kind === 'create' ? null : old;
  const newText = kind === 'delete' ? null : next;
  const diff = unifiedDiff(p, oldText, newText, { context: r.pick([0, 1, 3, 5]), oldPath });
  if (diff === '') {
    assert.equal(oldText, newText);
    return;
  }
  const patch = parsePatch(diff);
  assert.equal(patch.files.length, 1);
  const f = patch.files[0]!;
  assert.equal(f.kind, kind === 'rename' ? 'rename' : kind);
  assert.equal(applyToText(oldText ?? '', f), newText ?? '', diff);
  return;
}

async function roundTripMulti(r: Rng): Promise<void> {
  const { ws, changes, after } = randomChanges(r);
  const text = multiFileDiff(changes, { context: r.pick([0, 1, 3]) });
  const plan = await planPatch(parsePatch(text), reader(ws));
  assert.ok(plan.ok, JSON.stringify(plan.files.filter((f) => !f.applies)));
  assert.deepEqual(applyWrites(ws, plan), after);
}

interface MutateStats {
  rejected: number;
  conflicted: number;
  applied: number;
}

async function mutateOne(r: Rng, stats: MutateStats): Promise<void> {
  const { ws, changes } = randomChanges(r);
  let text = multiFileDiff(changes, { context: r.pick([0, 1, 3]) });
  for (let k = r.range(1, 3); k > 0; k--) text = mutate(r, text);
  await checkMutated(text, ws, stats);
}

async function checkMutated(text: string, ws: Workspace, stats: MutateStats): Promise<PatchPlan | undefined> {
  let patch: ReturnType<typeof parsePatch>;
  try {
    patch = parsePatch(text);
  } catch (err) {
    if (!(err instanceof PatchParseError)) throw err;
    assert.ok(Number.isInteger(err.line) && err.line >= 0);
    stats.rejected++;
    return undefined;
  }
  const mentioned = new Set<string>();
  for (const f of patch.files) {
    for (const p of [f.oldPath, f.newPath]) {
      if (p === null) continue;
      assertContained(p);
      mentioned.add(p);
    }
    const base = f.oldPath === null ? '' : (ws.get(f.oldPath) ?? '');
    let got: string | undefined;
    try {
      got = applyToText(base, f);
    } catch (err) {
      if (!(err instanceof PatchConflict)) throw err;
    }
    assert.equal(got, oracleApply(base, f), 'applyToText disagrees with the naive model');
  }
  const plan = await planPatch(patch, reader(ws));
  for (const w of plan.writes) {
    assertContained(w.path);
    assert.ok(mentioned.has(w.path), `write to a path the patch does not name: ${w.path}`);
  }
  if (plan.ok) stats.applied++;
  else stats.conflicted++;
  return plan;
}

describe(`patch fuzz (seed ${SEED})`, () => {
  it(`diff → parse → apply round-trips exactly (${ROUNDTRIP} cases)`, async () => {
    const started = performance.now();
    const ran = await runCases('round trip', ROUNDTRIP, roundTripOne);
    console.log(`round trip: ${ran} cases in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  });

  it(`mutated patches only ever fail with typed errors and never leave the root (${MUTATE} cases)`, async () => {
    const started = performance.now();
    const stats: MutateStats = { rejected: 0, conflicted: 0, applied: 0 };
    const ran = await runCases('mutation', MUTATE, (r) => mutateOne(r, stats));
    const secs = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`mutation: ${ran} cases in ${secs} s: ${JSON.stringify(stats)}`);
    // Guards against a generator that only ever produces unparseable text.
    if (ran >= 1000) assert.ok(stats.applied + stats.conflicted > ran / 10, JSON.stringify(stats));
  });

  describe('commit through ConfinedFs on a real directory', () => {
    let base: string;
    let ws: string;
    let outside: string;
    const sentinels: string[] = [];

    before(() => {
      base = mkdtempSync(path.join(tmpdir(), 'keel-patch-fuzz-'));
      ws = path.join(base, 'ws');
      outside = path.join(base, 'outside');
      mkdirSync(outside);
      mkdirSync(ws);
      writeFileSync(path.join(outside, 'secret'), 'SECRET\n');
      sentinels.push('/etc/passwd', path.join(base, 'x'), path.join(path.dirname(base), 'x'), '/x', '/pwned');
    });
    after(() => rmSync(base, { recursive: true, force: true }));

    function resetWorkspace(files: Workspace) {
      rmSync(ws, { recursive: true, force: true });
      mkdirSync(ws);
      for (const [p, content] of files) {
        mkdirSync(path.dirname(path.join(ws, p)), { recursive: true });
        writeFileSync(path.join(ws, p), content);
      }
      // Links out of the workspace: patches naming paths through them must not reach out.
      symlinkSync('../outside', path.join(ws, 'link-out'));
      symlinkSync('/etc', path.join(ws, 'etc-link'));
    }

    function outsideState(): string {
      const marks = sentinels.map((s) => {
        try {
          const st = statSync(s);
          return `${s}:${st.size}:${st.mtimeMs}`;
        } catch {
          return `${s}:absent`;
        }
      });
      return JSON.stringify({ top: readdirSync(base).sort(), outside: tree(outside, true), marks });
    }

    it(`mutated and valid patches commit fully or not at all (${COMMIT} cases)`, async () => {
      const fs = confinedPatchFs(new ConfinedFs(ws));
      const before = outsideState();
      const started = performance.now();
      const tally = { committed: 0, refused: 0 };
      await runCases('commit', COMMIT, async (r) => {
        const { ws: files, changes } = randomChanges(r);
        let text = multiFileDiff(changes, { context: r.pick([0, 1, 3]) });
        const mutations = r.chance(0.3) ? 0 : r.range(1, 3);
        for (let k = 0; k < mutations; k++) text = mutate(r, text);
        resetWorkspace(files);
        const untouched = tree(ws, true);
        const plan = await checkMutated(text, files, { rejected: 0, conflicted: 0, applied: 0 });
        try {
          await commitPatch(fs, text);
          tally.committed++;
          assert.ok(plan?.ok, 'committed a patch the in-memory plan refused');
          const want = new Map([...applyWrites(files, plan!)].map(([p, c]) => [p, `file:${sha256(c)}`]));
          want.set('link-out', 'link:../outside');
          want.set('etc-link', 'link:/etc');
          assert.deepEqual(new Map(Object.entries(tree(ws, false))), want);
        } catch (err) {
          if (err instanceof assert.AssertionError) throw err;
          assert.ok(err instanceof PatchError, `untyped error: ${String(err)}`);
          tally.refused++;
          assert.ok(mutations > 0 || !plan?.ok, `a valid patch was refused: ${(err as Error).message}`);
          assert.deepEqual(tree(ws, true), untouched);
        }
        assert.equal(outsideState(), before);
      });
      const secs = ((performance.now() - started) / 1000).toFixed(1);
      console.log(`commit: ${COMMIT} cases in ${secs} s: ${JSON.stringify(tally)}`);
    });
  });
});

/** path → description of every entry under `root`, never following links. */
function tree(root: string, withDirs: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      const rel = path.relative(root, full);
      const st = lstatSync(full);
      if (st.isSymbolicLink()) out[rel] = `link:${readlinkSync(full)}`;
      else if (st.isDirectory()) {
        if (withDirs) out[rel] = 'dir';
        walk(full);
      } else
        out[rel] = `file:${sha256(readFileSync(full))}${withDirs ? `:${(st.mode & 0o777).toString(8)}` : ''}`;
    }
  };
  walk(root);
  return out;
}
