import { json, needs, signedIn, userAuth } from '@keel/contract/api/describe';
import { MyUsageQuery, MyUsageReport, UsageQuery, UsageReport } from '@keel/contract/usage';

/**
 * The two usage routes as the contract describes them (`adminRoutes.adminUsage` with `UsageQuery`,
 * `accountRoutes.myUsage`), for as long as the contract's route table still lists the earlier,
 * AI-only `adminUsage`; once it lists these, the client uses the contract's own and this goes.
 */
export const usageRoutes = {
  adminUsage: {
    method: 'get',
    path: '/api/admin/usage',
    summary: 'What the organization used in a window',
    tags: ['admin'],
    access: needs('usage:read'),
    security: userAuth,
    request: { query: UsageQuery },
    responses: { 200: json(UsageReport, 'The report') },
  },
  myUsage: {
    method: 'get',
    path: '/api/me/usage',
    summary: 'What my workspaces and AI calls used in a window',
    tags: ['account'],
    access: signedIn,
    security: userAuth,
    request: { query: MyUsageQuery },
    responses: { 200: json(MyUsageReport, 'My usage') },
  },
} as const;
