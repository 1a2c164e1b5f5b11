/** xterm.js and its fit addon, fetched the first time a terminal opens (the IDE does not need them before). */
export async function loadXterm() {
  const [{ Terminal }, { FitAddon }] = await Promise.all([
    import('@xterm/xterm'),
    import('@xterm/addon-fit'),
    import('@xterm/xterm/css/xterm.css'),
  ]);
  return { Terminal, FitAddon };
}
