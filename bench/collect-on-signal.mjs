// Loaded into the edge by the memory benchmark only (with --expose-gc): a full garbage
// collection on SIGUSR2, so the process's memory is read with live data only.
process.on('SIGUSR2', () => globalThis.gc?.());
