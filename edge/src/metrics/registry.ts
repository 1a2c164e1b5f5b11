import type { MetricSpec } from '@keel/contract/metrics';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** A contract's metrics made in a registry, fetched by name and kind. */
export interface ContractRegistry<N extends string> {
  registry: Registry;
  counter(name: N): Counter;
  gauge(name: N): Gauge;
  histogram(name: N): Histogram;
}

/**
 * A registry holding every metric the contract lists for a process (EDGE_METRICS,
 * RUNNER_METRICS), made as the contract describes it: name, kind, help, labels and buckets.
 * Its own registry, never prom-client's global one: tests run several edges in one process.
 * Asking for a metric by a kind the contract does not give it throws at start-up.
 */
export function registryFrom<T extends Record<string, MetricSpec>>(
  specs: T,
): ContractRegistry<Extract<keyof T, string>> {
  const registry = new Registry();
  const made = new Map<string, Counter | Gauge | Histogram>();
  for (const [name, spec] of Object.entries(specs)) {
    const common = { name, help: spec.help, labelNames: [...spec.labels], registers: [registry] };
    made.set(
      name,
      spec.kind === 'counter'
        ? new Counter(common)
        : spec.kind === 'gauge'
          ? new Gauge(common)
          : new Histogram({ ...common, ...(spec.buckets ? { buckets: [...spec.buckets] } : {}) }),
    );
  }
  const of = <M>(name: string, kind: new (...args: never[]) => M): M => {
    const metric = made.get(name);
    if (!(metric instanceof kind)) throw new Error(`${name} is not a ${kind.name} in the metrics contract`);
    return metric;
  };
  return {
    registry,
    counter: (name) => of(name, Counter),
    gauge: (name) => of(name, Gauge),
    histogram: (name) => of(name, Histogram),
  };
}
