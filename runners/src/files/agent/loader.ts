/**
 * What `node -e` runs in the workspace: it reads the agent's program from stdin (a u32
 * big-endian length, then the JavaScript), hands back whatever came after it to stdin, and runs
 * it. Nothing is written to the workspace's disk, and the program is always the runner's own.
 * Kept tiny: it is the command line of every agent start.
 */
export const MAX_PROGRAM_BYTES = 4 * 1024 * 1024;

export const AGENT_LOADER = [
  'const s=process.stdin;let b=Buffer.alloc(0);',
  'const f=(c)=>{b=Buffer.concat([b,c]);if(b.length<4)return;const n=b.readUInt32BE(0);',
  `if(n>${MAX_PROGRAM_BYTES})process.exit(3);if(b.length<4+n)return;`,
  's.off("data",f);s.pause();const r=b.subarray(4+n);if(r.length)s.unshift(r);',
  'require("vm").runInThisContext("(function(require){"+b.toString("utf8",4,4+n)+"\\n})",',
  '{filename:"keel-file-agent.js"})(require)};',
  's.on("data",f);',
].join('');

/** The bytes that precede the program on stdin. */
export function programFrame(program: string): Buffer {
  const text = Buffer.from(program);
  if (text.length > MAX_PROGRAM_BYTES) throw new Error('file agent program too large');
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(text.length, 0);
  return Buffer.concat([head, text]);
}
