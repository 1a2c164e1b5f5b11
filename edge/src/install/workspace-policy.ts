import type { InstallSettings } from '@keel/contract/install';
import { DEFAULT_WORKSPACE_RESOURCES, type WorkspaceResources } from '@keel/contract/workspaces';
import { ApiError } from '../http/api-error.ts';

/**
 * Whether a new workspace gets network under the install's policy. Asking for it under
 * `off` is refused rather than quietly ignored, so nobody believes they have network.
 */
export function networkFor(settings: InstallSettings, requested: boolean): boolean {
  switch (settings.workspaceNetwork) {
    case 'always':
      return true;
    case 'on_request':
      return requested;
    case 'off':
      if (requested) {
        throw new ApiError(
          'network_not_allowed',
          'This install gives workspaces no network; ask an install administrator',
        );
      }
      return false;
  }
}

/** Refuses resources past the install's maxima (422 `resource_limit`), naming each one. */
/**
 * What a workspace gets when its creator asks for nothing in particular: the defaults, within
 * the install's maxima (a form that sends no sizes works whatever the maxima are).
 */
export function defaultResources(settings: InstallSettings): WorkspaceResources {
  return {
    cpus: Math.min(DEFAULT_WORKSPACE_RESOURCES.cpus, settings.maxCpus),
    memoryMb: Math.min(DEFAULT_WORKSPACE_RESOURCES.memoryMb, settings.maxMemoryMb),
  };
}

export function assertWithinMaxima(settings: InstallSettings, resources: WorkspaceResources): void {
  const over: string[] = [];
  if (resources.cpus > settings.maxCpus) over.push(`cpus ${resources.cpus} > ${settings.maxCpus}`);
  if (resources.memoryMb > settings.maxMemoryMb) {
    over.push(`memoryMb ${resources.memoryMb} > ${settings.maxMemoryMb}`);
  }
  if (resources.diskMb !== undefined && resources.diskMb > settings.maxDiskMb) {
    over.push(`diskMb ${resources.diskMb} > ${settings.maxDiskMb}`);
  }
  if (over.length > 0) {
    throw new ApiError('resource_limit', `Past this install's maxima: ${over.join(', ')}`);
  }
}
