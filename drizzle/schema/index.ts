export * from './accounts.ts';
export * from './audit.ts';
export * from './install.ts';
export * from './runners.ts';
export * from './servers.ts';
export * from './signing-keys.ts';
export * from './usage.ts';
export * from './workspaces.ts';
