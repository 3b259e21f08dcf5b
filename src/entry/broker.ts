/**
 * afxdp/broker — the broker behind `afxdp serve` (docs/BROKER.md): a privileged process that
 * opens sockets and attaches programs for unprivileged clients (`open({ broker })`), within
 * limits per uid and in total.
 *
 *   import { Broker, DEFAULT_LIMITS } from 'afxdp/broker';
 */
export { Broker, type BrokerOptions } from '../run/serve.js';
export { DEFAULT_LIMITS, type BrokerLimits } from '../run/broker-limits.js';
export { BROKER_PROTOCOL } from '../sys/broker-wire.js';
