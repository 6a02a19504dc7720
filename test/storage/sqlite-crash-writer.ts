// Child process for the kill -9 test in sqlite.test.ts: stores, delivers and snapshots messages
// in one transaction each, printing the number committed, until it is killed.
import { SqliteStore } from "../../src/storage/sqlite-store.js";

const path = process.argv[2];
if (path === undefined) throw new TypeError("usage: sqlite-crash-writer.ts <db path>");
const store = new SqliteStore({ path });
store.joinChannel("c");
const bytes = new Uint8Array(512).fill(7);
for (let i = 1; i <= 1_000_000; i++) {
  store.transaction(() => {
    const base = { channelId: "c", senderId: "s", lamport: BigInt(i), bytes, receivedAt: i };
    // One message delivered at once, one left waiting (as if its causal dependency were missing).
    store.putMessage({ ...base, messageId: `d${i}`, seq: i });
    store.putMessage({ ...base, messageId: `w${i}`, seq: null });
    const delivered = store.markDelivered("c", `d${i}`);
    store.putSnapshot("c", JSON.stringify({ delivered }));
  });
  process.stdout.write(`${i}\n`);
}
