import { after, before, describe } from 'node:test';
import type { DriverTarget } from '../target.ts';
import { execSuite } from './exec.ts';
import { filesSuite } from './files.ts';
import { lifecycleSuite } from './lifecycle.ts';
import { patchSuite } from './patch.ts';
import { Stand } from './stand.ts';
import { terminalSuite } from './terminal.ts';

/**
 * Every conformance suite against one target: driver-level ones on the driver it makes, API-level
 * ones through an edge and a runner that drives it. A `make()` that fails fails every test here
 * (node:test cancels them, which tests/run.ts counts as failures).
 */
export function conformance(target: DriverTarget): void {
  describe(`driver conformance: ${target.kind}`, () => {
    const stand = new Stand(target);
    before(() => stand.open());
    after(() => stand.close());
    lifecycleSuite(stand);
    filesSuite(stand);
    execSuite(stand);
    terminalSuite(stand);
    patchSuite(stand);
  });
}
