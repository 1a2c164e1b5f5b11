#!/usr/bin/env node
// The runner is TypeScript run through tsx's loader, like the Node edge.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
