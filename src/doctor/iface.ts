/**
 * Per-interface doctor checks: driver, queues, XDP modes, zero-copy, RX-metadata kfuncs and
 * AF_XDP TX features (netdev netlink), attached programs, NAPI/busy-poll knobs, PTP clock.
 * Everything here only reads; the native-attach probe runs only with --probe, on an interface
 * with no XDP program, and detaches at once (closing the bpf_link restores the interface).
 */
import { readFileSync } from 'node:fs';
import { native, type NetdevFeatures } from '../native.js';
import { AfxdpError } from '../errors.js';
import { runToolSync, type IpLink } from '../sys/exec.js';
import { BpfObject, bundledObject, attachXdp } from '../xdp/program.js';
import { finding, type Finding } from './finding.js';

const XDP_ACT = ['basic', 'redirect', 'ndo-xmit', 'xsk-zerocopy', 'hw-offload', 'rx-sg', 'ndo-xmit-sg'];
const RX_META = ['timestamp', 'hash', 'vlan-tag'];
const XSK_FEAT = ['tx-timestamp', 'tx-checksum', 'tx-launch-time-fifo'];

export function bitNames(v: number, names: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < names.length; i++) if (Math.floor(v / 2 ** i) % 2 === 1) out.push(names[i]!);
  return out;
}

function sysfs(ifname: string, file: string): string | null {
  try {
    return readFileSync(`/sys/class/net/${ifname}/${file}`, 'utf8').trim();
  } catch {
    return null;
  }
}

/** Finds the interface (in the caller's network namespace); a missing one is one clear error. */
export function resolveIface(ifname: string): number {
  let idx = 0;
  try {
    idx = native().ifNameToIndex(ifname);
  } catch {
    idx = 0;
  }
  if (!idx) {
    throw new AfxdpError('ENOIFACE', `no interface ${ifname} in this network namespace`, {
      hint: 'list interfaces with `ip -br link`; for one inside a namespace run `nsenter -t PID -n afxdp doctor --iface IF`',
    });
  }
  return idx;
}

/** 4096-byte UMEM frames hold this much of a received packet (XDP_PACKET_HEADROOM in front) */
const FRAME_ROOM = 4096 - 256;

/**
 * XDP multi-buffer (netdev xdp-features rx-sg, ndo-xmit-sg; xdp-zc-max-segs): whether packets
 * larger than a page reach native XDP whole, and what afxdp does at this MTU (chains, XDP_USE_SG).
 */
function multiBuffer(p: string, ifname: string, acts: string[], mtu: number | null, zcMaxSegs: number): Finding {
  const rxSg = acts.includes('rx-sg');
  const needs = mtu !== null && mtu + 18 > FRAME_ROOM;
  const value = { rx_sg: rxSg, xmit_sg: acts.includes('ndo-xmit-sg'), zc_max_segs: zcMaxSegs > 0 ? zcMaxSegs : null, mtu, sg_needed: needs };
  const zc = zcMaxSegs > 1 ? `; zero-copy takes up to ${zcMaxSegs} segments per packet` : '';
  const at = mtu === null ? '' : needs ? `; at MTU ${mtu} a packet exceeds one UMEM frame: afxdp receives it as a chain (XDP_USE_SG, kernel ≥ 6.6) with its xdp.frags program` : `; MTU ${mtu} fits one UMEM frame`;
  if (rxSg) return finding(`${p}.multi_buffer`, 'ok', `${ifname} XDP multi-buffer`, `supported (rx-sg${value.xmit_sg ? ', ndo-xmit-sg' : ''})${zc}${at}`, value);
  if (!needs) return finding(`${p}.multi_buffer`, 'ok', `${ifname} XDP multi-buffer`, `not supported by the driver (no rx-sg); not needed at MTU ${mtu ?? '?'}`, value);
  return finding(`${p}.multi_buffer`, 'warn', `${ifname} XDP multi-buffer`, `not supported by the driver (no rx-sg) and MTU ${mtu} exceeds one UMEM frame: native XDP may refuse the MTU or drop larger packets`, value, `afxdp latency --iface ${ifname} --mode generic, or lower the MTU (ip link set dev ${ifname} mtu 1500)`);
}

