/**
 * deploy/compose/compose.yaml: valid for Compose (`docker-compose config`, Debian's docker-compose,
 * and its Compose-specification JSON schema), and consistent: every secret, volume and network
 * a service uses is declared (and nothing declared is unused), every NAME_FILE setting names a
 * secret the service mounts and a setting the program knows, Keel's images are the ones our
 * scripts build, every service has a healthcheck, and Redis persists.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Ajv2019 from 'ajv/dist/2019.js';
import { parse } from 'yaml';
import { EdgeEnv } from '../../edge/src/env.ts';
import { RunnerEnv } from '../../runners/src/env.ts';

const root = new URL('../../', import.meta.url).pathname;
const composeFile = join(root, 'deploy/compose/compose.yaml');
// The schema docker-compose itself validates with (Debian package docker-compose, installed by scripts/test).
const SPEC = '/usr/lib/python3/dist-packages/compose/config/compose_spec.json';

interface Service {
  image: string;
  environment?: Record<string, string | null>;
  secrets?: (string | { source: string })[];
  volumes?: (string | { type: string; source?: string; target: string })[];
  networks?: Record<string, unknown> | string[];
  healthcheck?: { test: string[] | string };
  profiles?: string[];
  command?: string[] | string;
}
interface Compose {
  services: Record<string, Service>;
  secrets?: Record<string, { file: string }>;
  volumes?: Record<string, unknown>;
  networks?: Record<string, { internal?: boolean }>;
}

/** The file as Compose resolves it (anchors merged, variables filled, paths absolute). */
function resolved(...args: string[]): Compose {
  const out = execFileSync('docker-compose', ['-f', composeFile, ...args, 'config'], {
    encoding: 'utf8',
    env: { ...process.env, KEEL_PUBLIC_URL: 'https://keel.example.com' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return parse(out) as Compose;
}

const full = resolved('--profile', 'model');
/**
 * The schema marks its parts with draft-04's `id` ("#/definitions/service"), labels that no
 * reference uses; Ajv refuses the keyword under 2019-09, so they are dropped as it is read.
 */
function withoutDraft4Ids(key: string, value: unknown) {
  return key === 'id' && typeof value === 'string' ? undefined : value;
}

/** Named volumes a service mounts (`name:/path[:mode]`; host paths start with / or .). */
const namedVolumes = (s: Service) =>
  (s.volumes ?? [])
    .map((v) => (typeof v === 'string' ? v.split(':')[0]! : v.type === 'volume' ? (v.source ?? '') : ''))
    .filter((source) => source && !/^[/.~]/.test(source));
const names = (list: Service['secrets']) => (list ?? []).map((s) => (typeof s === 'string' ? s : s.source));

describe('the production Compose file', () => {
  it('passes the Compose specification schema, as written and as resolved', () => {
    const { $schema: _draft, ...spec } = JSON.parse(readFileSync(SPEC, 'utf8'), withoutDraft4Ids);
    const validate = new Ajv2019({ strict: false, allErrors: true }).compile(spec);
    for (const [what, doc] of [
      ['as written', parse(readFileSync(composeFile, 'utf8'), { merge: true })],
      ['as resolved', full],
    ] as const) {
      assert.ok(validate(doc), `${what}: ${JSON.stringify(validate.errors, null, 1)}`);
    }
    // And the schema refuses what it should: the check is live.
    assert.equal(validate({ services: { edge: { image: 'keel-edge', healthcheck: { test: 1 } } } }), false);
  });

  it('needs KEEL_PUBLIC_URL, and starts the model server only with its profile', () => {
    assert.throws(
      () =>
        execFileSync('docker-compose', ['-f', composeFile, 'config', '-q'], {
          env: { PATH: process.env.PATH },
          stdio: 'pipe',
        }),
      /KEEL_PUBLIC_URL/,
    );
    // docker-compose v1 lists every service in `config`; the profile is what keeps `up` from starting it.
    for (const [name, s] of Object.entries(full.services)) {
      assert.deepEqual(s.profiles, name === 'model' ? ['model'] : undefined, name);
    }
  });

  it('declares every secret, volume and network it uses, and uses every one it declares', () => {
    const used = { secrets: new Set<string>(), volumes: new Set<string>(), networks: new Set<string>() };
    for (const [name, s] of Object.entries(full.services)) {
      for (const secret of names(s.secrets)) {
        assert.ok(full.secrets?.[secret], `${name}: secret ${secret} is not declared`);
        used.secrets.add(secret);
      }
      for (const source of namedVolumes(s)) {
        assert.ok(full.volumes?.[source], `${name}: volume ${source} is not declared`);
        used.volumes.add(source);
      }
      const nets = Array.isArray(s.networks) ? s.networks : Object.keys(s.networks ?? {});
      assert.ok(nets.length > 0, `${name} names no network`);
      for (const n of nets) {
        assert.ok(full.networks?.[n], `${name}: network ${n} is not declared`);
        used.networks.add(n);
      }
    }
    assert.deepEqual([...used.secrets].sort(), Object.keys(full.secrets ?? {}).sort());
    assert.deepEqual([...used.volumes].sort(), Object.keys(full.volumes ?? {}).sort());
    assert.deepEqual([...used.networks].sort(), Object.keys(full.networks ?? {}).sort());
    // The data network has no way out, and only the edge is on the published one.
    assert.equal(full.networks?.data?.internal, true);
    const published = Object.entries(full.services).filter(([, s]) =>
      (Array.isArray(s.networks) ? s.networks : Object.keys(s.networks ?? {})).includes('public'),
    );
    assert.deepEqual(
      published.map(([n]) => n),
      ['edge'],
    );
  });

  it('gives secrets only as files: each NAME_FILE is a mounted secret and a setting the program reads', () => {
    const known: Record<string, Set<string>> = {
      edge: new Set([...Object.keys(EdgeEnv.shape), 'PORT', 'HOST', 'KEEL_MIGRATE_ON_START']),
      runner: new Set(Object.keys(RunnerEnv.shape)),
    };
    for (const [name, settings] of Object.entries(known)) {
      const s = full.services[name]!;
      const env = s.environment ?? {};
      for (const [key, value] of Object.entries(env)) {
        const setting = key.endsWith('_FILE') ? key.slice(0, -5) : key;
        assert.ok(settings.has(setting), `${name}: ${key} is no setting of the program`);
        if (!key.endsWith('_FILE')) {
          assert.doesNotMatch(key, /SECRET|TOKEN|PASSWORD|DATABASE_URL|REDIS_URL/, `${name}: ${key} inline`);
          continue;
        }
        const secret = /^\/run\/secrets\/([a-z_]+)$/.exec(value ?? '')?.[1];
        assert.ok(secret && names(s.secrets).includes(secret), `${name}: ${key} reads no mounted secret`);
      }
    }
    // PostgreSQL's image reads its password from a file too; no secret file is committed.
    assert.equal(
      full.services.postgres?.environment?.POSTGRES_PASSWORD_FILE,
      '/run/secrets/postgres_password',
    );
    const ignored = readFileSync(join(root, 'deploy/compose/secrets/.gitignore'), 'utf8');
    assert.match(ignored, /^\*$/m);
  });

  it('runs the images our scripts build, with a healthcheck each, and Redis appending to disk', () => {
    const built = ['edge', 'runner'].map((what) => {
      const script = readFileSync(join(root, `scripts/build-${what}-image`), 'utf8');
      return new RegExp(`IMAGE="\\$\\{KEEL_${what.toUpperCase()}_IMAGE:-([a-z-]+)\\}"`).exec(script)?.[1];
    });
    assert.deepEqual(built, ['keel-edge', 'keel-runner']);
    assert.equal(full.services.edge?.image, 'keel-edge');
    assert.equal(full.services.runner?.image, 'keel-runner');
    for (const [name, s] of Object.entries(full.services)) {
      if (s.image.startsWith('keel'))
        assert.ok(built.includes(s.image), `${name}: ${s.image} is not built here`);
      assert.ok(s.healthcheck?.test, `${name} has no healthcheck`);
    }
    assert.match(JSON.stringify(full.services.edge?.healthcheck?.test), /\/readyz/);
    const conf = readFileSync(join(root, 'deploy/compose/redis.conf'), 'utf8');
    assert.match(conf, /^appendonly yes$/m);
    assert.match(conf, /^maxmemory-policy noeviction$/m);
    assert.ok(full.services.redis?.volumes?.includes('redis-data:/data:rw'), 'Redis keeps /data on a volume');
  });
});

describe('make-secrets', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'keel-compose-')), 'secrets');
  after(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

  it('writes every declared secret once, the URLs made from the passwords, and keeps them on a rerun', () => {
    execFileSync(join(root, 'deploy/compose/make-secrets'), [dir], { stdio: 'ignore' });
    const read = (n: string) => readFileSync(join(dir, n), 'utf8').trim();
    for (const name of Object.keys(full.secrets ?? {})) assert.ok(read(name).length >= 24, name);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(read('database_url'), `postgres://keel:${read('postgres_password')}@postgres:5432/keel`);
    assert.equal(read('redis_url'), `redis://:${read('redis_password')}@redis:6379`);
    // What the programs will make of them: the same schemas they start with.
    assert.ok(
      EdgeEnv.safeParse({
        KEEL_SECRET_KEY: read('keel_secret_key'),
        REDIS_URL: read('redis_url'),
        DATABASE_URL: read('database_url'),
        KEEL_RUNNER_BOOTSTRAP_TOKEN: read('runner_token'),
      }).success,
    );
    const key = read('keel_secret_key');
    execFileSync(join(root, 'deploy/compose/make-secrets'), [dir], { stdio: 'ignore' });
    assert.equal(read('keel_secret_key'), key);
  });
});
