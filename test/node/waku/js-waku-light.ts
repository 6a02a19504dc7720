// Test support: a Chorus Waku service node (WakuTransport + WakuServices on an in-memory archive) and
// unmodified js-waku 0.0.36 light nodes (libp2p 2, WebSocket + mplex + noise) in the same process, all on
// 127.0.0.1.
import "../../../src/transport/polyfill.js";
import "../../../src/transport/websocket-polyfill.js";
import { createLightNode, type LightNode, Protocols } from "waku-sdk-036";
import { WakuServices, type WakuServicesOptions } from "../../../src/node/waku/services.js";
import { WakuArchive } from "../../../src/storage/waku-archive.js";
import { WakuTransport } from "../../../src/transport/waku-transport.js";

export const CLUSTER = 42;
export const SHARD = 0;
export const PUBSUB_TOPIC = `/waku/2/rs/${CLUSTER}/${SHARD}`;
export const WAIT_MS = 20_000;

// js-waku's node factory dials only wss:// unless NODE_ENV is "test", and then also stays quiet.
process.env.NODE_ENV = "test";

export interface ServiceNode {
  readonly transport: WakuTransport;
  readonly services: WakuServices;
  /** The /ws listen address, ending in /p2p/<peer id>. */
  readonly ws: string;
  stop(): Promise<void>;
}

export async function serviceNode(options: Partial<WakuServicesOptions> = {}): Promise<ServiceNode> {
  const transport = new WakuTransport({
    cluster: CLUSTER,
    shards: [SHARD],
    listen: ["/ip4/127.0.0.1/tcp/0/ws", "/ip4/127.0.0.1/tcp/0"],
  });
  await transport.start();
  const services = new WakuServices(transport, { archive: WakuArchive.inMemory(), ...options });
  await services.start();
  const ws = transport.multiaddrs().find((a) => a.includes("/ws/")) as string;
  return {
    transport,
    services,
    ws,
    async stop() {
      await services.stop();
      await transport.stop();
    },
  };
}

/**
 * A started js-waku light node whose only peer is `serviceAddress`, ready for the given protocols; with
 * no address, a light node that has no peer yet.
 */
export async function lightNode(
  serviceAddress: string | undefined,
  protocols: Protocols[] = [Protocols.Store, Protocols.Filter, Protocols.LightPush],
): Promise<LightNode> {
  const node = await createLightNode({
    networkConfig: { clusterId: CLUSTER },
    defaultBootstrap: false,
    ...(serviceAddress === undefined ? {} : { bootstrapPeers: [serviceAddress] }),
    discovery: { dns: false, peerExchange: false, peerCache: false },
  });
  if (serviceAddress !== undefined) await waitForPeers(node, protocols);
  return node;
}

/**
 * `node.waitForPeers(protocols, timeoutMs)` with a timer that is cleared: js-waku 0.0.36 races the wait with
 * a `setTimeout` it never clears (src/waku/wait_for_remote_peer.ts:231 in the package), which keeps a test
 * process alive for the whole timeout after it is done.
 */
export async function waitForPeers(node: LightNode, protocols: Protocols[], timeoutMs = WAIT_MS): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no peer for ${protocols.join(", ")} within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([node.waitForPeers(protocols), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
