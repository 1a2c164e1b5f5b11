import {
  PatchApplyRequest,
  PatchApplyResponse,
  PatchValidateRequest,
  PatchValidateResponse,
} from '../patch.ts';
import { body, errorResponses, json, needs, userAuth } from './describe.ts';

const tags = ['patch'];

export const patchRoutes = {
  validatePatch: {
    method: 'post',
    path: '/api/patch/validate',
    summary: 'Check a unified diff against a workspace without changing it',
    tags,
    access: needs('workspaces:read'),
    security: userAuth,
    request: { body: body(PatchValidateRequest) },
    responses: { 200: json(PatchValidateResponse, 'Per-file verdicts'), ...errorResponses },
  },
  applyPatch: {
    method: 'post',
    path: '/api/patch/apply',
    summary: 'Apply a unified diff, all files or none',
    tags,
    access: needs('workspaces:use'),
    security: userAuth,
    request: { body: body(PatchApplyRequest) },
    responses: { 200: json(PatchApplyResponse, 'Applied'), ...errorResponses },
  },
} as const;
