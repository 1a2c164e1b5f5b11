/**
 * deploy/kubernetes: each overlay rendered (tests/deploy/kustomize-subset.ts), every object
 * validated against the official schemas (the kubernetes-models classes), and the invariants a
 * schema cannot see: selectors match their pods, probes reach the edge's port and health routes,
 * secrets come only from the operator's Secret as files the programs read, the runner's RBAC is
 * the driver's role and no more, and workspaces reach neither Redis, PostgreSQL nor the edges' internals.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EdgeEnv } from '../../edge/src/env.ts';
import { RunnerEnv } from '../../runners/src/env.ts';
import { readmeClusterRole } from '../kubernetes/readme-rbac.ts';
import { containersOf, type K8sObject, podSpecOf, renderKustomization } from './kustomize-subset.ts';
import { type Endpoint, ingressAllowed, selects } from './network-reach.ts';

const root = new URL('../../', import.meta.url).pathname;
const overlays = ['small', 'production'] as const;
const rendered = Object.fromEntries(
  overlays.map((o) => [o, renderKustomization(join(root, 'deploy/kubernetes/overlays', o))]),
) as Record<(typeof overlays)[number], K8sObject[]>;

const find = (objects: K8sObject[], kind: string, name: string) => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind}/${name} is not rendered`);
  return o;
};
const workloads = (objects: K8sObject[]) => objects.filter((o) => podSpecOf(o));
const podLabels = (o: K8sObject): Record<string, string> => o.spec.template.metadata.labels;
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding']);

describe('the renderer', () => {
  it('applies patches and images, and refuses what it does not render', () => {
    const edge = find(rendered.production, 'Deployment', 'keel-edge');
    assert.equal(edge.spec.replicas, 3);
    assert.equal(containersOf(edge)[0]?.image, 'registry.example.com/keel/keel-edge:0.1.0');
    assert.equal(find(rendered.small, 'PodDisruptionBudget', 'keel-edge').spec.minAvailable, undefined);
    // YAML 1.1, as kubectl reads it: 0440 is an octal file mode.
    const volume = podSpecOf(edge).volumes.find((v: { name: string }) => v.name === 'secrets');
    assert.equal(volume.secret.defaultMode, 0o440);
    assert.throws(() => renderKustomization(join(root, 'tests/deploy')), /ENOENT/);
  });
});

for (const overlay of overlays) {
  const objects = rendered[overlay];
  describe(`the ${overlay} overlay`, () => {
    it('renders objects that the official Kubernetes schemas accept, each in keel-system', async () => {
      assert.ok(objects.length >= 12);
      for (const o of objects) {
        const { [o.kind]: Model } = await import(`kubernetes-models/${o.apiVersion}/${o.kind}`);
        assert.ok(Model, `${o.apiVersion} ${o.kind} has no model`);
        assert.doesNotThrow(() => new Model(o).validate(), `${o.kind}/${o.metadata.name}`);
        assert.match(o.metadata.name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
        assert.equal(
          o.metadata.namespace,
          CLUSTER_SCOPED.has(o.kind) ? undefined : 'keel-system',
          o.metadata.name,
        );
      }
      // The models do refuse: a probe port of the wrong type.
      const { Deployment } = await import('kubernetes-models/apps/v1/Deployment');
      const broken = structuredClone(find(objects, 'Deployment', 'keel-edge'));
      broken.spec.template.spec.containers[0].readinessProbe.httpGet.port = { named: 'http' };
      assert.throws(() => new Deployment(broken).validate());
    });

    it('selects its own pods: workloads, Services, the autoscaler and the disruption budget', () => {
      for (const w of workloads(objects)) {
        assert.ok(
          selects(w.spec.selector, podLabels(w)),
          `${w.kind}/${w.metadata.name} selects not its pods`,
        );
        const others = workloads(objects).filter((x) => x !== w && selects(w.spec.selector, podLabels(x)));
        assert.deepEqual(others, [], `${w.metadata.name}'s selector also takes other pods`);
      }
      for (const svc of objects.filter((o) => o.kind === 'Service')) {
        const backends = workloads(objects).filter((w) =>
          selects({ matchLabels: svc.spec.selector }, podLabels(w)),
        );
        assert.equal(backends.length, 1, `Service ${svc.metadata.name} selects ${backends.length} workloads`);
        const ports = containersOf(backends[0]!).flatMap((c) => (c.ports as { name: string }[]) ?? []);
        for (const p of svc.spec.ports) {
          assert.ok(
            ports.some((cp) => cp.name === p.targetPort),
            `${svc.metadata.name}: no port ${p.targetPort}`,
          );
        }
      }
      const edge = find(objects, 'Deployment', 'keel-edge');
      const hpa = find(objects, 'HorizontalPodAutoscaler', 'keel-edge');
      assert.deepEqual(hpa.spec.scaleTargetRef, {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: 'keel-edge',
      });
      assert.ok(hpa.spec.minReplicas <= edge.spec.replicas && edge.spec.replicas <= hpa.spec.maxReplicas);
      const pdb = find(objects, 'PodDisruptionBudget', 'keel-edge');
      assert.ok(selects(pdb.spec.selector, podLabels(edge)));
      // A drain must be able to finish with the fewest edges the autoscaler keeps.
      if (pdb.spec.minAvailable !== undefined) assert.ok(pdb.spec.minAvailable < hpa.spec.minReplicas);
      else assert.ok(pdb.spec.maxUnavailable >= 1);
    });

    it("probes the edge's own port: alive on /healthz, ready on /readyz", () => {
      const edge = find(objects, 'Deployment', 'keel-edge');
      const c = containersOf(edge)[0] as unknown as {
        ports: { name: string; containerPort: number }[];
        env: { name: string; value: string }[];
        [probe: string]: unknown;
      };
      const port = Number(c.env.find((e) => e.name === 'PORT')?.value);
      const http = c.ports.find((p) => p.name === 'http');
      assert.equal(http?.containerPort, port);
      const probe = (which: string) => (c[which] as { httpGet: { path: string; port: string } }).httpGet;
      assert.deepEqual(probe('startupProbe'), { path: '/healthz', port: 'http' });
      assert.deepEqual(probe('livenessProbe'), { path: '/healthz', port: 'http' });
      assert.deepEqual(probe('readinessProbe'), { path: '/readyz', port: 'http' });
    });

    it('takes secrets only as files of the Secret the operator makes, each a setting the program reads', () => {
      assert.deepEqual(
        objects.filter((o) => o.kind === 'Secret'),
        [],
        'no Secret (and no secret value) is committed',
      );
      const settings: Record<string, Set<string>> = {
        edge: new Set(Object.keys(EdgeEnv.shape)),
        runner: new Set(Object.keys(RunnerEnv.shape)),
      };
      const readme = readFileSync(join(root, 'README.md'), 'utf8');
      const createSecret =
        /kubectl -n keel-system create secret generic keel-secrets[^`]*/.exec(readme)?.[0] ?? '';
      for (const w of workloads(objects)) {
        const pod = podSpecOf(w);
        assert.equal(pod.automountServiceAccountToken, false, `${w.metadata.name} mounts an API token`);
        for (const c of containersOf(w)) {
          for (const e of (c.env as { name: string; value?: string; valueFrom?: unknown }[]) ?? []) {
            assert.equal(e.valueFrom, undefined, `${c.name}: ${e.name} from an environment reference`);
            assert.doesNotMatch(e.value ?? '', /:\/\/[^/]*:[^/]*@/, `${c.name}: ${e.name} holds a password`);
            if (!e.name.endsWith('_FILE')) continue;
            const known = settings[c.name];
            if (known) assert.ok(known.has(e.name.slice(0, -5)), `${c.name}: ${e.name} is no setting`);
            const mount = (c.volumeMounts as { name: string; mountPath: string }[]).find((m) =>
              e.value?.startsWith(`${m.mountPath}/`),
            );
            const volume = pod.volumes.find((v: { name: string }) => v.name === mount?.name);
            assert.equal(
              volume?.secret?.secretName,
              'keel-secrets',
              `${c.name}: ${e.name} is not a secret file`,
            );
            const key = e.value!.slice(mount!.mountPath.length + 1);
            assert.ok(
              volume.secret.items.some((i: { key: string; path: string }) => i.path === key),
              `${c.name}: ${key} is not projected`,
            );
            assert.match(
              createSecret,
              new RegExp(`--from-file=${key}=`),
              `the README's command lacks ${key}`,
            );
          }
        }
      }
    });

    it("grants the runner's ServiceAccount the Kubernetes driver's role, no more", () => {
      const role = find(objects, 'ClusterRole', 'keel-workspaces');
      assert.deepEqual(role.rules, readmeClusterRole());
      const flat = JSON.stringify(role.rules);
      assert.doesNotMatch(flat, /"\*"|secrets|escalate|bind|impersonate/);
      const binding = find(objects, 'ClusterRoleBinding', 'keel-workspaces');
      assert.deepEqual(binding.roleRef, {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: 'keel-workspaces',
      });
      assert.deepEqual(binding.subjects, [
        { kind: 'ServiceAccount', name: 'keel-runner', namespace: 'keel-system' },
      ]);
      assert.equal(find(objects, 'ServiceAccount', 'keel-runner').automountServiceAccountToken, false);
      assert.deepEqual(
        objects
          .filter((o) => /Role/.test(o.kind))
          .map((o) => `${o.kind}/${o.metadata.name}`)
          .sort(),
        ['ClusterRole/keel-workspaces', 'ClusterRoleBinding/keel-workspaces'],
      );
    });

    it('lets workspaces reach no Keel internals, and the edges and runner reach their data', () => {
      const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
      const workspace: Endpoint = {
        namespace: 'keel-org1',
        namespaceLabels: {
          'app.kubernetes.io/managed-by': 'keel',
          'kubernetes.io/metadata.name': 'keel-org1',
        },
        podLabels: { 'app.kubernetes.io/managed-by': 'keel', 'keel.dev/workspace': 'w1' },
      };
      const ingress: Endpoint = {
        namespace: 'ingress-nginx',
        namespaceLabels: {},
        podLabels: { app: 'ingress' },
      };
      const monitoring: Endpoint = {
        namespace: 'monitoring',
        namespaceLabels: { 'keel.dev/monitoring': 'true' },
        podLabels: {},
      };
      const inKeel = (w: K8sObject): Endpoint => ({
        namespace: 'keel-system',
        namespaceLabels: { 'kubernetes.io/metadata.name': 'keel-system' },
        podLabels: podLabels(w),
      });
      for (const w of workloads(objects)) {
        for (const c of containersOf(w)) {
          for (const p of (c.ports as { name: string; containerPort: number }[]) ?? []) {
            const to = { namespace: 'keel-system', podLabels: podLabels(w) };
            const port = { number: p.containerPort, name: p.name };
            const what = `${w.metadata.name}:${p.name}`;
            assert.equal(ingressAllowed(policies, to, port, workspace), false, `a workspace reaches ${what}`);
            const publicPort = w.metadata.name === 'keel-edge' && p.name === 'http';
            assert.equal(ingressAllowed(policies, to, port, ingress), publicPort, `the ingress and ${what}`);
            assert.equal(
              ingressAllowed(policies, to, port, monitoring),
              p.name === 'metrics' || publicPort,
              `monitoring and ${what}`,
            );
            if (/keel-(postgres|redis)/.test(w.metadata.name)) {
              for (const client of ['keel-edge', 'keel-runner']) {
                const from = inKeel(find(objects, 'Deployment', client));
                assert.equal(ingressAllowed(policies, to, port, from), true, `${client} reaches ${what}`);
              }
            }
          }
        }
      }
    });
  });
}
