// Another driver: tests/drivers/targets/<kind>.ts, and a copy of this file as conformance.<kind>.test.ts importing it.
import { conformance } from './suite/index.ts';
import { target } from './targets/kubernetes.ts';

conformance(target);
