/**
 * The protocol's major version (see protocol.ts and docs/PROTOCOL.md), carried as `v` in
 * every job and call that crosses edge ↔ runner: a message of another major is refused.
 * Minors are negotiated once, at registration and check-in, and never appear in `v`.
 */
export const CONTRACT_VERSION = 1 as const;
