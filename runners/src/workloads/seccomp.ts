/*
 * The process sandbox's seccomp filter, as a classic-BPF program written out by hand.
 *
 * Hand-written because no maintained seccomp compiler (libseccomp bindings) exists for Node here,
 * and the filter is a security property: a short program whose every instruction is readable
 * below, and whose behaviour tests check inside a real sandbox, is safer than a dependency.
 *
 * It follows Docker's default profile for a container without added capabilities: the
 * architecture must be x86_64 (any other, and the x32 ABI, kills the process: their syscall
 * numbers differ), and the syscalls that profile refuses fail with EPERM. clone3 fails with
 * ENOSYS instead, so that libc falls back to clone, whose flags a classic filter can read.
 * bubblewrap loads it (`--seccomp <fd>`) just before it executes the command.
 */

const SECCOMP_RET_KILL_PROCESS = 0x80000000;
const SECCOMP_RET_ERRNO = 0x00050000;
const SECCOMP_RET_ALLOW = 0x7fff0000;
const EPERM = 1;
const ENOSYS = 38;
const AUDIT_ARCH_X86_64 = 0xc000003e;
/** Syscall numbers at or above this are the x32 ABI's. */
const X32_SYSCALL_BIT = 0x40000000;

// struct seccomp_data: nr, arch, instruction pointer, then six 64-bit arguments.
const OFFSET_NR = 0;
const OFFSET_ARCH = 4;
/** Low 32 bits of the first argument (little-endian). */
const OFFSET_ARG0_LOW = 16;

const BPF_LD_W_ABS = 0x20;
const BPF_JEQ_K = 0x15;
const BPF_JGE_K = 0x35;
const BPF_JSET_K = 0x45;
const BPF_RET_K = 0x06;

/** CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET (NEWTIME is clone3's only). */
const CLONE_NAMESPACE_FLAGS = 0x7e020000;

/** x86_64 numbers of the syscalls refused outright (name: number, from asm/unistd_64.h). */
export const REFUSED_SYSCALLS: Record<string, number> = {
  syslog: 103,
  uselib: 134,
  ustat: 136,
  sysfs: 139,
  pivot_root: 155,
  _sysctl: 156,
  adjtimex: 159,
  acct: 163,
  settimeofday: 164,
  mount: 165,
  umount2: 166,
  swapon: 167,
  swapoff: 168,
  reboot: 169,
  iopl: 172,
  ioperm: 173,
  create_module: 174,
  init_module: 175,
  delete_module: 176,
  get_kernel_syms: 177,
  query_module: 178,
  quotactl: 179,
  nfsservctl: 180,
  lookup_dcookie: 212,
  clock_settime: 227,
  mbind: 237,
  set_mempolicy: 238,
  add_key: 248,
  request_key: 249,
  keyctl: 250,
  unshare: 272,
  move_pages: 279,
  perf_event_open: 298,
  fanotify_init: 300,
  name_to_handle_at: 303,
  open_by_handle_at: 304,
  clock_adjtime: 305,
  setns: 308,
  process_vm_readv: 310,
  process_vm_writev: 311,
  kcmp: 312,
  finit_module: 313,
  kexec_load: 246,
  kexec_file_load: 320,
  bpf: 321,
  userfaultfd: 323,
  io_uring_setup: 425,
  io_uring_enter: 426,
  io_uring_register: 427,
  open_tree: 428,
  move_mount: 429,
  fsopen: 430,
  fsconfig: 431,
  fsmount: 432,
  fspick: 433,
  mount_setattr: 442,
  quotactl_fd: 443,
};
const NR_CLONE = 56;
const NR_PERSONALITY = 135;
const NR_CLONE3 = 435;
/** PER_LINUX, PER_LINUX32, UNAME26, PER_LINUX32|UNAME26, and the query value. */
const ALLOWED_PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

type Target = 'next' | 'kill' | 'eperm' | 'enosys' | 'allow' | 'clone' | 'personality';
type Insn =
  | { op: 'ld'; offset: number; label?: Target }
  | { op: 'jeq' | 'jge' | 'jset'; k: number; jt: Target; jf: Target; label?: Target }
  | { op: 'ret'; k: number; label?: Target };

function program(): Insn[] {
  const p: Insn[] = [
    { op: 'ld', offset: OFFSET_ARCH },
    { op: 'jeq', k: AUDIT_ARCH_X86_64, jt: 'next', jf: 'kill' },
    { op: 'ld', offset: OFFSET_NR },
    { op: 'jge', k: X32_SYSCALL_BIT, jt: 'kill', jf: 'next' },
  ];
  for (const nr of Object.values(REFUSED_SYSCALLS)) p.push({ op: 'jeq', k: nr, jt: 'eperm', jf: 'next' });
  p.push(
    { op: 'jeq', k: NR_CLONE3, jt: 'enosys', jf: 'next' },
    { op: 'jeq', k: NR_CLONE, jt: 'clone', jf: 'next' },
    { op: 'jeq', k: NR_PERSONALITY, jt: 'personality', jf: 'next' },
    { op: 'ret', k: SECCOMP_RET_ALLOW },
    { op: 'ld', offset: OFFSET_ARG0_LOW, label: 'personality' },
  );
  ALLOWED_PERSONALITIES.forEach((k, i) => {
    const last = i === ALLOWED_PERSONALITIES.length - 1;
    p.push({ op: 'jeq', k, jt: 'allow', jf: last ? 'eperm' : 'next' });
  });
  p.push(
    { op: 'ld', offset: OFFSET_ARG0_LOW, label: 'clone' },
    { op: 'jset', k: CLONE_NAMESPACE_FLAGS, jt: 'eperm', jf: 'allow' },
    { op: 'ret', k: SECCOMP_RET_ALLOW, label: 'allow' },
    { op: 'ret', k: SECCOMP_RET_ERRNO | EPERM, label: 'eperm' },
    { op: 'ret', k: SECCOMP_RET_ERRNO | ENOSYS, label: 'enosys' },
    { op: 'ret', k: SECCOMP_RET_KILL_PROCESS, label: 'kill' },
  );
  return p;
}

/** The filter as the kernel reads it: an array of struct sock_filter { u16 code; u8 jt, jf; u32 k }. */
export function seccompFilter(): Buffer {
  const insns = program();
  const at = new Map<Target, number>();
  insns.forEach((insn, i) => {
    if (insn.label) at.set(insn.label, i);
  });
  // Classic BPF jumps only forward, by an 8-bit count of instructions skipped.
  const jump = (from: number, to: Target): number => {
    const dest = to === 'next' ? from + 1 : at.get(to);
    if (dest === undefined || dest <= from || dest - from - 1 > 255) throw new Error(`bad jump to ${to}`);
    return dest - from - 1;
  };
  const out = Buffer.alloc(insns.length * 8);
  insns.forEach((insn, i) => {
    const o = i * 8;
    if (insn.op === 'ld') {
      out.writeUInt16LE(BPF_LD_W_ABS, o);
      out.writeUInt32LE(insn.offset, o + 4);
    } else if (insn.op === 'ret') {
      out.writeUInt16LE(BPF_RET_K, o);
      out.writeUInt32LE(insn.k >>> 0, o + 4);
    } else {
      out.writeUInt16LE(insn.op === 'jeq' ? BPF_JEQ_K : insn.op === 'jge' ? BPF_JGE_K : BPF_JSET_K, o);
      out.writeUInt8(jump(i, insn.jt), o + 2);
      out.writeUInt8(jump(i, insn.jf), o + 3);
      out.writeUInt32LE(insn.k >>> 0, o + 4);
    }
  });
  return out;
}