export function ifaceFindings(ifname: string, opts: { probe?: boolean } = {}): Finding[] {
  const n = native();
  const ifindex = resolveIface(ifname);
  const out: Finding[] = [];
  const p = `iface.${ifname}`;

  let link: IpLink | null = null;
  try {
    link = (JSON.parse(runToolSync('ip', ['-d', '-j', 'link', 'show', 'dev', ifname]).stdout) as IpLink[])[0] ?? null;
  } catch {
    link = null;
  }
  const drv = n.ethtoolDriver(ifname);
  const kind = link?.linkinfo?.info_kind ?? link?.link_type ?? null;
  out.push(
    finding(`${p}.driver`, 'ok', `${ifname} driver`, `${drv?.driver ?? kind ?? 'unknown'}${drv?.version ? ` ${drv.version}` : ''}${drv?.busInfo ? ` (${drv.busInfo})` : ''}, ifindex ${ifindex}, mtu ${link?.mtu ?? '?'}, ${link?.operstate ?? '?'}`, {
      driver: drv?.driver ?? null,
      version: drv?.version ?? null,
      bus_info: drv?.busInfo ?? null,
      ifindex,
      kind,
      mtu: link?.mtu ?? null,
      operstate: link?.operstate ?? null,
    }),
  );

  const ch = n.ethtoolChannels(ifname);
  const rxq = link?.num_rx_queues ?? null;
  const txq = link?.num_tx_queues ?? null;
  const queues = ch ? Math.max(ch.combined, ch.rx) : rxq;
  out.push(
    finding(`${p}.queues`, 'ok', `${ifname} queues`, ch ? `channels combined=${ch.combined} rx=${ch.rx} tx=${ch.tx} (max combined ${ch.maxCombined}); AF_XDP binds one socket per RX queue` : `rx=${rxq ?? '?'} tx=${txq ?? '?'} (no ethtool channels); AF_XDP binds one socket per RX queue`, {
      rx: ch?.rx ?? rxq,
      tx: ch?.tx ?? txq,
      combined: ch?.combined ?? null,
      max_combined: ch?.maxCombined ?? null,
      queues,
    }),
  );

  let nd: NetdevFeatures | null = null;
  let ndErr = '';
  try {
    nd = n.netdevDevGet(ifindex);
  } catch (e) {
    ndErr = (e as Error).message;
  }
  if (nd && nd.xdpFeatures >= 0) {
    const acts = bitNames(nd.xdpFeatures, XDP_ACT);
    const nativeOk = acts.includes('basic');
    out.push(
      nativeOk
        ? finding(`${p}.xdp_modes`, 'ok', `${ifname} XDP modes`, `native and generic (driver reports: ${acts.join(', ')})`, { native: true, generic: true, features: acts })
        : finding(`${p}.xdp_modes`, 'warn', `${ifname} XDP modes`, 'generic only: the driver has no native XDP (generic mode runs after the skb is built: slower, copy mode only)', { native: false, generic: true, features: acts }, `afxdp latency --iface ${ifname} --mode generic (or use a NIC/driver with native XDP)`),
    );
    const zc = acts.includes('xsk-zerocopy');
    out.push(
      zc
        ? finding(`${p}.zerocopy`, 'ok', `${ifname} AF_XDP zero-copy`, `supported${nd.xdpZcMaxSegs > 0 ? ` (max ${nd.xdpZcMaxSegs} segments)` : ''}`, true)
        : finding(`${p}.zerocopy`, 'warn', `${ifname} AF_XDP zero-copy`, 'not supported: AF_XDP binds in copy mode (one memcpy per packet)', false, `afxdp latency --iface ${ifname} --bind copy (zero-copy needs a driver such as mlx5, ice, i40e, ixgbe, igc, virtio_net)`),
    );
    out.push(multiBuffer(p, ifname, acts, link?.mtu ?? null, nd.xdpZcMaxSegs));
    const meta = bitNames(Math.max(0, nd.xdpRxMetadataFeatures), RX_META);
    out.push(
      meta.length
        ? finding(`${p}.rx_metadata`, 'ok', `${ifname} RX-metadata kfuncs`, `implemented: ${meta.map((m) => `bpf_xdp_metadata_rx_${m.replace('-', '_')}`).join(', ')} (native mode, device-bound program)${drv?.driver === 'veth' ? '; veth has no hardware clock, so rx_timestamp yields no stamp' : ''}`, meta)
        : finding(`${p}.rx_metadata`, 'warn', `${ifname} RX-metadata kfuncs`, 'none: no HW timestamp / hash / VLAN from the driver; afxdp stamps in XDP with bpf_ktime_get_ns (strategy meta/prepend/map still works)', [], 'use a driver with xdp_metadata_ops (mlx5, ice, igc, veth, stmmac) for HW RX timestamps'),
    );
    const xskf = bitNames(Math.max(0, nd.xskFeatures), XSK_FEAT);
    out.push(
      finding(`${p}.xsk_features`, 'ok', `${ifname} AF_XDP TX metadata`, xskf.length ? `driver offloads: ${xskf.join(', ')}` : 'no TX offloads (copy mode still reports software TX completion timestamps)', xskf),
    );
  } else {
    const why = nd === null && !ndErr ? 'kernel has no netdev netlink family (< 6.3)' : ndErr || 'not reported';
    out.push(finding(`${p}.xdp_modes`, 'warn', `${ifname} XDP modes`, `unknown: ${why}; generic mode always works`, null, `afxdp doctor --iface ${ifname} --probe (attaches a pass-all program for a moment)`));
    out.push(finding(`${p}.zerocopy`, 'warn', `${ifname} AF_XDP zero-copy`, `unknown: ${why}`, null, `afxdp latency --iface ${ifname} --bind auto (falls back to copy)`));
    out.push(finding(`${p}.rx_metadata`, 'warn', `${ifname} RX-metadata kfuncs`, `unknown: ${why}`, null, 'upgrade to kernel 6.3+ for RX-metadata kfuncs'));
  }

  const att = n.bpfXdpQuery(ifindex);
  const attName = att.progId ? n.bpfProgName(att.progId) || '?' : null;
  out.push(
    att.progId
      ? finding(`${p}.xdp_attached`, 'warn', `${ifname} XDP program`, `${attName} (id ${att.progId}) already attached in ${att.attachMode === 1 ? 'native' : att.attachMode === 2 ? 'generic' : 'some'} mode: afxdp never replaces it`, { id: att.progId, name: attName, mode: att.attachMode }, `detach it first: ip link set dev ${ifname} xdp off (if it is yours)`)
      : finding(`${p}.xdp_attached`, 'ok', `${ifname} XDP program`, 'none attached: free for afxdp', null),
  );

  if (opts.probe) out.push(probeNative(ifname, ifindex, att.progId !== 0));

  const defer = sysfs(ifname, 'napi_defer_hard_irqs');
  const gro = sysfs(ifname, 'gro_flush_timeout');
  out.push(
    defer === null
      ? finding(`${p}.napi`, 'ok', `${ifname} NAPI knobs`, 'napi_defer_hard_irqs / gro_flush_timeout not visible (sysfs belongs to another network namespace)', null)
      : finding(`${p}.napi`, 'ok', `${ifname} NAPI knobs`, `napi_defer_hard_irqs=${defer} gro_flush_timeout=${gro}${defer === '0' ? ' (for --busy-poll on a NIC set e.g. napi_defer_hard_irqs=2 and gro_flush_timeout=200000, so the busy-polling thread and not the interrupt runs NAPI)' : ''}`, {
          napi_defer_hard_irqs: Number(defer),
          gro_flush_timeout: gro === null ? null : Number(gro),
        }),
  );

  out.push(ptp(ifname, p));
  return out;
}

