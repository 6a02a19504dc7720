// A Chorus member in a browser tab: a js-waku 0.0.36 light node dials one service node (a Chorus owner in Waku
// mode, or any Waku node serving filter, light push and store), and a channel opens over it with the browser
// entry's `openChannel` (ed25519 from @noble/curves), kept in IndexedDB (identity, history, the engine's state, so a
// reload continues where the page was) and with the owner path over the light node's connection (receipts against
// the owner's roster, catch-up from its history). No DOM here: page.ts shows it.
import { createLightNode, Protocols } from "waku-sdk-036";
import { type Channel, IndexedDbStore, openChannel, type Params, WakuLightTransport } from "../../browser.js";

export interface LightMemberOptions {
  /** The service node's WebSocket multiaddr, ending in /p2p/<peer id>. */
  readonly service: string;
  readonly cluster: number;
  readonly shard: number;
  readonly channelId: string;
  readonly params?: Partial<Params>;
  /** How long to wait for the service node to offer filter, light push and store. */
  readonly waitMs: number;
  /** The IndexedDB database the member lives in. */
  readonly database: string;
  /** The owner's sender id, when the page pins it; otherwise the first roster found names it. */
  readonly ownerSenderId?: string;
  /** How far back the light node reads its service node's store on subscribe (WakuLightTransport); 0: not at all. */
  readonly catchUpMs?: number;
}

export interface LightMember {
  readonly channel: Channel;
  readonly store: IndexedDbStore;
  readonly transport: WakuLightTransport;
  /** Closes the channel, the transport and the light node. */
  close(): Promise<void>;
}

export async function startLightMember(options: LightMemberOptions): Promise<LightMember> {
  if (!/^\/(ip4|ip6|dns4|dns6|dns)\/[^/]+\/tcp\/\d+\/(ws|wss|tls\/ws)\/p2p\/\w+$/.test(options.service)) {
    throw new RangeError(
      `service must be a WebSocket multiaddr ending in /p2p/<peer id> (…/tcp/P/ws/p2p/…), got ${JSON.stringify(options.service)}`,
    );
  }
  const store = await IndexedDbStore.open({ name: options.database });
  const node = await createLightNode({
    networkConfig: { clusterId: options.cluster },
    defaultBootstrap: false,
    bootstrapPeers: [options.service],
    discovery: { dns: false, peerExchange: false, peerCache: false },
    // js-waku dials only wss:// in a browser unless told otherwise (or NODE_ENV is "test"): a service node
    // on a developer's machine or in a test listens on plain ws://.
    libp2p: { filterMultiaddrs: false, hideWebSocketInfo: true },
  });
  try {
    await node.waitForPeers([Protocols.Filter, Protocols.LightPush, Protocols.Store], options.waitMs);
    const transport = new WakuLightTransport({
      node,
      cluster: options.cluster,
      shard: options.shard,
      stopNode: true,
      ...(options.catchUpMs === undefined ? {} : { catchUpMs: options.catchUpMs }),
    });
    const channel = await openChannel({
      channelId: options.channelId,
      transport,
      store,
      owner: options.ownerSenderId === undefined ? {} : { senderId: options.ownerSenderId },
      ...(options.params === undefined ? {} : { params: options.params }),
    });
    const close = async () => {
      await channel.close();
      store.close();
      await store.flush();
    };
    return { channel, store, transport, close };
  } catch (error) {
    await node.stop().catch(() => {});
    store.close();
    throw error;
  }
}
