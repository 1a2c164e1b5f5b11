import {
  LoginRequest,
  LoginResponse,
  MeResponse,
  RefreshRequest,
  RefreshResponse,
  SignupRequest,
  SignupResponse,
} from '../auth.ts';
import { body, errorResponses, json, noContent, publicAccess, signedIn, userAuth } from './describe.ts';

const tags = ['auth'];

export const authRoutes = {
  signup: {
    method: 'post',
    path: '/api/auth/signup',
    summary: 'Create an account (the first founds the organization)',
    tags,
    access: publicAccess,
    request: { body: body(SignupRequest) },
    responses: { 201: json(SignupResponse, 'Signed up and signed in'), ...errorResponses },
  },
  login: {
    method: 'post',
    path: '/api/auth/login',
    summary: 'Sign in',
    tags,
    access: publicAccess,
    request: { body: body(LoginRequest) },
    responses: { 200: json(LoginResponse, 'Signed in'), ...errorResponses },
  },
  refresh: {
    method: 'post',
    path: '/api/auth/refresh',
    summary: 'Rotate the refresh token for a new access token (cookie or body)',
    tags,
    access: publicAccess,
    request: { body: body(RefreshRequest, false) },
    responses: { 200: json(RefreshResponse, 'A new grant'), ...errorResponses },
  },
  logout: {
    method: 'post',
    path: '/api/auth/logout',
    summary: 'End the session and its refresh-token family',
    tags,
    access: publicAccess,
    request: { body: body(RefreshRequest, false) },
    responses: { 204: noContent, ...errorResponses },
  },
  me: {
    method: 'get',
    path: '/api/auth/me',
    summary: 'Who is signed in',
    tags,
    access: signedIn,
    security: userAuth,
    responses: { 200: json(MeResponse, 'The signed-in user'), ...errorResponses },
  },
} as const;
