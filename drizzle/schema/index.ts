export * from './accounts.ts';
export * from './audit.ts';
export * from './signing-keys.ts';
