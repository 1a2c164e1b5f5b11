import { PlanResponse, UpdatePlanRequest } from '../plans.ts';
import { body, errorResponses, json, needs, userAuth } from './describe.ts';

const tags = ['admin'];
const security = userAuth;

export const planRoutes = {
  getPlan: {
    method: 'get',
    path: '/api/admin/plan',
    summary: 'The organization’s plan, the install’s maximums and what is in use now',
    tags,
    access: needs('usage:read'),
    security,
    responses: { 200: json(PlanResponse, 'The plan and its use'), ...errorResponses },
  },
  updatePlan: {
    method: 'put',
    path: '/api/admin/plan',
    summary: 'Set the organization’s plan within the install’s maximums (null: the install’s default)',
    tags,
    access: needs('signin:manage'),
    security,
    request: { body: body(UpdatePlanRequest) },
    responses: { 200: json(PlanResponse, 'The plan as it now stands'), ...errorResponses },
  },
} as const;
