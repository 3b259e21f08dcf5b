/**
 * Machine-wide doctor checks: kernel, its config (XDP sockets, BTF, JIT), bpffs, capabilities,
 * memlock, busy-poll sysctls, CPU idle states, real-time receive (--cpu, --rt), receiver first (--sched). Read-only: files under /proc and /sys, and an
 * AF_XDP socket opened and closed at once.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { release } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { native } from '../native.js';
import { finding, type Finding } from './finding.js';
import { effectiveCaps, CAP_SYS_NICE } from '../sys/caps.js';
import { cpuCount, RT_PRIORITY } from '../sys/thread.js';

function read(p: string): string | null {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return null;
  }
}

/** [major, minor] of a release string like "6.18.44-fc-v782" */
export function kernelVersion(rel: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(rel);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

const atLeast = (v: [number, number], maj: number, min: number): boolean => v[0] > maj || (v[0] === maj && v[1] >= min);

/** The running kernel's config: /proc/config.gz or /boot/config-<release>; null when neither exists. */
function kernelConfig(rel: string): Map<string, string> | null {
  let text: string | null = null;
  try {
    text = gunzipSync(readFileSync('/proc/config.gz')).toString('utf8');
  } catch {
    text = read(`/boot/config-${rel}`);
  }
  if (text === null) return null;
  const m = new Map<string, string>();
  for (const l of text.split('\n')) {
    const kv = /^(CONFIG_\w+)=(.*)$/.exec(l);
    if (kv) m.set(kv[1]!, kv[2]!);
  }
  return m;
}

const CAPS: Array<{ name: string; bit: number; need: 'fail' | 'warn'; why: string }> = [
  { name: 'CAP_BPF', bit: 39, need: 'fail', why: 'load BPF programs and create maps' },
  { name: 'CAP_NET_ADMIN', bit: 12, need: 'fail', why: 'attach XDP, configure interfaces' },
  { name: 'CAP_NET_RAW', bit: 13, need: 'fail', why: 'create AF_XDP sockets' },
  // measured (docs/RELIABILITY.md): without it the verifier refuses packet pointer arithmetic "for !root"
  { name: 'CAP_PERFMON', bit: 38, need: 'fail', why: 'let the verifier accept packet pointer arithmetic' },
  { name: 'CAP_SYS_RESOURCE', bit: 24, need: 'warn', why: 'raise RLIMIT_MEMLOCK (only matters before kernel 5.11)' },
  { name: 'CAP_IPC_LOCK', bit: 14, need: 'warn', why: 'lock UMEM pages beyond RLIMIT_MEMLOCK' },
];

export function systemFindings(): Finding[] {
  const out: Finding[] = [];
  const rel = release();
  const ver = kernelVersion(rel);
  out.push(
    atLeast(ver, 6, 8)
      ? finding('kernel.release', 'ok', 'kernel', `${rel}: AF_XDP, RX-metadata kfuncs (6.3+) and TX metadata (6.8+) available`, rel)
      : atLeast(ver, 5, 10)
        ? finding('kernel.release', 'warn', 'kernel', `${rel}: AF_XDP works; RX-metadata kfuncs need 6.3, TX metadata 6.8`, rel, 'upgrade to a 6.8+ kernel for HW timestamps and TX metadata')
        : finding('kernel.release', 'fail', 'kernel', `${rel}: too old for afxdp (needs 5.10+: need_wakeup, bpf_link XDP)`, rel, 'upgrade the kernel to 5.10 or newer'),
  );

  const cfg = kernelConfig(rel);
  // AF_XDP: the socket itself is the real test (config may be absent or lie about modules)
  let xsk = false;
  let xskErr = '';
  try {
    native().close(native().xskSocket());
    xsk = true;
  } catch (e) {
    xskErr = (e as Error).message;
  }
  out.push(
    xsk
      ? finding('kernel.xdp_sockets', 'ok', 'AF_XDP sockets', `socket(AF_XDP) works${cfg?.get('CONFIG_XDP_SOCKETS') ? ' (CONFIG_XDP_SOCKETS=y)' : ''}`, true)
      : finding('kernel.xdp_sockets', 'fail', 'AF_XDP sockets', `socket(AF_XDP) failed: ${xskErr}`, false, 'use a kernel built with CONFIG_XDP_SOCKETS=y (and run as root or with CAP_NET_RAW)'),
  );
  const btf = existsSync('/sys/kernel/btf/vmlinux');
  out.push(
    btf
      ? finding('kernel.btf', 'ok', 'kernel BTF', '/sys/kernel/btf/vmlinux present (CO-RE, kfuncs)', true)
      : finding('kernel.btf', 'warn', 'kernel BTF', 'no /sys/kernel/btf/vmlinux: kfuncs (RX metadata) and CO-RE need it', false, 'use a kernel built with CONFIG_DEBUG_INFO_BTF=y'),
  );
  const jit = read('/proc/sys/net/core/bpf_jit_enable')?.trim();
  if (jit === undefined) {
    // net.core.bpf_jit_* exist only in the initial network namespace: fall back to the config
    const always = cfg?.get('CONFIG_BPF_JIT_ALWAYS_ON') === 'y';
    const built = cfg?.get('CONFIG_BPF_JIT') === 'y';
    out.push(
      always || built
        ? finding('kernel.jit', 'ok', 'BPF JIT', `${always ? 'always on (CONFIG_BPF_JIT_ALWAYS_ON=y)' : 'built in (CONFIG_BPF_JIT=y)'}; net.core.bpf_jit_enable is not visible from this network namespace`, always ? 1 : null)
        : finding('kernel.jit', 'warn', 'BPF JIT', 'unknown: net.core.bpf_jit_enable is not visible here (another network namespace) and the kernel config is unreadable', null, 'run afxdp doctor in the initial network namespace'),
    );
  } else {
    out.push(
      jit !== '0'
        ? finding('kernel.jit', 'ok', 'BPF JIT', `enabled (net.core.bpf_jit_enable=${jit})`, Number(jit))
        : finding('kernel.jit', 'warn', 'BPF JIT', 'disabled: XDP programs run interpreted, several times slower', 0, 'sysctl -w net.core.bpf_jit_enable=1'),
    );
  }
  out.push(
    cfg
      ? finding('kernel.config', 'ok', 'kernel config', `read (BPF_SYSCALL=${cfg.get('CONFIG_BPF_SYSCALL') ?? 'n'}, XDP_SOCKETS=${cfg.get('CONFIG_XDP_SOCKETS') ?? 'n'}, DEBUG_INFO_BTF=${cfg.get('CONFIG_DEBUG_INFO_BTF') ?? 'n'}, BPF_JIT=${cfg.get('CONFIG_BPF_JIT') ?? 'n'})`, {
          CONFIG_BPF_SYSCALL: cfg.get('CONFIG_BPF_SYSCALL') ?? null,
          CONFIG_XDP_SOCKETS: cfg.get('CONFIG_XDP_SOCKETS') ?? null,
          CONFIG_DEBUG_INFO_BTF: cfg.get('CONFIG_DEBUG_INFO_BTF') ?? null,
          CONFIG_BPF_JIT: cfg.get('CONFIG_BPF_JIT') ?? null,
        })
      : finding('kernel.config', 'ok', 'kernel config', 'not readable (no /proc/config.gz or /boot/config-*): the checks above probe instead', null),
  );

  const mounts = read('/proc/self/mounts') ?? '';
  const bpffs = mounts.split('\n').some((l) => /^\S+ \/sys\/fs\/bpf bpf /.test(l));
  out.push(
    bpffs
      ? finding('system.bpffs', 'ok', 'bpffs', 'mounted at /sys/fs/bpf', true)
      : finding('system.bpffs', 'warn', 'bpffs', 'not mounted at /sys/fs/bpf (afxdp itself does not need it; pinning and bpftool do)', false, 'mount -t bpf bpf /sys/fs/bpf'),
  );

  const capEff = /CapEff:\s*([0-9a-f]+)/.exec(read('/proc/self/status') ?? '')?.[1] ?? '0';
  const eff = BigInt(`0x${capEff}`);
  const has = (bit: number): boolean => ((eff >> BigInt(bit)) & 1n) === 1n;
  const sysAdmin = has(21);
  for (const c of CAPS) {
    const ok = has(c.bit) || (sysAdmin && (c.name === 'CAP_BPF' || c.name === 'CAP_PERFMON'));
    const legacyOnly = c.name === 'CAP_SYS_RESOURCE' && atLeast(ver, 5, 11);
    out.push(
      ok
        ? finding(`caps.${c.name.toLowerCase()}`, 'ok', c.name, `present (${c.why})`, true)
        : legacyOnly
          ? finding(`caps.${c.name.toLowerCase()}`, 'ok', c.name, `absent; not needed on ${rel} (BPF memory is charged to the memory cgroup since 5.11)`, false)
          : finding(`caps.${c.name.toLowerCase()}`, c.need, c.name, `missing: needed to ${c.why}`, false, `run as root, or: setcap cap_bpf,cap_perfmon,cap_net_admin,cap_net_raw,cap_ipc_lock+ep $(readlink -f $(which node))`),
    );
  }

  const limits = read('/proc/self/limits') ?? '';
  const ml = /Max locked memory\s+(\S+)\s+(\S+)/.exec(limits);
  const soft = ml?.[1] ?? 'unknown';
  const memcg = atLeast(ver, 5, 11);
  const lowMl = soft !== 'unlimited' && Number(soft) < 64 * 1024 * 1024;
  out.push(
    !lowMl || memcg
      ? finding('system.memlock', 'ok', 'RLIMIT_MEMLOCK', `${soft}${memcg ? ' (BPF maps are charged to the memory cgroup; UMEM is pinned per socket)' : ''}`, soft)
      : finding('system.memlock', 'warn', 'RLIMIT_MEMLOCK', `${soft} bytes: too low for BPF maps and UMEM on this kernel`, soft, 'ulimit -l unlimited (or LimitMEMLOCK=infinity in the systemd unit)'),
  );

  const busyPoll = read('/proc/sys/net/core/busy_poll')?.trim() ?? null;
  const busyRead = read('/proc/sys/net/core/busy_read')?.trim() ?? null;
  out.push(
    finding('system.busy_poll', 'ok', 'busy-poll sysctls', busyPoll === null ? 'net.core.busy_poll / busy_read not visible from this network namespace (they live in the initial one); busy polling an AF_XDP socket is a per-socket option (SO_BUSY_POLL: --busy-poll US with --poll worker|busy)' : `net.core.busy_poll=${busyPoll} net.core.busy_read=${busyRead ?? '?'} (system-wide defaults for sockets that do not set SO_BUSY_POLL themselves; busy polling an AF_XDP socket is a per-socket option: --busy-poll US with --poll worker|busy)`, {
      busy_poll: busyPoll === null ? null : Number(busyPoll),
      busy_read: busyRead === null ? null : Number(busyRead),
    }),
  );

  out.push(cpuIdle());
  out.push(realtime());
  out.push(receiverFirst());
  return out;
}

/**
 * --cpu / --rt: the receiving thread pinned and SCHED_FIFO keeps other load from preempting it,
 * which is what decides the tail on a shared machine (docs/BENCHMARKS.md "Stalls").
 */
function realtime(): Finding {
  const cpus = cpuCount();
  const eff = effectiveCaps();
  const nice = eff === null ? null : (eff & (1n << BigInt(CAP_SYS_NICE))) !== 0n;
  const rtprio = /Max realtime priority\s+(\S+)/.exec(read('/proc/self/limits') ?? '')?.[1] ?? '?';
  const pin = `--cpu 0..${cpus - 1} pins the receiving thread (a CPU of its own keeps other load off the tail)`;
  return nice === false
    ? finding('cpu.realtime', 'warn', 'real-time receive', `${pin}; --rt (SCHED_FIFO) is not available: CAP_SYS_NICE missing (RLIMIT_RTPRIO ${rtprio})`, { cpus, cap_sys_nice: false, rlimit_rtprio: rtprio }, 'grant CAP_SYS_NICE (or run as root) to use --rt')
    : finding('cpu.realtime', 'ok', 'real-time receive', `${pin}; --rt (SCHED_FIFO priority ${RT_PRIORITY}) available${nice === null ? ' (capabilities unreadable)' : ' (CAP_SYS_NICE)'}`, { cpus, cap_sys_nice: nice, rlimit_rtprio: rtprio });
}

/**
 * Receiver first (--sched, the default): what this process may do to give the receiving thread
 * the CPU before its own other threads, and what CAP_SYS_NICE would add (src/sys/sched.ts).
 */
function receiverFirst(): Finding {
  const eff = effectiveCaps();
  const nice = eff === null ? null : (eff & (1n << BigInt(CAP_SYS_NICE))) !== 0n;
  const niceLimit = /Max nice priority\s+(\S+)/.exec(read('/proc/self/limits') ?? '')?.[1] ?? '?';
  const undo = nice !== false || niceLimit === 'unlimited' || Number(niceLimit) >= 20;
  const base = 'while a run receives, the main thread is SCHED_BATCH and';
  return undo
    ? finding('cpu.sched', 'ok', 'receiver first', `${base} V8's and libuv's helper threads SCHED_IDLE; close() restores them (CAP_SYS_NICE${nice === null ? ' assumed: capabilities unreadable' : ''})`, { cap_sys_nice: nice, rlimit_nice: niceLimit, helpers: 'SCHED_IDLE' })
    : finding('cpu.sched', 'warn', 'receiver first', `${base} helper threads SCHED_IDLE in a CLI run (they stay so until it exits) but only SCHED_BATCH in a library receiver: without CAP_SYS_NICE (RLIMIT_NICE ${niceLimit}) SCHED_IDLE cannot be undone at close; SCHED_BATCH keeps helpers from preempting the receiver, SCHED_IDLE also lets a waking receiver preempt them at once (docs/BENCHMARKS.md "Receiver first")`, { cap_sys_nice: false, rlimit_nice: niceLimit, helpers: 'SCHED_BATCH' }, 'grant CAP_SYS_NICE (e.g. `sudo setcap cap_sys_nice+ep $(which node)`) or raise RLIMIT_NICE to 20 (LimitNICE=-20 in a systemd unit, or `nice` in /etc/security/limits.conf)');
}

/** CPU idle states: deep C-states add wake-up latency to event-mode receive. */
function cpuIdle(): Finding {
  const dir = '/sys/devices/system/cpu/cpu0/cpuidle';
  const dma = existsSync('/dev/cpu_dma_latency');
  const dmaText = dma ? '/dev/cpu_dma_latency available (--cpu-dma-latency holds it at 0 for a run: CPUs stay out of deep idle)' : 'no /dev/cpu_dma_latency (--cpu-dma-latency is not available)';
  let states: Array<{ name: string; latency_us: number; disabled: boolean }> = [];
  try {
    states = readdirSync(dir)
      .filter((d) => d.startsWith('state'))
      .map((d) => ({
        name: (read(`${dir}/${d}/name`) ?? '?').trim(),
        latency_us: Number((read(`${dir}/${d}/latency`) ?? '0').trim()),
        disabled: (read(`${dir}/${d}/disable`) ?? '0').trim() === '1',
      }));
  } catch {
    return finding('cpu.idle', 'ok', 'CPU idle states', `no cpuidle driver (typical in VMs: the hypervisor decides); ${dmaText}`, { states: [], cpu_dma_latency: dma });
  }
  const deep = states.filter((s) => !s.disabled && s.latency_us > 20);
  const list = states.map((s) => `${s.name}:${s.latency_us}us${s.disabled ? '(off)' : ''}`).join(' ');
  return deep.length
    ? finding('cpu.idle', 'warn', 'CPU idle states', `deep states enabled (${list}): each wake-up can add up to ${Math.max(...deep.map((s) => s.latency_us))} µs to event-mode latency; ${dmaText}`, { states, cpu_dma_latency: dma }, 'run with --cpu-dma-latency (or cpupower idle-set -D 20)')
    : finding('cpu.idle', 'ok', 'CPU idle states', `${list || 'none'}; ${dmaText}`, { states, cpu_dma_latency: dma });
}
