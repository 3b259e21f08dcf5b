/**
 * Handler mode: user code in the receiving thread. A receive worker given a handler loads a host
 * module (the public API's, src/api/handler-host.ts, by URL: the engine knows nothing of the
 * faces above it) and asks it for a PacketSink that calls the user's module for every batch,
 * before the batch's frames are recycled. This file is the contract between the two.
 */
import type { XskSocket } from '../xsk/socket.js';
import type { PacketSink } from './batch.js';

/** What the worker passes with a handler (plain data: it travels in workerData). */
export interface HandlerSpec {
  /** URL of the host module: its createHandlerSink() builds the sink */
  host: string;
  /** URL of the user's ES module (default export: the handler) */
  module: string;
}

/** What the host gets to build a queue's sink. */
export interface HandlerHostInput {
  /** the queue's socket (with a TX ring: the handler forwards and sends on it) */
  socket: XskSocket;
  queue: number;
  /** URL of the user's module */
  module: string;
  /** the queue's counter slots (rx/counts.ts: C_HANDLED, C_FORWARDED, C_SENT, C_HANDLER_DROPPED) */
  counts: Float64Array;
  /** the handler's own counters (HANDLER_COUNTERS slots, shared with the main thread) */
  counters: Float64Array;
  /** ends this queue's receiving with an error (a handler that threw); the frames are recycled */
  stop(e: unknown): void;
}

export interface HandlerHost {
  /** Loads the user's module; rejects with a one-line AfxdpError when it cannot */
  createHandlerSink(input: HandlerHostInput): Promise<PacketSink>;
}