function probeNative(ifname: string, ifindex: number, busy: boolean): Finding {
  const id = `iface.${ifname}.probe_native`;
  if (busy) return finding(id, 'warn', `${ifname} native attach probe`, 'skipped: another XDP program is attached', null, 'run the probe when the interface is free');
  const obj = BpfObject.open(bundledObject('probe'));
  try {
    obj.load();
    const a = attachXdp(obj.programFd('afxdp_probe'), ifindex, ifname, 'native');
    a.detach();
    return finding(id, 'ok', `${ifname} native attach probe`, 'a pass-all program attached in native mode and was detached again', true);
  } catch (e) {
    return finding(id, 'warn', `${ifname} native attach probe`, `native attach failed: ${e instanceof AfxdpError ? e.message : (e as Error).message}`, false, `afxdp latency --iface ${ifname} --mode generic`);
  } finally {
    obj.close();
  }
}

function ptp(ifname: string, p: string): Finding {
  let text = '';
  try {
    text = runToolSync('ethtool', ['-T', ifname]).stdout;
  } catch {
    return finding(`${p}.ptp`, 'ok', `${ifname} PTP clock`, 'ethtool -T not supported: no hardware timestamping', { phc: null });
  }
  const phc = /PTP Hardware Clock: (\S+)/.exec(text)?.[1] ?? 'none';
  const hwRx = /hardware-receive/.test(text);
  if (phc === 'none') {
    return finding(`${p}.ptp`, 'ok', `${ifname} PTP clock`, `no PHC${hwRx ? '' : ', no hardware RX timestamps'}: latencies use the XDP-hook stamp (CLOCK_MONOTONIC/TAI)`, { phc: null, hw_rx_timestamps: hwRx });
  }
  let synced = false;
  try {
    synced = runToolSync('pgrep', ['-x', 'phc2sys|ptp4l|chronyd']).stdout.trim() !== '';
  } catch {
    synced = false;
  }
  return synced
    ? finding(`${p}.ptp`, 'ok', `${ifname} PTP clock`, `/dev/ptp${phc}; a sync daemon runs (phc2sys/ptp4l/chronyd): HW stamps comparable with CLOCK_TAI when it disciplines this PHC`, { phc: Number(phc), hw_rx_timestamps: hwRx, sync_daemon: true })
    : finding(`${p}.ptp`, 'warn', `${ifname} PTP clock`, `/dev/ptp${phc} not synced: HW RX timestamps drift from CLOCK_TAI (hundreds of ns/s)`, { phc: Number(phc), hw_rx_timestamps: hwRx, sync_daemon: false }, `phc2sys -s ${ifname} -c CLOCK_REALTIME -O 0 -w  (or phc2sys -a -r with ptp4l)`);
}
