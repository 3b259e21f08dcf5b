/**
 * afxdp/privileges — what a run needs from the kernel and who it continues as: the capability
 * check with its one-line message naming what is missing (requireCaps with PROBE_NEEDS,
 * LAB_NEEDS, RT_NEED), and resolving the user a sudo-started run drops to after setup
 * (docs/SECURITY.md).
 *
 *   import { requireCaps, PROBE_NEEDS } from 'afxdp/privileges';
 */
export { requireCaps, PROBE_NEEDS, LAB_NEEDS, RT_NEED, type CapNeed } from '../sys/caps.js';
export { resolveRunAs, type RunAs, type PrivilegeDrop } from '../sys/privileges.js';
