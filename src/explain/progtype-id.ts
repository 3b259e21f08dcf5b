/** The program types the explainer speaks of (its own names; `--type` takes them). */
export type ProgType =
  | 'xdp'
  | 'tc'
  | 'socket_filter'
  | 'cgroup_skb'
  | 'cgroup_sock'
  | 'cgroup_sock_addr'
  | 'sock_ops'
  | 'kprobe'
  | 'tracepoint'
  | 'raw_tracepoint'
  | 'perf_event'
  | 'fentry'
  | 'lsm'
  | 'struct_ops';
