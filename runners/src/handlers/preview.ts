import { Previews } from '../preview/previews.ts';
import type { JobHandlers } from './table.ts';

export const previewHandlers = {
  'preview.open': (job, ctx) => Previews.of(ctx).open(job),
  'preview.ports': (job, ctx) => Previews.of(ctx).ports(job.workspaceId),
} satisfies Partial<JobHandlers>;
